/**
 * Builds the HTTP API from plugins: validation and errors, the OpenAPI document, the
 * unauthenticated operations routes, and the `/v1` resources behind the bearer token.
 * `extraPlugins` is where `/metrics`, `/readyz` and the dashboard plug in.
 */
import fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
} from 'fastify';
import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import { bearerAuth } from './auth.js';
import type { ApiDependencies } from './dependencies.js';
import { errorHandler, notFoundHandler } from './errors.js';
import { registerOpenApi } from './openapi.js';
import { batchRoutes } from './routes/batches.js';
import { bulkActionRoutes } from './routes/bulk-actions.js';
import { deadLetterRoutes } from './routes/dead-letters.js';
import { healthRoutes } from './routes/health.js';
import { scheduleRoutes } from './routes/schedules.js';
import { packageVersion } from './version.js';
import { jsonSerializerCompiler, zodValidatorCompiler } from './validation.js';

/** A plugin added by another part of confbulk (metrics, readiness, dashboard). */
export interface ExtraPlugin {
  plugin: FastifyPluginAsync<ApiDependencies>;
  /** Routes are served under this prefix, e.g. `/admin/queues`. @defaultValue none */
  prefix?: string;
  /** Behind the bearer token, like `/v1`. Metrics scrapers and probes usually are not. */
  authenticated: boolean;
}

export interface AppOptions extends ApiDependencies {
  logger: Logger;
  /** Serve without a token (the caller checked the host is loopback: see checkApiSecurity). */
  insecureLocal?: boolean;
  /** Largest accepted body in bytes; larger ones get 413. @defaultValue 1 MiB */
  bodyLimit?: number;
  extraPlugins?: ExtraPlugin[];
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** Builds the app, ready for `listen()` or `inject()`; the caller closes it. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const {
    logger,
    insecureLocal = false,
    bodyLimit = DEFAULT_BODY_LIMIT,
    extraPlugins = [],
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
  const app = fastify({ loggerInstance: logger as FastifyBaseLogger, bodyLimit });
  app.setValidatorCompiler(zodValidatorCompiler);
  app.setSerializerCompiler(jsonSerializerCompiler);
  app.setErrorHandler(errorHandler(bodyLimit));
  app.setNotFoundHandler(notFoundHandler);
  await registerOpenApi(app, packageVersion());

  await app.register(healthRoutes);
  for (const extra of extraPlugins.filter((p) => !p.authenticated)) {
    await app.register(extra.plugin, { ...deps, prefix: extra.prefix });
  }
  await app.register(async (secured) => {
    if (token) secured.addHook('onRequest', bearerAuth(token));
    await secured.register(bulkActionRoutes, { ...deps, prefix: '/v1' });
    await secured.register(batchRoutes, { ...deps, prefix: '/v1' });
    await secured.register(deadLetterRoutes, { ...deps, prefix: '/v1' });
    await secured.register(scheduleRoutes, { ...deps, prefix: '/v1' });
    for (const extra of extraPlugins.filter((p) => p.authenticated)) {
      await secured.register(extra.plugin, { ...deps, prefix: extra.prefix });
    }
  });
  return app;
}
