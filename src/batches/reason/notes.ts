/**
 * Notes the workers leave on a batch's hash for its reason: the last listing failure and
 * the state of its completion webhook. Written only while the batch exists (a note never
 * brings back an expired batch), read with the batch.
 */
import type { RedisConnection } from '../../queues.js';
import type { ProducerKeys } from '../../keys.js';
import type { ListingNote } from './explain.js';
import type { WebhookState } from './types.js';
import { LuaScript } from '../../worker/lua/script.js';

const LISTING_FIELDS = [
  'listingError',
  'listingErrorAt',
  'listingErrorSince',
  'listingAttempt',
  'listingAttempts',
] as const;
const WEBHOOK_FIELDS = ['webhookState', 'webhookMessage', 'webhookAt'] as const;

/** HSET on a hash only if it exists; KEYS[1] the hash, ARGV field/value pairs. */
export const hsetIfExistsScript = new LuaScript(
  'hset-if-exists',
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1`,
  1,
);

async function hsetIfExists(
  redis: RedisConnection,
  key: string,
  fields: Record<string, string>,
): Promise<void> {
  await hsetIfExistsScript.run(redis, [key], Object.entries(fields).flat());
}

/** Records a failed listing attempt (`attempt` counts from 1). */
export async function noteListingError(
  redis: RedisConnection,
  keys: ProducerKeys,
  batchId: string,
  note: Omit<ListingNote, 'since'>,
): Promise<void> {
  const key = keys.batch(batchId);
  const since =
    note.attempt === 1 ? note.at : Number((await redis.hget(key, 'listingErrorSince')) ?? note.at);
  await hsetIfExists(redis, key, {
    listingError: note.message,
    listingErrorAt: String(note.at),
    listingErrorSince: String(since),
    listingAttempt: String(note.attempt),
    listingAttempts: String(note.attempts),
  });
}

/** The last listing failure noted on a batch. */
export async function readListingNote(
  redis: RedisConnection,
  keys: ProducerKeys,
  batchId: string,
): Promise<ListingNote | undefined> {
  const [message, at, since, attempt, attempts] = await redis.hmget(
    keys.batch(batchId),
    ...LISTING_FIELDS,
  );
  if (!message) return undefined;
  return {
    message,
    at: Number(at),
    since: Number(since ?? at),
    attempt: Number(attempt),
    attempts: Number(attempts),
  };
}

/** Records the state of a batch's completion webhook. */
export async function noteWebhook(
  redis: RedisConnection,
  keys: ProducerKeys,
  batchId: string,
  state: WebhookState,
): Promise<void> {
  await hsetIfExists(redis, keys.batch(batchId), {
    webhookState: state.state,
    webhookMessage: state.message ?? '',
    webhookAt: state.at,
  });
}

/** The webhook state noted on a batch, if any. */
export async function readWebhookNote(
  redis: RedisConnection,
  keys: ProducerKeys,
  batchId: string,
): Promise<WebhookState | undefined> {
  const [state, message, at] = await redis.hmget(keys.batch(batchId), ...WEBHOOK_FIELDS);
  if (!state) return undefined;
  return {
    state: state as WebhookState['state'],
    ...(message && { message }),
    at: at ?? '',
  };
}
