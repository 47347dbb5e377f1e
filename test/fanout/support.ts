/**
 * The parts of a fan-out under test: a Fanout on the scene's Redis and mock space (its API
 * client optionally wrapped), and the space's updates queue, where its jobs stay to be
 * counted (no participant worker runs). `withFanoutParts` closes everything.
 */
import { Queue } from 'bullmq';
import { CompletionNotifier } from '../../src/batches/completion.js';
import { BatchStore } from '../../src/batches/store.js';
import { Fanout } from '../../src/fanout/fanout.js';
import { ParticipantQueues } from '../../src/jobs/enqueue.js';
import { ProducerKeys, queuePrefix } from '../../src/keys.js';
import { silentLogger } from '../../src/logger.js';
import { updatesQueueName } from '../../src/queues.js';
import type { ParticipantsApi } from '../../src/signalwire/api.js';
import { SignalWireClients } from '../../src/signalwire/clients.js';
import { WEBHOOKS_QUEUE } from '../../src/webhooks/webhooks.js';
import type { Scene } from '../producer/support.js';

export async function withFanoutParts<T>(
  scene: Scene,
  fn: (fanout: Fanout, updates: Queue) => Promise<T>,
  wrapApi: (api: ParticipantsApi) => ParticipantsApi = (api) => api,
): Promise<T> {
  const { redis, prefix, config } = scene;
  const keys = new ProducerKeys(prefix);
  const batches = new BatchStore({ redis, keys });
  const queues = new ParticipantQueues({ connection: redis, prefix, retry: config.retry });
  const clients = new SignalWireClients(config);
  const webhooks = new Queue(WEBHOOKS_QUEUE, {
    connection: redis,
    prefix: queuePrefix(prefix, WEBHOOKS_QUEUE),
  });
  const updates = new Queue(updatesQueueName('default'), {
    connection: redis,
    prefix: queuePrefix(prefix, updatesQueueName('default')),
  });
  const notifier = new CompletionNotifier({ redis, keys, batches, webhooks, logger: silentLogger });
  const fanout = new Fanout({
    batches,
    queues,
    api: (space) => wrapApi(clients.get(space)),
    notifier,
    logger: silentLogger,
  });
  try {
    return await fn(fanout, updates);
  } finally {
    await Promise.allSettled([
      updates.close(),
      webhooks.close(),
      queues.close(),
      clients.close(),
      notifier.close(),
    ]);
  }
}
