/**
 * What the HTTP API works with. Routes receive these as plugin options (no globals), and
 * tests or other processes can hand in their own.
 */
import type { ConfbulkConfig } from '../config.js';
import type { DeadLetters } from '../dead-letters/dead-letters.js';
import type { Metrics } from '../metrics.js';
import type { Confbulk } from '../types.js';
import type { TokenStore } from '../auth/tokens.js';

/** The dead-letter operations the API exposes. */
export type DeadLetterStore = Pick<DeadLetters, 'list' | 'count' | 'get' | 'replay' | 'purge'>;

export interface ApiDependencies {
  config: ConfbulkConfig;
  confbulk: Confbulk;
  deadLetters: DeadLetterStore;
  /** The process's metrics registry, for a `/metrics` plugin. */
  metrics?: Metrics;
  /** Scoped API tokens; without it only the bootstrap token works and `/v1/tokens` is absent. */
  tokens?: TokenStore;
}

/** A dead-letter store with the connection and queues it needs, and how to close them. */
export interface OpenDeadLetters {
  deadLetters: DeadLetters;
  close(): Promise<void>;
}

/** Opens the dead-letter store (with replay) on the configured Redis. */
export async function openDeadLetters(config: ConfbulkConfig): Promise<OpenDeadLetters> {
  const [{ connectForCommand }, { ParticipantQueues }, { DeadLetters }] = await Promise.all([
    import('../queues.js'),
    import('../jobs/enqueue.js'),
    import('../dead-letters/dead-letters.js'),
  ]);
  const connection = await connectForCommand(config);
  const queues = new ParticipantQueues({ connection, prefix: config.prefix, retry: config.retry });
  const deadLetters = new DeadLetters({ connection, prefix: config.prefix, queues });
  let closing: Promise<void> | undefined;
  return {
    deadLetters,
    close() {
      closing ??= (async () => {
        const results = await Promise.allSettled([deadLetters.close(), queues.close()]);
        connection.disconnect();
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      })();
      return closing;
    },
  };
}
