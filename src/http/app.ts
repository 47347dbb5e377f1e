/**
 * Builds the HTTP API from plugins: validation and errors, the OpenAPI document, access
 * control (access.ts: every route declares the role it needs), the operations routes and
 * the `/v1` resources. `extraPlugins` is where `/metrics`, `/readyz` and the dashboard
 * plug in.
 */
import fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
  type RouteOptions,
} from 'fastify';
import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import { Authenticator } from '../auth/authenticator.js';
import { registerAccess, type RouteAccess } from './access.js';
import { checkHostHeader } from './auth.js';
import type { ApiDependencies } from './dependencies.js';
import { errorHandler, notFoundHandler } from './errors.js';
import { registerOpenApi } from './openapi.js';
import { batchRoutes } from './routes/batches.js';
import { bulkActionRoutes } from './routes/bulk-actions.js';
import { deadLetterRoutes } from './routes/dead-letters.js';
import { healthRoutes } from './routes/health.js';
import { scheduleRoutes } from './routes/schedules.js';
import { tokenRoutes } from './routes/tokens.js';
import { packageVersion } from './version.js';
import { jsonSerializerCompiler, zodValidatorCompiler } from './validation.js';

/** A plugin added by another part of confbulk (metrics, readiness, dashboard). */
export interface ExtraPlugin {
  plugin: FastifyPluginAsync<ApiDependencies>;
  /** Routes are served under this prefix, e.g. `/admin/queues`. @defaultValue none */
  prefix?: string;
  /** What its routes need unless they say otherwise in `config.access`. */
  access: RouteAccess;
}

export interface AppOptions extends ApiDependencies {
  logger: Logger;
  /** Serve without a token (the caller checked the host is loopback: see checkApiSecurity). */
  insecureLocal?: boolean;
  /** Who holds which token. @defaultValue the bootstrap token and `tokens` */
  authenticator?: Authenticator;
  /** Accepted on `/metrics` besides unscoped tokens. @defaultValue `config.metricsToken` */
  metricsToken?: string;
  /** Largest accepted body in bytes; larger ones get 413. @defaultValue 1 MiB */
  bodyLimit?: number;
  extraPlugins?: ExtraPlugin[];
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** A route as registered, with what it needs (see access.ts). */
export interface RegisteredRoute {
  method: string;
  url: string;
  /** `config.access`; a route without one needs an admin of every space. */
  access: RouteAccess | undefined;
  allSpaces: boolean;
}

const routeTables = new WeakMap<FastifyInstance, RouteOptions[]>();

/**
 * Every route of an app built by `buildApp`, HEAD routes included, read from fastify's
 * onRoute hook (so plugins' routes, such as the dashboard's, are listed too).
 */
export function registeredRoutes(app: FastifyInstance): RegisteredRoute[] {
  return (routeTables.get(app) ?? []).flatMap((route) =>
    [route.method].flat().map((method) => ({
      method: String(method),
      url: route.url,
      access: route.config?.access,
      allSpaces: route.config?.allSpaces ?? route.config?.access === undefined,
    })),
  );
}

/** Builds the app, ready for `listen()` or `inject()`; the caller closes it. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const {
    logger,
    insecureLocal = false,
    bodyLimit = DEFAULT_BODY_LIMIT,
    extraPlugins = [],
    authenticator,
    metricsToken,
    ...deps
  } = options;
  const token = deps.config.apiToken;
  if (!token && !insecureLocal) {
    throw new ConfigError(
      'CONFBULK_API_TOKEN is not set and insecureLocal is false: the API would be open',
      'CONFBULK_API_TOKEN',
    );
  }
  // pino's Logger has more than fastify's base logger type; fastify only uses the base.
  const app = fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit,
    trustProxy: deps.config.trustProxy,
  });
  app.setValidatorCompiler(zodValidatorCompiler);
  app.setSerializerCompiler(jsonSerializerCompiler);
  app.setErrorHandler(errorHandler(bodyLimit));
  app.setNotFoundHandler(notFoundHandler);
  const table: RouteOptions[] = [];
  routeTables.set(app, table);
  // Later onRoute hooks (plugins') may still set `config`, so the options are kept, not copied.
  app.addHook('onRoute', (route) => void table.push(route));
  if (insecureLocal && !token) app.addHook('onRequest', checkHostHeader);
  registerAccess(app, {
    authenticator:
      authenticator ?? new Authenticator({ bootstrapToken: token, tokens: deps.tokens }),
    insecureLocal,
    metricsToken: metricsToken ?? deps.config.metricsToken,
  });
  await registerOpenApi(app, packageVersion());

  await app.register(healthRoutes);
  await app.register(bulkActionRoutes, { ...deps, prefix: '/v1' });
  await app.register(batchRoutes, { ...deps, prefix: '/v1' });
  await app.register(deadLetterRoutes, { ...deps, prefix: '/v1' });
  await app.register(scheduleRoutes, { ...deps, prefix: '/v1' });
  if (deps.tokens) await app.register(tokenRoutes, { ...deps, prefix: '/v1' });
  for (const extra of extraPlugins) {
    await app.register(async (scope) => {
      scope.addHook('onRoute', (route) => {
        route.config = { access: extra.access, ...route.config };
      });
      await scope.register(extra.plugin, { ...deps, prefix: extra.prefix });
    });
  }
  return app;
}
