/**
 * The worker runtime: one BullMQ worker per space (each with its space's rate limiter and
 * circuit breaker, shared with every other process through Redis), plus the extra workers
 * that batches bring (fan-out, schedules). Built so that a process can die at any moment:
 * a killed worker's jobs come back through stalled-job recovery, and a stopped one hands
 * back what it had not sent yet.
 */
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import type { Job, Processor, Worker, WorkerOptions } from 'bullmq';
import type { RedisConnection } from '../queues.js';
import { ConfigError } from '../errors.js';
import { getSpace, type ConfbulkConfig } from '../config.js';
import { AttemptHistory } from '../dead-letters/attempt-history.js';
import { DeadLetters } from '../dead-letters/dead-letters.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { closeRedis, createRedis, requireRedis, updatesQueueName } from '../queues.js';
import { RedisHealth } from '../redis-health.js';
import { SignalWireClients } from '../signalwire/clients.js';
import { confbulkBackoffStrategy } from './backoff.js';
import { createCircuitBreaker, type CircuitBreaker } from './circuit-breaker.js';
import { UpdatesProcessor } from './chunk.js';
import { ParticipantSlots } from './participant-slots.js';
import { ParticipantPipeline } from './pipeline.js';
import { createRateLimiter, type RateLimiter } from './rate-limiter.js';
import { SendRecords } from './send-record.js';
import { GuardedWorker, type StuckGuardOptions } from './stuck-guard.js';
import { closeAll, withTimeout } from './shutdown.js';
import type { ExtraWorkerSpec, JobOutcome, PipelineHooks } from './types.js';
import { queuePrefix } from '../keys.js';

/** Stalled-job recovery: how a crashed process's jobs come back. */
export interface StalledJobOptions {
  /**
   * Lock of a job in progress, renewed at half of it while the process lives. A killed
   * process's jobs are taken again at most this plus `stalledIntervalMs` later.
   * @defaultValue 30000
   */
  lockDurationMs?: number;
  /** How often every worker looks for jobs whose lock expired. @defaultValue 15000 */
  stalledIntervalMs?: number;
  /**
   * Stalls after which BullMQ gives a job up. High, so that killed processes never fail a
   * job; a job given up is dead-lettered (`exhausted`).
   * @defaultValue 100
   */
  maxStalledCount?: number;
}

export interface WorkerRuntimeOptions {
  config: ConfbulkConfig;
  /** Shared connection (not closed by `close()`); created from `config.redisUrl` when absent. */
  connection?: RedisConnection;
  logger: Logger;
  metrics?: Metrics;
  /** API clients (not closed by `close()`); created from `config` when absent. */
  clients?: SignalWireClients;
  hooks?: PipelineHooks;
  extraWorkers?: ExtraWorkerSpec[];
  /** Participant jobs in flight per space in this process. @defaultValue `config.concurrency` */
  concurrency?: number;
  /** Spaces served. @defaultValue every configured space */
  spaces?: string[];
  stalled?: StalledJobOptions;
  /** Delay of a job handed back at shutdown. @defaultValue 1000 */
  parkDelayMs?: number;
  /** Where connection errors go (one line per outage). @defaultValue one of its own */
  redisHealth?: RedisHealth;
  /** When a worker whose fetch loop stopped is started again. @defaultValue stuck-guard.ts */
  stuckGuard?: StuckGuardOptions;
}

export type OutcomeCounts = Record<JobOutcome, number>;

export interface WorkerRuntime {
  readonly workers: readonly Worker[];
  /** Circuit breaker of each space served (`resume()` after fixing credentials). */
  readonly circuits: ReadonlyMap<string, CircuitBreaker>;
  readonly limiters: ReadonlyMap<string, RateLimiter>;
  /** Resolves when every worker is connected. */
  ready(): Promise<void>;
  /** Terminal outcomes of participant jobs in this process so far. */
  outcomes(): OutcomeCounts;
  /**
   * Stops fetching, hands back jobs still waiting, lets requests in flight finish (at most
   * `timeoutMs`), then closes limiters, circuit breakers and what the runtime opened.
   * Idempotent; every step runs even if another fails.
   * @param timeoutMs - @defaultValue `config.shutdownTimeoutMs`
   */
  close(timeoutMs?: number): Promise<void>;
}

/** `hostname:pid`: how dashboards and dead letters name this process. */
const WORKER_NAME = `${hostname()}:${process.pid}`;

/** The stalled-job options with their defaults filled in. */
export function resolveStalled(o: StalledJobOptions = {}): Required<StalledJobOptions> {
  return {
    lockDurationMs: o.lockDurationMs ?? 30_000,
    stalledIntervalMs: o.stalledIntervalMs ?? 15_000,
    maxStalledCount: o.maxStalledCount ?? 100,
  };
}

function servedSpaces(config: ConfbulkConfig, spaces: string[] | undefined): string[] {
  const names = spaces ?? [...config.spaces.keys()];
  if (names.length === 0) {
    throw new ConfigError(
      'no space profile to serve: set SIGNALWIRE_SPACE_URL, SIGNALWIRE_PROJECT_ID and SIGNALWIRE_API_TOKEN (or spaces in CONFBULK_CONFIG)',
      'spaces',
    );
  }
  for (const name of names) getSpace(config, name);
  return names;
}

class Runtime implements WorkerRuntime {
  /** Every BullMQ worker, each restarted when its fetch loop is stuck (stuck-guard.ts). */
  readonly #guarded: GuardedWorker[] = [];
  readonly circuits = new Map<string, CircuitBreaker>();
  readonly limiters = new Map<string, RateLimiter>();
  readonly #o: WorkerRuntimeOptions;
  readonly #log: Logger;
  readonly #shutdown = new AbortController();
  readonly #connection: RedisConnection;
  readonly #subscriber: RedisConnection;
  readonly #clients: SignalWireClients;
  readonly #health: RedisHealth;
  readonly #deadLetters: DeadLetters;
  /** Send records of every space (a connection of their own on a cluster: send-record.ts). */
  readonly #sendRecords: SendRecords;
  readonly #counts: OutcomeCounts = { succeeded: 0, gone: 0, superseded: 0, dead_lettered: 0 };
  #closing: Promise<void> | undefined;
  /** What `start()` started, logged once the workers are connected. */
  #started: { spaces: string[]; extra: string[] } | undefined;

  constructor(options: WorkerRuntimeOptions) {
    this.#o = options;
    const { config } = options;
    // Every job waiting at a gate listens on the shutdown signal: concurrency x spaces.
    setMaxListeners(0, this.#shutdown.signal);
    this.#log = options.logger.child({ component: 'worker-runtime' });
    if (!options.connection) {
      requireRedis(config, 'workers need the Redis server every process shares');
    }
    this.#health = options.redisHealth ?? new RedisHealth(this.#log, config);
    this.#connection = options.connection ?? createRedis(config);
    if (!options.connection) this.#health.watch(this.#connection, 'connection');
    // Limiters and circuit breakers hear of other processes' changes on pub/sub, which needs
    // a connection of its own.
    this.#subscriber = this.#health.watch(this.#connection.duplicate(), 'subscriber');
    this.#clients = options.clients ?? new SignalWireClients(config, { logger: options.logger });
    this.#deadLetters = new DeadLetters({ connection: this.#connection, prefix: config.prefix });
    this.#sendRecords = new SendRecords(this.#connection, config.prefix, this.#log);
  }

  start(): void {
    const { config } = this.#o;
    const spaces = servedSpaces(config, this.#o.spaces);
    for (const space of spaces) this.#startSpace(space);
    for (const spec of this.#o.extraWorkers ?? []) {
      this.#addWorker(spec.queueName, spec.processor, spec.concurrency ?? 1);
    }
    this.#started = {
      spaces,
      extra: (this.#o.extraWorkers ?? []).map((w) => w.queueName),
    };
  }

  #startSpace(space: string): void {
    const { config, logger, metrics } = this.#o;
    const common = {
      redis: this.#connection,
      prefix: config.prefix,
      space,
      logger,
      ...(metrics && { metrics }),
    };
    const limiter = createRateLimiter({
      ...common,
      subscriber: this.#subscriber,
      limits: getSpace(config, space).rateLimits,
      jitterMs: config.rateJitterMs,
      ...(config.rateMaxMarginMs !== undefined && {
        maxMarginMs: Math.max(config.rateMaxMarginMs, config.rateJitterMs),
      }),
    });
    const circuit = createCircuitBreaker({
      ...common,
      subscriber: this.#subscriber,
      config: config.circuit,
    });
    this.limiters.set(space, limiter);
    this.circuits.set(space, circuit);
    const pipeline = new ParticipantPipeline({
      space,
      client: this.#clients.get(space),
      limiter,
      circuit,
      deadLetters: this.#deadLetters,
      history: new AttemptHistory(this.#connection, config.prefix),
      sendRecords: this.#sendRecords,
      retry: config.retry,
      ...(this.#o.hooks && { hooks: this.#o.hooks }),
      logger,
      ...(metrics && { metrics }),
      shutdown: this.#shutdown.signal,
      ...(this.#o.parkDelayMs !== undefined && { parkDelayMs: this.#o.parkDelayMs }),
      onOutcome: (outcome) => this.#counts[outcome]++,
    });
    const slots = new ParticipantSlots(
      this.#o.concurrency ?? config.concurrency,
      config.updatesPerJob,
    );
    const updates = new UpdatesProcessor({
      pipeline,
      slots,
      shutdown: this.#shutdown.signal,
      ...(this.#o.hooks?.withOutcome && { withOutcome: this.#o.hooks.withOutcome }),
      logger,
      ...(this.#o.parkDelayMs !== undefined && { parkDelayMs: this.#o.parkDelayMs }),
    });
    // The concurrency counts participants in flight; a chunk job carries up to
    // `updatesPerJob` of them, so the jobs BullMQ holds follow the free slots.
    this.#addWorker(
      updatesQueueName(space),
      updates.processor as Processor,
      Math.max(1, slots.jobsToHold()),
      (worker) => {
        worker.on('failed', (job, err) => void this.#onFailed(updates, job, err));
        // A worker started again by the stuck guard takes over the slots' count.
        worker.concurrency = Math.max(1, slots.jobsToHold());
        slots.onJobsToHold = (jobs) => {
          worker.concurrency = jobs;
        };
      },
    );
  }

  #addWorker(
    queueName: string,
    processor: Processor,
    concurrency: number,
    wire: (worker: Worker) => void = () => {},
  ): void {
    const { config } = this.#o;
    const stalled = resolveStalled(this.#o.stalled);
    const options: WorkerOptions = {
      connection: this.#connection,
      prefix: queuePrefix(config.prefix, queueName),
      name: WORKER_NAME,
      concurrency,
      lockDuration: stalled.lockDurationMs,
      stalledInterval: stalled.stalledIntervalMs,
      maxStalledCount: stalled.maxStalledCount,
      settings: { backoffStrategy: confbulkBackoffStrategy(config.retry) },
    };
    const guarded = new GuardedWorker(
      queueName,
      processor,
      options,
      (worker) => {
        worker.on('error', (err) => this.#health.error(err, queueName));
        worker.on('stalled', (jobId) =>
          this.#log.warn(
            { jobId, queue: queueName },
            'stalled job taken back (a worker died or blocked)',
          ),
        );
        wire(worker);
      },
      this.#log,
      this.#o.stuckGuard,
    );
    this.#guarded.push(guarded);
  }

  /** A participant job BullMQ gave up on (stalled too often, or dead-lettering itself failed). */
  async #onFailed(updates: UpdatesProcessor, job: Job | undefined, err: Error): Promise<void> {
    if (!job?.finishedOn) return;
    try {
      await updates.rescueFailed(job, err);
    } catch (rescueErr) {
      this.#log.error(
        { err: rescueErr, jobId: job.id },
        'could not dead-letter a failed job; it stays in the failed set',
      );
    }
  }

  get workers(): Worker[] {
    return this.#guarded.map((g) => g.worker);
  }

  async ready(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
    if (this.#started) this.#log.info(this.#started, 'workers started');
    this.#started = undefined;
  }

  outcomes(): OutcomeCounts {
    return { ...this.#counts };
  }

  close(timeoutMs?: number): Promise<void> {
    this.#closing ??= this.#close(timeoutMs ?? this.#o.config.shutdownTimeoutMs);
    return this.#closing;
  }

  async #close(timeoutMs: number): Promise<void> {
    // Closing the workers first stops them fetching; only then may waiting jobs park,
    // or each parked job would make room for a fresh one to park in turn.
    const workersClosed = Promise.allSettled(this.#guarded.map((g) => g.close()));
    this.#shutdown.abort();
    const finished = await withTimeout(workersClosed, timeoutMs);
    if (!finished) {
      this.#log.warn(
        { timeoutMs },
        'requests in flight did not finish in time; their jobs will be recovered as stalled',
      );
    }
    await closeAll(this.#log, [
      ...[...this.limiters.values()].map((l) => ['rate limiter', () => l.close()] as const),
      ...[...this.circuits.values()].map((c) => ['circuit breaker', () => c.close()] as const),
      ['dead letters', () => this.#deadLetters.close()],
      ['send records', () => this.#sendRecords.close()],
      ['API clients', () => (this.#o.clients ? Promise.resolve() : this.#clients.close())],
      ['subscriber connection', () => closeRedis(this.#subscriber)],
      ['connection', () => (this.#o.connection ? Promise.resolve() : closeRedis(this.#connection))],
    ]);
  }
}

/** Starts the workers and resolves once they are connected. */
export async function startWorkerRuntime(options: WorkerRuntimeOptions): Promise<WorkerRuntime> {
  const runtime = new Runtime(options);
  try {
    runtime.start();
    await runtime.ready();
  } catch (err) {
    await runtime.close(0).catch(() => {});
    throw err;
  }
  return runtime;
}
