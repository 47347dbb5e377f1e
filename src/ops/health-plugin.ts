/**
 * Liveness and readiness.
 *  - `GET /healthz`: the process is up and its event loop answers (never touches Redis, so
 *    a Redis outage does not get healthy processes restarted). Skipped where the app
 *    already serves it (the HTTP API has its own).
 *  - `GET /readyz`: Redis answers PING and, where a `workersRegistered` check is given (the
 *    API), at least one worker is connected; otherwise 503 with every reason.
 *
 * `/readyz` is open (probes carry no token), so it answers from a report at most `cacheMs`
 * old (a flood of probes costs one check per period, not one per request) and its reasons
 * are fixed sentences: an error's own message may name internal addresses
 * (`connect ECONNREFUSED 10.1.2.3:6379`), so that goes to the log only.
 */
// For the OpenAPI fields of `schema` (summary, tags).
import type {} from '@fastify/swagger';
import type { FastifyPluginAsync } from 'fastify';
import { commandName } from '../cli/command-name.js';
// For `config.access` (the API's access hook).
import type {} from '../http/access.js';
import type { RedisConnection } from '../queues.js';

export interface HealthPluginOptions {
  redis: RedisConnection;
  /** Readiness also requires this to resolve true (e.g. `workersRegisteredOn(queues)`). */
  workersRegistered?: () => Promise<boolean>;
  /** How long each readiness check may take, in ms. @defaultValue 2000 */
  timeoutMs?: number;
  /** How long a readiness report is reused, in ms. @defaultValue 1000 */
  cacheMs?: number;
  /** Where the details of failed checks go. @defaultValue nowhere */
  onCheckFailed?: (check: string, err: Error) => void;
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
      if (pong !== 'PONG') reasons.push('Redis did not answer PING with PONG');
    },
    (err: Error) => {
      options.onCheckFailed?.('redis', err);
      reasons.push('Redis is not reachable');
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
          options.onCheckFailed?.('workers', err);
          reasons.push('workers could not be listed');
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

/** `checkReadiness`, reusing a report for `cacheMs` (concurrent callers share one check). */
export function cachedReadiness(options: HealthPluginOptions): () => Promise<ReadinessReport> {
  const cacheMs = options.cacheMs ?? 1000;
  let cached: { at: number; report: Promise<ReadinessReport> } | undefined;
  return () => {
    const now = Date.now();
    if (!cached || now - cached.at >= cacheMs) {
      cached = { at: now, report: checkReadiness(options) };
    }
    return cached.report;
  };
}

/** A fastify plugin serving `/healthz` and `/readyz`. */
export function healthPlugin(options: HealthPluginOptions): FastifyPluginAsync {
  const readiness = cachedReadiness(options);
  const config = { access: 'public' } as const;
  return async (app) => {
    if (!app.hasRoute({ method: 'GET', url: '/healthz' })) {
      app.get('/healthz', { config, schema: { hide: true } }, async () => ({ status: 'ok' }));
    }
    app.get('/readyz', { config, schema: READYZ_SCHEMA }, async (_request, reply) => {
      const report = await readiness();
      return reply
        .code(report.ready ? 200 : 503)
        .send({ status: report.ready ? 'ready' : 'not ready', reasons: report.reasons });
    });
  };
}
