/**
 * The queue dashboard (bull-board) at `<basePath>/queues`, behind the API's bearer token.
 *
 * A browser cannot send a bearer header when it navigates, so `<basePath>/login` trades the
 * token for a session cookie (see session.ts) scoped to `<basePath>` only: the cookie opens
 * the dashboard and nothing else of the API. Requests with `Authorization: Bearer <token>`
 * are accepted too (scripts, the dashboard's own API).
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type {} from '@fastify/swagger';
import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { loginPage } from './login-page.js';
import {
  SESSION_COOKIE,
  SESSION_TTL_MS,
  createSession,
  readCookie,
  safeEqual,
  sessionCookie,
  verifySession,
} from './session.js';

export interface DashboardPluginOptions {
  /** Queues shown, in this order (e.g. `openOpsQueues(...).all`). */
  queues: Queue[];
  /** The API's bearer token; the only credential the dashboard accepts. */
  apiToken: string | undefined;
  /**
   * Serve without a token, as `confbulk api --insecure-local` does on a loopback address.
   * @defaultValue false
   */
  insecureLocal?: boolean;
  /** Where the dashboard lives. @defaultValue `/admin` */
  basePath?: string;
  /** Hide the buttons that retry, promote, clean or remove jobs. @defaultValue false */
  readOnly?: boolean;
  /** Session length in ms. @defaultValue 12 h */
  sessionTtlMs?: number;
}

function bearerOf(request: FastifyRequest): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return m?.[1];
}

function wantsHtml(request: FastifyRequest): boolean {
  return request.method === 'GET' && (request.headers.accept ?? '').includes('text/html');
}

/**
 * Whether the request carries the token (header) or a valid session (cookie); always true
 * when no token is configured (insecure local mode).
 */
export function isAuthorized(request: FastifyRequest, apiToken: string | undefined): boolean {
  if (!apiToken) return true;
  const bearer = bearerOf(request);
  if (bearer !== undefined) return safeEqual(bearer, apiToken);
  const session = readCookie(request.headers.cookie, SESSION_COOKIE);
  return session !== undefined && verifySession(apiToken, session);
}

function registerLogin(
  app: FastifyInstance,
  base: string,
  apiToken: string | undefined,
  ttlMs: number,
): void {
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 4096 },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );
  const secure = (request: FastifyRequest): boolean => request.protocol === 'https';
  const html = (reply: FastifyReply, code: number, error?: string): FastifyReply =>
    reply
      .code(code)
      .header('cache-control', 'no-store')
      .header(
        'content-security-policy',
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
      )
      .type('text/html; charset=utf-8')
      .send(loginPage(`${base}/login`, error));

  app.get(`${base}/login`, { schema: { hide: true } }, async (_request, reply) => html(reply, 200));
  app.post(`${base}/login`, { schema: { hide: true } }, async (request, reply) => {
    if (!apiToken) return reply.redirect(`${base}/queues`, 303);
    const token = (request.body as Record<string, unknown> | undefined)?.token;
    if (typeof token !== 'string' || !safeEqual(token, apiToken)) {
      request.log.warn({ ip: request.ip }, 'dashboard login refused: wrong token');
      return html(reply, 401, 'That is not the API token.');
    }
    const cookie = sessionCookie(createSession(apiToken, Date.now(), ttlMs), {
      path: base,
      maxAgeSeconds: Math.floor(ttlMs / 1000),
      secure: secure(request),
    });
    return reply.header('set-cookie', cookie).redirect(`${base}/queues`, 303);
  });
  app.get(`${base}/logout`, { schema: { hide: true } }, async (request, reply) => {
    const cookie = sessionCookie('', { path: base, maxAgeSeconds: 0, secure: secure(request) });
    return reply.header('set-cookie', cookie).redirect(`${base}/login`, 303);
  });
  app.get(base, { schema: { hide: true } }, async (_request, reply) =>
    reply.redirect(`${base}/queues`, 302),
  );
}

function registerBoard(app: FastifyInstance, base: string, options: DashboardPluginOptions): void {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(`${base}/queues`);
  createBullBoard({
    queues: options.queues.map(
      (queue) => new BullMQAdapter(queue, { readOnlyMode: options.readOnly ?? false }),
    ),
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: 'confbulk',
        hideDocsLink: true,
        miscLinks: [{ text: 'Log out', url: `${base}/logout` }],
      },
    },
  });
  app.register(async (scope) => {
    scope.addHook('onRequest', async (request, reply) => {
      if (isAuthorized(request, options.apiToken)) return;
      if (wantsHtml(request)) return reply.redirect(`${base}/login`, 302);
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({
          error: 'Unauthorized',
          message: `log in at ${base}/login or send Authorization: Bearer <token>`,
        });
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: `${base}/queues` });
  });
}

/**
 * A fastify plugin serving the dashboard and its login; register it with
 * `app.register(dashboardPlugin(...))`.
 * @throws TypeError when `apiToken` is empty without `insecureLocal` (an open dashboard
 * can delete jobs).
 */
export function dashboardPlugin(options: DashboardPluginOptions): FastifyPluginAsync {
  if (!options.apiToken && !options.insecureLocal) {
    throw new TypeError(
      '`apiToken` must be a non-empty string unless `insecureLocal` is true: the dashboard can delete jobs',
    );
  }
  const base = (options.basePath ?? '/admin').replace(/\/+$/, '');
  const ttlMs = options.sessionTtlMs ?? SESSION_TTL_MS;
  return async (app) => {
    registerLogin(app, base, options.apiToken, ttlMs);
    registerBoard(app, base, options);
  };
}
