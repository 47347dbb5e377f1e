/**
 * Liveness and readiness.
 *  - `GET /healthz`: the process is up and its event loop answers (never touches Redis, so
 *    a Redis outage does not get healthy processes restarted). Skipped where the app
 *    already serves it (the HTTP API has its own).
 *  - `GET /readyz`: Redis answers PING and, where a `workersRegistered` check is given (the
 *    API), at least one worker is connected; otherwise 503 with every reason.
 */
// For the OpenAPI fields of `schema` (summary, tags).
import type {} from '@fastify/swagger';
import type { FastifyPluginAsync } from 'fastify';
import type { Redis } from 'ioredis';
import { commandName } from '../cli/command-name.js';

export interface HealthPluginOptions {
  redis: Redis;
  /** Readiness also requires this to resolve true (e.g. `workersRegisteredOn(queues)`). */
  workersRegistered?: () => Promise<boolean>;
  /** How long each readiness check may take, in ms. @defaultValue 2000 */
  timeoutMs?: number;
}

export interface ReadinessReport {
  ready: boolean;
  /** Why not ready; empty when ready. */
  reasons: string[];
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs the readiness checks of `options`, all of them, in parallel. */
export async function checkReadiness(options: HealthPluginOptions): Promise<ReadinessReport> {
  const ms = options.timeoutMs ?? 2000;
  const reasons: string[] = [];
  const redisCheck = withTimeout(options.redis.ping(), ms, 'Redis PING').then(
    (pong) => {
      if (pong !== 'PONG') reasons.push(`Redis answered PING with '${pong}'`);
    },
    (err: Error) => {
      reasons.push(`Redis is not reachable: ${err.message}`);
    },
  );
  const check = options.workersRegistered;
  const workerCheck = check
    ? withTimeout(check(), ms, 'the worker registry').then(
        (registered) => {
          if (!registered) {
            reasons.push(`no worker is connected (start one: ${commandName()} worker)`);
          }
        },
        (err: Error) => {
          reasons.push(`workers could not be listed: ${err.message}`);
        },
      )
    : Promise.resolve();
  await Promise.all([redisCheck, workerCheck]);
  return { ready: reasons.length === 0, reasons };
}

/** How `/readyz` appears in the OpenAPI document (no response schema: 200 or 503, same body). */
const READYZ_SCHEMA = {
  summary: 'Readiness: Redis answers and (on the API) a worker is connected',
  description:
    '200 {status: "ready", reasons: []} or 503 {status: "not ready", reasons: [...]}, each ' +
    'reason a sentence saying what is missing.',
  tags: ['operations'],
  security: [],
};

/** A fastify plugin serving `/healthz` and `/readyz`. */
export function healthPlugin(options: HealthPluginOptions): FastifyPluginAsync {
  return async (app) => {
    if (!app.hasRoute({ method: 'GET', url: '/healthz' })) {
      app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
    }
    app.get('/readyz', { schema: READYZ_SCHEMA }, async (_request, reply) => {
      const report = await checkReadiness(options);
      return reply
        .code(report.ready ? 200 : 503)
        .send({ status: report.ready ? 'ready' : 'not ready', reasons: report.reasons });
    });
  };
}
