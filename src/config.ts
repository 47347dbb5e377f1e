/**
 * All defaults and all reading of the environment, in one place.
 *
 * Precedence: defaults < config file (`CONFBULK_CONFIG`, JSON) < environment < flags
 * (the `overrides` argument). Every value is checked; a bad one throws a ConfigError naming
 * the variable and what is allowed.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { checkPrefix, DEFAULT_PREFIX } from './keys.js';
import { parseSeed } from './queues.js';
import { checkRedisUrl } from './redis-url.js';
import type { SpaceProfile } from './signalwire/types.js';

/** `count` requests per `durationMs` milliseconds. */
export interface RateLimitSpec {
  count: number;
  durationMs: number;
}

export interface SpaceConfig extends SpaceProfile {
  /**
   * Windows this space's requests keep to, every one at once (`13800/10s,2000/1s`);
   * defaults to the global `rateLimits`.
   */
  rateLimits: RateLimitSpec[];
}

export interface RetryConfig {
  /** Quick in-process retries of a transient failure before the job is handed back to the queue. @defaultValue 2 */
  quickRetries: number;
  /** BullMQ attempts per job (the first try included). @defaultValue 15 */
  attempts: number;
  /** First queue-level backoff delay in ms; doubles per attempt, with jitter. @defaultValue 1000 */
  backoffBaseMs: number;
  /** Cap of one queue-level backoff delay in ms. @defaultValue 300000 */
  backoffMaxMs: number;
}

export interface CircuitConfig {
  /** Consecutive transient failures of a space that open its circuit. @defaultValue 10 */
  failureThreshold: number;
  /**
   * While a space's circuit is open, one probe request (across all processes) starts this
   * often, in ms, whatever the outage's length: the first success comes within this plus
   * one request's latency of the API coming back, at the cost of about one request per
   * interval. @defaultValue 750
   */
  probeIntervalMs: number;
  /** The same for a space paused by 401/403 (until it succeeds or `confbulk resume`). @defaultValue 1000 */
  pausedProbeMs: number;
}

export interface ScheduleLimits {
  /**
   * Smallest gap between two runs of a cron schedule, in ms (`CONFBULK_SCHEDULE_MIN_INTERVAL_MS`);
   * 0 allows any pattern. @defaultValue 60000
   */
  minIntervalMs: number;
  /** Most schedules one space may have (`CONFBULK_SCHEDULE_MAX_PER_SPACE`). @defaultValue 100 */
  maxPerSpace: number;
  /**
   * A run that starts later than this after its time is skipped and recorded instead of
   * fired (`CONFBULK_SCHEDULE_MAX_LATE_MS`). @defaultValue 300000
   */
  maxLateMs: number;
}

/** fastify's `trustProxy`: whether, or from which proxies, to believe `X-Forwarded-*` headers. */
export type TrustProxy = boolean | string[];

export interface ConfbulkConfig {
  /** Redis URL of a single node; undefined means "provision one" (development, tests, demo). */
  redisUrl: string | undefined;
  /**
   * Seed nodes of a Redis Cluster (`REDIS_CLUSTER_NODES`, comma-separated `host:port` or
   * `rediss://user:pass@host:port`); when set, every connection is a cluster connection and
   * `redisUrl` is not used.
   */
  redisClusterNodes: string[] | undefined;
  /**
   * Name under which every key lives, inside confbulk's hash tags (src/keys.ts): a plain
   * name, checked by `checkPrefix`. @defaultValue `confbulk`
   */
  prefix: string;
  /**
   * Space profiles by name. `default` comes from `SIGNALWIRE_SPACE_URL` etc. A Map, so that
   * a name given as input is looked up among the profiles only (`constructor` is unknown).
   */
  spaces: ReadonlyMap<string, SpaceConfig>;
  /**
   * Default windows of a space, every one kept at once. @defaultValue 12000 per 10 s: 87 %
   * of SignalWire's 13,800 per 10 s, which is per account and shared by every project and
   * client of it, so 1,800 per 10 s are left to them (README, configuration).
   */
  rateLimits: RateLimitSpec[];
  /**
   * Starting margin of the rate limiter in ms: a request starts only if fewer than `count`
   * started in the last `window + margin`, which leaves room for requests reaching the API
   * out of order in ways their answers do not show (event loops, network, the API's own
   * scheduling; a request answered late is counted from its answer's bound anyway). It
   * widens by itself after a 429 the limiter's own counts cannot explain. @defaultValue 10
   */
  rateJitterMs: number;
  /**
   * Widest the limiter's margin may grow, in ms; `undefined` lets the limiter choose (8 x
   * the starting margin, at least 200 ms, at most a tenth of the shortest window). Equal to
   * `rateJitterMs`, the margin never widens.
   */
  rateMaxMarginMs: number | undefined;
  /**
   * Participant updates in flight per worker process. 500 at an API latency of 80-200 ms
   * carries 2,500-6,000 updates/s, more than one core sends, so a whole window's burst
   * goes out as fast as the process can. @defaultValue 500
   */
  concurrency: number;
  /**
   * Participants whose updates one BullMQ job of a fan-out carries
   * (`CONFBULK_UPDATES_PER_JOB`, 1-100). Each keeps its own outcome, retries, send record
   * and dead letter (src/jobs/chunk-job.ts); a chunk saves BullMQ's cost per job. 1 makes a
   * job per participant. 50 by measurement (docs/benchmarks.md, "Overhead"): CPU per update
   * falls steeply from 1 and little past 50. @defaultValue 50
   */
  updatesPerJob: number;
  retry: RetryConfig;
  circuit: CircuitConfig;
  /** Connect timeout of API requests in ms. @defaultValue 5000 */
  connectTimeoutMs: number;
  /** Whole-request timeout of API requests in ms. @defaultValue 15000 */
  requestTimeoutMs: number;
  /** How long SIGTERM waits for in-flight work before closing anyway. @defaultValue 20000 */
  shutdownTimeoutMs: number;
  /** Bearer token of the HTTP API. */
  apiToken: string | undefined;
  /** HTTP API bind host. @defaultValue 127.0.0.1 */
  apiHost: string;
  /** HTTP API port. @defaultValue 3000 */
  apiPort: number;
  /**
   * Serve the API's `/metrics` on this port of `metricsHost`, open, instead of on the API
   * port behind a token (`CONFBULK_API_METRICS_PORT`). @defaultValue undefined
   */
  apiMetricsPort: number | undefined;
  /** Worker metrics/health port; undefined = no HTTP listener on workers. */
  metricsPort: number | undefined;
  /** Worker metrics/health bind host (`0.0.0.0` in containers). @defaultValue 127.0.0.1 */
  metricsHost: string;
  /** Secret used to sign completion webhooks (HMAC-SHA256). */
  webhookSecret: string | undefined;
  /**
   * Webhook hosts exempt from the address guard (`CONFBULK_WEBHOOK_ALLOW_HOSTS`, comma
   * separated host names or IP addresses, e.g. an internal receiver). @defaultValue none
   */
  webhookAllowHosts: string[];
  /**
   * Bearer token that may read the API's `/metrics` and nothing else
   * (`CONFBULK_METRICS_TOKEN`). Unscoped API tokens are accepted too. @defaultValue none
   */
  metricsToken: string | undefined;
  /**
   * Believe `X-Forwarded-Proto/For/Host` from these proxies (`CONFBULK_TRUST_PROXY`: comma
   * separated addresses/CIDRs, or true for any peer, or false). Behind TLS termination this
   * makes the dashboard cookie `Secure`. A hop count is not offered: fastify cannot check
   * the immediate peer with one, so it ignores the headers. @defaultValue false
   */
  trustProxy: TrustProxy;
  schedule: ScheduleLimits;
  /** pino level. @defaultValue info */
  logLevel: string;
}

/** Most participants one BullMQ job carries (`CONFBULK_UPDATES_PER_JOB`). */
export const MAX_UPDATES_PER_JOB = 100;

export const DEFAULTS: Omit<ConfbulkConfig, 'spaces'> = {
  redisUrl: undefined,
  redisClusterNodes: undefined,
  prefix: DEFAULT_PREFIX,
  rateLimits: [{ count: 12_000, durationMs: 10_000 }],
  rateJitterMs: 10,
  rateMaxMarginMs: undefined,
  concurrency: 500,
  updatesPerJob: 50,
  retry: { quickRetries: 2, attempts: 15, backoffBaseMs: 1000, backoffMaxMs: 300_000 },
  circuit: { failureThreshold: 10, probeIntervalMs: 750, pausedProbeMs: 1000 },
  connectTimeoutMs: 5000,
  requestTimeoutMs: 15_000,
  shutdownTimeoutMs: 20_000,
  apiToken: undefined,
  apiHost: '127.0.0.1',
  apiPort: 3000,
  apiMetricsPort: undefined,
  metricsPort: undefined,
  metricsHost: '127.0.0.1',
  webhookSecret: undefined,
  webhookAllowHosts: [],
  metricsToken: undefined,
  trustProxy: false,
  schedule: { minIntervalMs: 60_000, maxPerSpace: 100, maxLateMs: 300_000 },
  logLevel: 'info',
};

/** Profile names: lower-case letters, digits, `-` and `_`, 1 to 32 characters. */
export const SPACE_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses `<count>/<duration>`, e.g. `1200/1s`, `13800/10s`, `50/500ms`.
 * @throws ConfigError naming `field` and the accepted form.
 */
export function parseRateLimit(text: string, field = 'CONFBULK_RATE_LIMIT'): RateLimitSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+(?:\.\d+)?)?\s*(ms|s|m|h)\s*$/.exec(text);
  const count = m ? Number(m[1]) : NaN;
  const amount = m ? Number(m[2] ?? 1) : NaN;
  const unit = m?.[3] ? DURATION_UNITS[m[3]] : undefined;
  if (!m || !unit || !Number.isInteger(count) || count < 1 || !(amount > 0)) {
    throw new ConfigError(
      `${field} must look like <count>/<duration> with count >= 1 and duration in ms, s, m or h ` +
        `(e.g. 1200/1s or 13800/10s); got '${text}'`,
      field,
    );
  }
  return { count, durationMs: Math.round(amount * unit) };
}

/**
 * Parses one or more windows separated by commas, e.g. `13800/10s,2000/1s`.
 * @throws ConfigError naming `field`, the bad window and the accepted form.
 */
export function parseRateLimits(text: string, field = 'CONFBULK_RATE_LIMIT'): RateLimitSpec[] {
  const limits = text.split(',').map((part) => parseRateLimit(part, field));
  if (new Set(limits.map((l) => l.durationMs)).size !== limits.length) {
    throw new ConfigError(
      `${field} names the same window length twice; give each duration once (e.g. 13800/10s,2000/1s); got '${text}'`,
      field,
    );
  }
  return limits;
}

/** `13800/10000ms,2000/1000ms`: the form `parseRateLimits` reads. */
export function formatRateLimits(limits: readonly RateLimitSpec[]): string {
  return limits.map((l) => `${l.count}/${l.durationMs}ms`).join(',');
}

function intFrom(
  env: NodeJS.ProcessEnv,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(
      `${name} must be a whole number from ${min} to ${max}; got '${raw}'`,
      name,
    );
  }
  return n;
}

function listFrom(env: NodeJS.ProcessEnv, name: string): string[] | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw
    .split(',')
    .map((part) => part.trim().toLowerCase())
    .filter(Boolean);
}

/**
 * Parses `CONFBULK_TRUST_PROXY`: `true`, `false`, or addresses/CIDRs.
 * @throws ConfigError naming the variable.
 */
export function parseTrustProxy(raw: string | undefined): TrustProxy | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const text = raw.trim().toLowerCase();
  if (text === 'true') return true;
  if (text === 'false') return false;
  const list = text.split(',').map((part) => part.trim());
  if (list.every((part) => /^[0-9a-f.:]+(\/\d{1,3})?$/.test(part))) return list;
  throw new ConfigError(
    `CONFBULK_TRUST_PROXY must be true, false or comma separated proxy addresses/CIDRs (e.g. 10.0.0.0/8); got '${raw}'`,
    'CONFBULK_TRUST_PROXY',
  );
}

/**
 * Checks a space URL: https, or http for loopback hosts only (mocks).
 * @throws ConfigError naming `field`.
 */
export function checkSpaceUrl(url: string, field: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(
      `${field} must be a URL like https://example.signalwire.com; got '${url}'`,
      field,
    );
  }
  const loopback =
    ['localhost', '127.0.0.1', '[::1]', '::1'].includes(u.hostname) ||
    u.hostname.startsWith('127.');
  if (u.protocol === 'https:' || (u.protocol === 'http:' && loopback))
    return url.replace(/\/+$/, '');
  throw new ConfigError(
    `${field} must use https:// (http:// is allowed only for loopback hosts, i.e. a mock); got '${u.protocol}//${u.host}'`,
    field,
  );
}

const fileSpaceSchema = z
  .object({
    spaceUrl: z.string(),
    projectId: z.string().min(1),
    apiToken: z.string().min(1).optional(),
    /** Name of an environment variable holding the token, to keep it out of the file. */
    apiTokenEnv: z.string().min(1).optional(),
    rateLimit: z.string().optional(),
  })
  .strict();

const fileSchema = z
  .object({
    redisUrl: z.string().optional(),
    redisClusterNodes: z.array(z.string().min(1)).min(1).optional(),
    prefix: z.string().optional(),
    rateLimit: z.string().optional(),
    concurrency: z.number().int().min(1).max(5000).optional(),
    updatesPerJob: z.number().int().min(1).max(MAX_UPDATES_PER_JOB).optional(),
    logLevel: z.string().optional(),
    spaces: z.record(z.string(), fileSpaceSchema).optional(),
  })
  .strict();

type FileConfig = z.infer<typeof fileSchema>;

function readConfigFile(path: string): FileConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(
      `CONFBULK_CONFIG file '${path}' could not be read as JSON: ${(err as Error).message}`,
      'CONFBULK_CONFIG',
    );
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || '(top level)';
    throw new ConfigError(
      `CONFBULK_CONFIG file '${path}': ${where}: ${issue?.message ?? 'invalid'}`,
      'CONFBULK_CONFIG',
    );
  }
  return parsed.data;
}

function spaceFrom(
  name: string,
  url: string | undefined,
  projectId: string | undefined,
  token: string | undefined,
  where: string,
  rateLimits: RateLimitSpec[],
): SpaceConfig {
  if (!SPACE_NAME.test(name)) {
    throw new ConfigError(
      `space profile name '${name}' (${where}) must match ${SPACE_NAME}`,
      where,
    );
  }
  const missing = [!url && 'space URL', !projectId && 'project id', !token && 'API token'].filter(
    Boolean,
  );
  if (missing.length > 0) {
    throw new ConfigError(
      `space profile '${name}' (${where}) is missing: ${missing.join(', ')}`,
      where,
    );
  }
  return {
    name,
    spaceUrl: checkSpaceUrl(url as string, `${where} space URL`),
    projectId: projectId as string,
    apiToken: token as string,
    rateLimits,
  };
}

function spacesFromEnv(
  env: NodeJS.ProcessEnv,
  rateLimits: RateLimitSpec[],
): Map<string, SpaceConfig> {
  const spaces = new Map<string, SpaceConfig>();
  if (env.SIGNALWIRE_SPACE_URL || env.SIGNALWIRE_PROJECT_ID || env.SIGNALWIRE_API_TOKEN) {
    spaces.set(
      'default',
      spaceFrom(
        'default',
        env.SIGNALWIRE_SPACE_URL,
        env.SIGNALWIRE_PROJECT_ID,
        env.SIGNALWIRE_API_TOKEN,
        'SIGNALWIRE_*',
        rateLimits,
      ),
    );
  }
  for (const key of Object.keys(env)) {
    const m = /^SIGNALWIRE_([A-Z0-9_]+)_SPACE_URL$/.exec(key);
    if (!m?.[1]) continue;
    const upper = m[1];
    const name = upper.toLowerCase().replace(/_/g, '-');
    const rl = env[`SIGNALWIRE_${upper}_RATE_LIMIT`];
    spaces.set(
      name,
      spaceFrom(
        name,
        env[key],
        env[`SIGNALWIRE_${upper}_PROJECT_ID`],
        env[`SIGNALWIRE_${upper}_API_TOKEN`],
        `SIGNALWIRE_${upper}_*`,
        rl ? parseRateLimits(rl, `SIGNALWIRE_${upper}_RATE_LIMIT`) : rateLimits,
      ),
    );
  }
  return spaces;
}

function spacesFromFile(
  file: FileConfig,
  env: NodeJS.ProcessEnv,
  rateLimits: RateLimitSpec[],
): Map<string, SpaceConfig> {
  const spaces = new Map<string, SpaceConfig>();
  for (const [name, s] of Object.entries(file.spaces ?? {})) {
    const token = s.apiToken ?? (s.apiTokenEnv ? env[s.apiTokenEnv] : undefined);
    const rl = s.rateLimit
      ? parseRateLimits(s.rateLimit, `CONFBULK_CONFIG spaces.${name}.rateLimit`)
      : rateLimits;
    spaces.set(
      name,
      spaceFrom(name, s.spaceUrl, s.projectId, token, `CONFBULK_CONFIG spaces.${name}`, rl),
    );
  }
  return spaces;
}

/**
 * `REDIS_CLUSTER_NODES` (or the file's `redisClusterNodes`), each entry checked.
 * @throws ConfigError naming REDIS_CLUSTER_NODES and the entry's host (never a password)
 */
function clusterNodesFrom(env: NodeJS.ProcessEnv, file: FileConfig): string[] | undefined {
  const raw = env.REDIS_CLUSTER_NODES
    ? env.REDIS_CLUSTER_NODES.split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : file.redisClusterNodes;
  if (!raw || raw.length === 0) return undefined;
  for (const seed of raw) parseSeed(seed);
  return raw;
}

/**
 * Builds the configuration from defaults, the optional config file, the environment and
 * `overrides` (command-line flags), in that order of precedence.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<ConfbulkConfig> = {},
): ConfbulkConfig {
  const file: FileConfig = env.CONFBULK_CONFIG ? readConfigFile(env.CONFBULK_CONFIG) : {};
  const rateLimits = env.CONFBULK_RATE_LIMIT
    ? parseRateLimits(env.CONFBULK_RATE_LIMIT)
    : file.rateLimit
      ? parseRateLimits(file.rateLimit, 'CONFBULK_CONFIG rateLimit')
      : DEFAULTS.rateLimits;
  const spaces = new Map([
    ...spacesFromFile(file, env, rateLimits),
    ...spacesFromEnv(env, rateLimits),
  ]);
  const config: ConfbulkConfig = {
    ...DEFAULTS,
    redisUrl: env.REDIS_URL
      ? checkRedisUrl(env.REDIS_URL)
      : file.redisUrl
        ? checkRedisUrl(file.redisUrl, 'CONFBULK_CONFIG redisUrl')
        : DEFAULTS.redisUrl,
    redisClusterNodes: clusterNodesFrom(env, file),
    prefix: env.CONFBULK_PREFIX
      ? checkPrefix(env.CONFBULK_PREFIX)
      : file.prefix
        ? checkPrefix(file.prefix, 'CONFBULK_CONFIG prefix')
        : DEFAULTS.prefix,
    spaces,
    rateLimits,
    rateJitterMs: intFrom(env, 'CONFBULK_RATE_JITTER_MS', 0, 60_000) ?? DEFAULTS.rateJitterMs,
    rateMaxMarginMs:
      intFrom(env, 'CONFBULK_RATE_MAX_MARGIN_MS', 0, 3_600_000) ?? DEFAULTS.rateMaxMarginMs,
    concurrency:
      intFrom(env, 'CONFBULK_CONCURRENCY', 1, 5000) ?? file.concurrency ?? DEFAULTS.concurrency,
    updatesPerJob:
      intFrom(env, 'CONFBULK_UPDATES_PER_JOB', 1, MAX_UPDATES_PER_JOB) ??
      file.updatesPerJob ??
      DEFAULTS.updatesPerJob,
    retry: {
      quickRetries: intFrom(env, 'CONFBULK_QUICK_RETRIES', 0, 10) ?? DEFAULTS.retry.quickRetries,
      attempts: intFrom(env, 'CONFBULK_ATTEMPTS', 1, 100) ?? DEFAULTS.retry.attempts,
      backoffBaseMs:
        intFrom(env, 'CONFBULK_BACKOFF_BASE_MS', 1, 3_600_000) ?? DEFAULTS.retry.backoffBaseMs,
      backoffMaxMs:
        intFrom(env, 'CONFBULK_BACKOFF_MAX_MS', 1, 86_400_000) ?? DEFAULTS.retry.backoffMaxMs,
    },
    circuit: {
      failureThreshold:
        intFrom(env, 'CONFBULK_CIRCUIT_THRESHOLD', 1, 10_000) ?? DEFAULTS.circuit.failureThreshold,
      probeIntervalMs:
        intFrom(env, 'CONFBULK_CIRCUIT_PROBE_MS', 10, 3_600_000) ??
        DEFAULTS.circuit.probeIntervalMs,
      pausedProbeMs:
        intFrom(env, 'CONFBULK_PAUSED_PROBE_MS', 10, 3_600_000) ?? DEFAULTS.circuit.pausedProbeMs,
    },
    connectTimeoutMs:
      intFrom(env, 'CONFBULK_CONNECT_TIMEOUT_MS', 10, 120_000) ?? DEFAULTS.connectTimeoutMs,
    requestTimeoutMs:
      intFrom(env, 'CONFBULK_REQUEST_TIMEOUT_MS', 10, 600_000) ?? DEFAULTS.requestTimeoutMs,
    shutdownTimeoutMs:
      intFrom(env, 'CONFBULK_SHUTDOWN_TIMEOUT_MS', 0, 600_000) ?? DEFAULTS.shutdownTimeoutMs,
    apiToken: env.CONFBULK_API_TOKEN || DEFAULTS.apiToken,
    apiHost: env.CONFBULK_API_HOST || DEFAULTS.apiHost,
    apiPort: intFrom(env, 'CONFBULK_API_PORT', 0, 65535) ?? DEFAULTS.apiPort,
    apiMetricsPort: intFrom(env, 'CONFBULK_API_METRICS_PORT', 0, 65535) ?? DEFAULTS.apiMetricsPort,
    metricsPort: intFrom(env, 'CONFBULK_METRICS_PORT', 0, 65535) ?? DEFAULTS.metricsPort,
    metricsHost: env.CONFBULK_METRICS_HOST || DEFAULTS.metricsHost,
    webhookSecret: env.CONFBULK_WEBHOOK_SECRET || DEFAULTS.webhookSecret,
    webhookAllowHosts: listFrom(env, 'CONFBULK_WEBHOOK_ALLOW_HOSTS') ?? DEFAULTS.webhookAllowHosts,
    metricsToken: env.CONFBULK_METRICS_TOKEN || DEFAULTS.metricsToken,
    trustProxy: parseTrustProxy(env.CONFBULK_TRUST_PROXY) ?? DEFAULTS.trustProxy,
    schedule: {
      minIntervalMs:
        intFrom(env, 'CONFBULK_SCHEDULE_MIN_INTERVAL_MS', 0, 86_400_000) ??
        DEFAULTS.schedule.minIntervalMs,
      maxPerSpace:
        intFrom(env, 'CONFBULK_SCHEDULE_MAX_PER_SPACE', 1, 100_000) ??
        DEFAULTS.schedule.maxPerSpace,
      maxLateMs:
        intFrom(env, 'CONFBULK_SCHEDULE_MAX_LATE_MS', 1000, 86_400_000) ??
        DEFAULTS.schedule.maxLateMs,
    },
    logLevel: env.LOG_LEVEL || file.logLevel || DEFAULTS.logLevel,
    ...overrides,
  };
  if (config.retry.backoffMaxMs < config.retry.backoffBaseMs) {
    throw new ConfigError(
      'CONFBULK_BACKOFF_MAX_MS must be >= CONFBULK_BACKOFF_BASE_MS',
      'CONFBULK_BACKOFF_MAX_MS',
    );
  }
  return config;
}

/**
 * The space profile called `name`.
 * @throws ConfigError listing the configured profiles.
 */
export function getSpace(config: ConfbulkConfig, name: string): SpaceConfig {
  const space = config.spaces.get(name);
  if (!space) {
    const known = [...config.spaces.keys()];
    throw new ConfigError(
      `unknown space profile '${name}'; configured profiles: ${known.length ? known.join(', ') : '(none: set SIGNALWIRE_SPACE_URL, SIGNALWIRE_PROJECT_ID and SIGNALWIRE_API_TOKEN)'}`,
      'space',
    );
  }
  return space;
}

/** Every secret value of the configuration, for redaction and secret scans. */
export function secretsOf(config: ConfbulkConfig): string[] {
  return [
    ...[...config.spaces.values()].map((s) => s.apiToken),
    config.apiToken,
    config.webhookSecret,
    config.metricsToken,
  ].filter((s): s is string => typeof s === 'string' && s.length > 0);
}
