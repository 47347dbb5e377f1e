/**
 * The queue dashboard (bull-board) at `<basePath>/queues`, for admins of every space: it
 * shows every space's jobs and can retry, clean or obliterate them.
 *
 * A browser cannot send a bearer header when it navigates, so `<basePath>/login` trades an
 * admin token for a session cookie (see session.ts) scoped to `<basePath>` only: the cookie
 * opens the dashboard and nothing else of the API. It is `Secure` when the request came
 * over https, which behind TLS termination needs the API's trust-proxy setting
 * (`CONFBULK_TRUST_PROXY`) so that `X-Forwarded-Proto` counts. Login attempts are
 * rate-limited per client address (@fastify/rate-limit, in Redis when given a connection,
 * so every API process shares the count). Requests with `Authorization: Bearer <token>`
 * are accepted too (scripts, the dashboard's own API).
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import rateLimit from '@fastify/rate-limit';
import type {} from '@fastify/swagger';
import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { RedisConnection } from '../../queues.js';
import { hasRole, isSpaceLimited, LOCAL_PRINCIPAL, type Principal } from '../../auth/access.js';
import type { Authenticator } from '../../auth/authenticator.js';
import { bearerOf } from '../../http/access.js';
import { QUEUE_NAMES } from '../../queues.js';
import { registerBatchView, type BatchViewOptions } from './batch-view.js';
import { loginPage } from './login-page.js';
import {
  SESSION_COOKIE,
  SESSION_TTL_MS,
  createSession,
  readCookie,
  sessionCookie,
  verifySession,
} from './session.js';

export interface LoginRateLimit {
  /** Attempts per client address per window. @defaultValue 10 */
  max: number;
  /** Window in ms. @defaultValue 60000 */
  windowMs: number;
  /** Count in Redis (shared by every API process), under this key prefix. @defaultValue in memory */
  redis?: { connection: RedisConnection; keyPrefix: string };
}

export interface DashboardPluginOptions {
  /** Queues shown, in this order (e.g. `openOpsQueues(...).all`). */
  queues: Queue[];
  /** Resolves tokens and session ids; its bootstrap token signs the sessions. */
  authenticator: Authenticator;
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
  /** @defaultValue 10 attempts per minute per address, in memory */
  loginRateLimit?: Partial<LoginRateLimit>;
  /** Serve the batch view at `<basePath>/batches` (batch-view.ts). @defaultValue not served */
  batchView?: BatchViewOptions;
}

function wantsHtml(request: FastifyRequest): boolean {
  return request.method === 'GET' && (request.headers.accept ?? '').includes('text/html');
}

/** Admins of every space may use the dashboard. */
function mayUseDashboard(principal: Principal): boolean {
  return hasRole(principal, 'admin') && !isSpaceLimited(principal);
}

/**
 * The principal of a request's bearer token or session cookie (undefined without either);
 * the local principal when no token is configured (insecure local mode).
 */
export async function dashboardPrincipal(
  request: FastifyRequest,
  authenticator: Authenticator,
): Promise<Principal | undefined> {
  const key = authenticator.sessionKey;
  if (!key) return LOCAL_PRINCIPAL;
  const bearer = bearerOf(request);
  if (bearer !== undefined) return authenticator.principalOfToken(bearer);
  const session = readCookie(request.headers.cookie, SESSION_COOKIE);
  const id = session === undefined ? undefined : verifySession(key, session);
  return id === undefined ? undefined : authenticator.principalOfId(id);
}

function registerLogin(
  app: FastifyInstance,
  base: string,
  options: DashboardPluginOptions,
  ttlMs: number,
): void {
  const { authenticator } = options;
  const limit: LoginRateLimit = { max: 10, windowMs: 60_000, ...options.loginRateLimit };
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

  const open = { access: 'public' } as const;
  app.get(`${base}/login`, { config: open, schema: { hide: true } }, async (_request, reply) =>
    html(reply, 200),
  );
  app.post(
    `${base}/login`,
    {
      config: {
        ...open,
        rateLimit: {
          max: limit.max,
          timeWindow: limit.windowMs,
          errorResponseBuilder: (_request, context) => ({
            statusCode: 429,
            error: 'TooManyRequests',
            message: `too many login attempts from this address; try again in ${context.after}`,
          }),
        },
      },
      schema: { hide: true },
    },
    async (request, reply) => {
      const key = authenticator.sessionKey;
      if (!key) return reply.redirect(`${base}/queues`, 303);
      const token = (request.body as Record<string, unknown> | undefined)?.token;
      const principal =
        typeof token === 'string' ? await authenticator.principalOfToken(token) : undefined;
      if (!principal || !mayUseDashboard(principal)) {
        request.log.warn(
          { ip: request.ip, tokenId: principal?.id, tokenName: principal?.name },
          'dashboard login refused: not an admin token of every space',
        );
        return html(reply, 401, 'That is not an admin token of every space.');
      }
      const cookie = sessionCookie(createSession(key, principal.id, Date.now(), ttlMs), {
        path: base,
        maxAgeSeconds: Math.floor(ttlMs / 1000),
        secure: secure(request),
      });
      request.log.info({ tokenId: principal.id, tokenName: principal.name }, 'dashboard login');
      return reply.header('set-cookie', cookie).redirect(`${base}/queues`, 303);
    },
  );
  app.get(`${base}/logout`, { config: open, schema: { hide: true } }, async (request, reply) => {
    const cookie = sessionCookie('', { path: base, maxAgeSeconds: 0, secure: secure(request) });
    return reply.header('set-cookie', cookie).redirect(`${base}/login`, 303);
  });
  app.get(base, { config: open, schema: { hide: true } }, async (_request, reply) =>
    reply.redirect(`${base}/queues`, 302),
  );
}

const DEAD_LETTER_DESCRIPTION =
  'Requests that can never succeed as they are. No worker consumes this queue, by design: ' +
  'replay or purge them from the Batches view or with confbulk dlq.';

/**
 * The dead-letter queue has no consumer on purpose: reporting its workers as unknown keeps
 * bull-board from showing a "No workers" alarm on it.
 */
class DeadLetterAdapter extends BullMQAdapter {
  override getWorkers(): Promise<null> {
    return Promise.resolve(null);
  }
}

function registerBoard(app: FastifyInstance, base: string, options: DashboardPluginOptions): void {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(`${base}/queues`);
  createBullBoard({
    queues: options.queues.map((queue) =>
      queue.name === QUEUE_NAMES.deadLetters
        ? new DeadLetterAdapter(queue, {
            readOnlyMode: options.readOnly ?? false,
            description: DEAD_LETTER_DESCRIPTION,
          })
        : new BullMQAdapter(queue, { readOnlyMode: options.readOnly ?? false }),
    ),
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: 'confbulk',
        hideDocsLink: true,
        miscLinks: [
          ...(options.batchView ? [{ text: 'Batches', url: `${base}/batches` }] : []),
          { text: 'Log out', url: `${base}/logout` },
        ],
      },
    },
  });
  app.register(async (scope) => {
    // The API's access hook leaves these routes to the hook below.
    scope.addHook('onRoute', (route) => {
      route.config = { ...route.config, access: 'dashboard' };
    });
    scope.addHook('onRequest', async (request, reply) => {
      const principal = await dashboardPrincipal(request, options.authenticator);
      if (principal && mayUseDashboard(principal)) {
        request.principal = principal;
        return;
      }
      if (principal) {
        return reply.code(403).send({
          error: 'Forbidden',
          message: `token '${principal.name}' (${principal.id}) is not an admin of every space; the dashboard needs one`,
        });
      }
      if (wantsHtml(request)) return reply.redirect(`${base}/login`, 302);
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({
          error: 'Unauthorized',
          message: `log in at ${base}/login or send Authorization: Bearer <admin token>`,
        });
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: `${base}/queues` });
    if (options.batchView) registerBatchView(scope, base, options.batchView);
  });
}

/**
 * A fastify plugin serving the dashboard and its login; register it with
 * `app.register(dashboardPlugin(...))`.
 * @throws TypeError when the authenticator has no bootstrap token without `insecureLocal`
 * (an open dashboard can delete jobs).
 */
export function dashboardPlugin(options: DashboardPluginOptions): FastifyPluginAsync {
  if (!options.authenticator.sessionKey && !options.insecureLocal) {
    throw new TypeError(
      '`authenticator` needs a bootstrap token (CONFBULK_API_TOKEN) unless `insecureLocal` is true: the dashboard can delete jobs',
    );
  }
  const base = (options.basePath ?? '/admin').replace(/\/+$/, '');
  const ttlMs = options.sessionTtlMs ?? SESSION_TTL_MS;
  const limit = options.loginRateLimit;
  return async (app) => {
    await app.register(rateLimit, {
      global: false,
      ...(limit?.redis && {
        redis: limit.redis.connection,
        nameSpace: limit.redis.keyPrefix,
      }),
    });
    registerLogin(app, base, options, ttlMs);
    registerBoard(app, base, options);
  };
}
