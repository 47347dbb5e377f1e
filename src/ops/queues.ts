/**
 * The queues operators look at: the updates queue of every configured space, the fan-out,
 * the schedules, the completion webhooks and the dead letters. Opened on one shared (non-blocking) connection for
 * `/metrics` gauges, readiness checks and the dashboard; nothing here consumes jobs.
 */
import { Queue } from 'bullmq';
import { DEFAULT_PREFIX, queuePrefix } from '../keys.js';
import type { RedisConnection } from '../queues.js';
import { QUEUE_NAMES, quietQueue, updatesQueueName } from '../queues.js';

export interface OpsQueuesOptions {
  /** A connection this module does not close. */
  connection: RedisConnection;
  /** CONFBULK_PREFIX (src/keys.ts gives each queue its hash tag). @defaultValue `confbulk` */
  prefix?: string;
  /** Space profile names; one updates queue each. */
  spaces: string[];
}

export interface OpsQueues {
  /** `updates.<space>` for each space, in the order given. */
  updates: Queue[];
  fanout: Queue;
  schedules: Queue;
  webhooks: Queue;
  deadLetters: Queue;
  /** Every queue above: updates first, then fan-out, schedules, webhooks, dead letters. */
  all: Queue[];
  /** Closes the queues (not the shared connection). Idempotent. */
  close(): Promise<void>;
}

/** Opens (without creating anything in Redis) the queues named in the module comment. */
export function openOpsQueues(options: OpsQueuesOptions): OpsQueues {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const open = (name: string): Queue =>
    quietQueue(
      new Queue(name, { connection: options.connection, prefix: queuePrefix(prefix, name) }),
    );
  const updates = [...new Set(options.spaces)].map((space) => open(updatesQueueName(space)));
  const fanout = open(QUEUE_NAMES.fanout);
  const schedules = open(QUEUE_NAMES.schedules);
  const webhooks = open(QUEUE_NAMES.webhooks);
  const deadLetters = open(QUEUE_NAMES.deadLetters);
  const all = [...updates, fanout, schedules, webhooks, deadLetters];
  let closing: Promise<void> | undefined;
  return {
    updates,
    fanout,
    schedules,
    webhooks,
    deadLetters,
    all,
    close() {
      closing ??= Promise.allSettled(all.map((q) => q.close())).then(() => undefined);
      return closing;
    },
  };
}

/**
 * A readiness check for the API: true when at least one worker process is connected to
 * one of `queues` (BullMQ names worker connections with CLIENT SETNAME and finds them
 * with CLIENT LIST).
 */
export function workersRegisteredOn(queues: Queue[]): () => Promise<boolean> {
  return async () => {
    const counts = await Promise.all(queues.map((q) => q.getWorkersCount()));
    return counts.some((n) => n > 0);
  };
}
