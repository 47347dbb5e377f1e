/**
 * Access control of the HTTP API. Every route says what it needs in `config.access`
 * (`public`, `read`, `write`, `admin`, `metrics`, or `dashboard` for routes the dashboard
 * guards itself); a route that says nothing needs an admin of every space, so forgetting
 * the declaration closes a route rather than opening it. `config.allSpaces` marks routes
 * that span every space (a space-limited token gets 403 there).
 *
 * Routes that touch one space's data check it with `requireSpace` (403) and filter lists
 * with `spaceFilter`. Every request that changes something is logged once it is answered,
 * with the token's id and name (never the token), the route, and the space and batch id
 * the handler recorded with `recordAudit`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  canUseSpace,
  hasRole,
  isSpaceLimited,
  LOCAL_PRINCIPAL,
  type Access,
  type Principal,
} from '../auth/access.js';
import { sameSecret, type Authenticator } from '../auth/authenticator.js';
import { ForbiddenError, UNAUTHORIZED_MESSAGE, UnauthorizedError } from './errors.js';

/** What a route needs; `metrics` also accepts the metrics token. */
export type RouteAccess = Access | 'metrics' | 'dashboard';

export interface AuditInfo {
  space?: string;
  batchId?: string;
  [key: string]: unknown;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route needs (see src/http/access.ts). @defaultValue admin of every space */
    access?: RouteAccess;
    /** The route spans every space: space-limited tokens get 403. @defaultValue false */
    allSpaces?: boolean;
  }
  interface FastifyRequest {
    /** Who is calling; set for every route that is not public. */
    principal?: Principal;
    /** What a mutating request touched, for its log line. */
    audit?: AuditInfo;
  }
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}

/** The principal of the request; throws ForbiddenError when it may not use `space`. */
export function requireSpace(request: FastifyRequest, space: string): void {
  const principal = request.principal;
  if (principal && !canUseSpace(principal, space)) {
    throw new ForbiddenError(
      `token '${principal.name}' (${principal.id}) may not use space '${space}'`,
    );
  }
}

/** A predicate keeping what the request's principal may see. */
export function spaceFilter(request: FastifyRequest): (space: string) => boolean {
  const principal = request.principal;
  return (space) => !principal || canUseSpace(principal, space);
}

/** Records what a mutating request touched, for its log line. */
export function recordAudit(request: FastifyRequest, info: AuditInfo): void {
  request.audit = { ...request.audit, ...info };
}

export interface AccessHookOptions {
  authenticator: Authenticator;
  /** Serve without a token (loopback only): every caller is an admin of every space. */
  insecureLocal: boolean;
  /** Accepted on `metrics` routes besides unscoped tokens (`CONFBULK_METRICS_TOKEN`). */
  metricsToken?: string;
}

function forbid(principal: Principal, why: string): never {
  throw new ForbiddenError(`token '${principal.name}' (${principal.id}) ${why}`);
}

/** Checks `principal` against what a route needs. */
export function checkAccess(principal: Principal, access: Access, allSpaces: boolean): void {
  if (access !== 'public' && !hasRole(principal, access)) {
    forbid(principal, `has role ${principal.role}; this route needs ${access}`);
  }
  if (allSpaces && isSpaceLimited(principal)) {
    forbid(principal, 'is limited to some spaces; this route spans every space');
  }
}

async function authorize(request: FastifyRequest, options: AccessHookOptions): Promise<void> {
  // No route matched: the 404 handler answers, and says nothing about the data.
  if (request.routeOptions.url === undefined) return;
  const config = request.routeOptions.config;
  const access = config.access ?? 'admin';
  if (access === 'public' || access === 'dashboard') return;
  if (options.insecureLocal && !options.authenticator.sessionKey) {
    request.principal = LOCAL_PRINCIPAL;
    return;
  }
  const token = bearerOf(request);
  if (access === 'metrics' && token && options.metricsToken) {
    if (sameSecret(token, options.metricsToken)) return;
  }
  const principal = token ? await options.authenticator.principalOfToken(token) : undefined;
  if (!principal) throw new UnauthorizedError(UNAUTHORIZED_MESSAGE);
  request.principal = principal;
  if (access === 'metrics') checkAccess(principal, 'read', true);
  else checkAccess(principal, access, config.allSpaces ?? config.access === undefined);
}

function logMutation(request: FastifyRequest, reply: FastifyReply): void {
  if (READ_METHODS.has(request.method)) return;
  const access = request.routeOptions.config.access;
  if (access === 'public' || request.routeOptions.url === undefined) return;
  const principal = request.principal;
  request.log.info(
    {
      // Not `token`: the logger redacts anything of that name.
      tokenId: principal?.id,
      tokenName: principal?.name,
      method: request.method,
      route: request.routeOptions.url,
      status: reply.statusCode,
      ...request.audit,
    },
    'mutating request',
  );
}

/** Adds the access check and the mutation log to `app` (before any route is registered). */
export function registerAccess(app: FastifyInstance, options: AccessHookOptions): void {
  app.decorateRequest('principal', undefined);
  app.decorateRequest('audit', undefined);
  app.addHook('onRequest', async (request) => authorize(request, options));
  app.addHook('onResponse', async (request, reply) => logMutation(request, reply));
}
