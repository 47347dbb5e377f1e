/**
 * Lua of dead-letter replays: the step that takes an entry (the commit point of a replay),
 * and the removal of an outbox record once its job is known to be enqueued.
 */
import { LuaScript } from '../worker/lua/script.js';

/**
 * Takes a dead letter for replay: removes the entry from the dead-letter queue, fixes the
 * replay job's id (`<original job key>.r<n>`, n counting the replays of that key), records
 * the job in the replays hash (the outbox its enqueueing works from) and makes the key
 * pending again in its batch: the count of its previous outcome goes down, the outcome
 * becomes `replaying:<replay job id>`, and a completed batch runs again until the replay
 * ends. Of concurrent takes of one entry, exactly one finds it in the queue.
 *
 *   KEYS[1] dead-letter wait list, KEYS[2] dead-letter paused list,
 *   KEYS[3] the entry's job hash, KEYS[4] its logs list,
 *   KEYS[5] batch hash, KEYS[6] batch outcomes hash, KEYS[7] batch replay counters,
 *   KEYS[8] replays hash
 *   ARGV[1] entry id, ARGV[2] original job key, ARGV[3] the job (outbox JSON, without id),
 *   ARGV[4] TTL of the replay counters (ms)
 *
 * Returns the outbox record, `<replay job id> <JSON>`, when taken; 0 when the entry was not
 * in the queue (taken by someone else).
 */
export const takeDeadLetterScript = new LuaScript(
  'take-dead-letter',
  `
local removed = redis.call('LREM', KEYS[1], 0, ARGV[1]) + redis.call('LREM', KEYS[2], 0, ARGV[1])
if removed == 0 then return 0 end
redis.call('DEL', KEYS[3], KEYS[4])
local id = ARGV[2] .. '.r' .. redis.call('HINCRBY', KEYS[7], ARGV[2], 1)
redis.call('PEXPIRE', KEYS[7], ARGV[4])
local record = id .. ' ' .. ARGV[3]
redis.call('HSET', KEYS[8], ARGV[2], record)
if redis.call('EXISTS', KEYS[5]) == 1 then
  local counters = { succeeded = 'succeeded', gone = 'gone', superseded = 'superseded', dead_lettered = 'deadLettered' }
  local previous = redis.call('HGET', KEYS[6], ARGV[2])
  local counter = previous and counters[previous]
  if counter then
    redis.call('HINCRBY', KEYS[5], counter, -1)
    redis.call('HINCRBY', KEYS[5], 'terminal', -1)
  end
  redis.call('HSET', KEYS[6], ARGV[2], 'replaying:' .. id)
  if redis.call('HGET', KEYS[5], 'state') == 'completed' then
    redis.call('HSET', KEYS[5], 'state', 'running')
    redis.call('HDEL', KEYS[5], 'finishedAt')
  end
end
return record
`,
  8,
);

/**
 * Drops an outbox record if it is still the given one (a later replay of the same job key
 * may have replaced it).
 *
 *   KEYS[1] replays hash
 *   ARGV[1] original job key, ARGV[2] the record
 */
export const forgetReplayScript = new LuaScript(
  'forget-replay',
  `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
`,
  1,
);

/**
 * Removes a dead letter (a purge): from the queue's lists, with its hash and logs.
 *
 *   KEYS[1] dead-letter wait list, KEYS[2] dead-letter paused list,
 *   KEYS[3] the entry's job hash, KEYS[4] its logs list
 *   ARGV[1] entry id
 *
 * Returns 1 when it was there, 0 when not (BullMQ's own remove answers 1 either way).
 */
export const removeDeadLetterScript = new LuaScript(
  'remove-dead-letter',
  `
local removed = redis.call('LREM', KEYS[1], 0, ARGV[1]) + redis.call('LREM', KEYS[2], 0, ARGV[1])
redis.call('DEL', KEYS[3], KEYS[4])
if removed > 0 then return 1 end
return 0
`,
  4,
);
