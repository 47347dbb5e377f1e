/**
 * What a worker opens before it says it is ready, so that the first batch after a start
 * does not pay for it on its way to the first update:
 *
 * - each space's updates queue (the fan-out enqueues into it; a BullMQ queue reads the
 *   server's version and writes its meta when it first connects);
 * - one request to each space's API, `GET .../Conferences.json?Status=in-progress&PageSize=1`
 *   (a read; SignalWire counts only POST/PUT/PATCH against its limit): undici compiles its
 *   HTTP parser and opens the pool's first keep-alive connection (TCP, and the TLS handshake
 *   over https) on a client's first request, and the client's code runs once.
 *
 * Bounded by `timeoutMs` per space. A failure is one warning line per space and does not
 * stop the start: the jobs meet the same answer later and handle it as they would anyway
 * (a 401 pauses the space, an outage opens its circuit). The connection itself stays open
 * only for the pool's keep-alive time; what lasts is the one-time set-up.
 */
import type { ParticipantQueues } from '../jobs/enqueue.js';
import type { Logger } from '../logger.js';
import type { SignalWireClients } from '../signalwire/clients.js';
import { withTimeout } from './shutdown.js';

export interface WarmUpOptions {
  spaces: readonly string[];
  queues: ParticipantQueues;
  clients: SignalWireClients;
  logger: Logger;
  /** @defaultValue 2000 */
  timeoutMs?: number;
}

async function warmQueue(queues: ParticipantQueues, space: string, timeoutMs: number) {
  if (!(await withTimeout(queues.queue(space).waitUntilReady(), timeoutMs))) {
    throw new Error(`the updates queue was not ready within ${timeoutMs} ms`);
  }
}

async function warmApi(clients: SignalWireClients, space: string, timeoutMs: number) {
  const conferences = clients.get(space).listConferences({
    status: 'in-progress',
    pageSize: 1,
    signal: AbortSignal.timeout(timeoutMs),
  });
  // The first page is the request; nothing after it is needed.
  for await (const _conference of conferences) break;
}

/** Opens each space's updates queue and API connection; never throws. */
export async function warmUp(o: WarmUpOptions): Promise<void> {
  const timeoutMs = o.timeoutMs ?? 2000;
  await Promise.all(
    o.spaces.map(async (space) => {
      const [queue, api] = await Promise.allSettled([
        warmQueue(o.queues, space, timeoutMs),
        warmApi(o.clients, space, timeoutMs),
      ]);
      const failed = [queue, api].find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        o.logger.warn(
          { space, err: (failed.reason as Error).message },
          'warm-up at start failed; the first requests set up their own connections',
        );
      }
    }),
  );
}
