/**
 * Lua scripts of batches: creation (with idempotency and the conference-wide intent, in one
 * step so that neither exists without the batch), fan-out progress, outcomes counted once
 * per job, and the end of a batch.
 */
import { LuaScript } from '../../worker/lua/script.js';
import { BatchScript, PROTECT } from './batch-script.js';
import { COMPLETE_IF_DONE, FIELD_KEYS, RECORD_CONFERENCE_INTENT, SPLIT } from './snippets.js';

/**
 * Creates a batch unless its idempotency key names a batch that still exists. The caller
 * reads the idempotency key first and passes the batch it named (a key a script touches
 * is declared in KEYS, as Redis Cluster wants); when the key changed in between, the
 * script does nothing and replies {-1}, and the caller reads it again.
 *
 *   KEYS[1] batch hash          KEYS[4] idempotency key
 *   KEYS[2] intent counter      KEYS[5] conference intents hash (unused when ARGV[7] is '')
 *   KEYS[3] batch index         KEYS[6] hash of the batch the idempotency key named
 *   KEYS[7..11] the conference's except sets of each INTENT_FIELDS entry
 *   ARGV[1] batch id            ARGV[5] id the idempotency key named when read, '' = none
 *   ARGV[2] now (ms)            ARGV[6] intent TTL (ms)
 *   ARGV[3] idempotency TTL (ms), '0' = no key
 *   ARGV[4] index retention (ms)
 *   ARGV[7] comma-separated conference-wide intent fields, '' = none
 *   ARGV[8] n = number of except call SIDs, ARGV[9 .. 8+n] the SIDs
 *   ARGV[9+n ..] batch hash field/value pairs
 *
 * Returns {1, id, intent} when created, {0, existingId} when the key named a batch, {-1}
 * when the idempotency key no longer names ARGV[5].
 */
export const createBatchScript = new LuaScript(
  'create-batch',
  `${FIELD_KEYS}${RECORD_CONFERENCE_INTENT}${SPLIT}
if ARGV[3] ~= '0' then
  local existing = redis.call('GET', KEYS[4]) or ''
  if existing ~= ARGV[5] then return {-1} end
  if existing ~= '' and redis.call('EXISTS', KEYS[6]) == 1 then return {0, existing} end
end
local version = redis.call('INCR', KEYS[2])
local n = tonumber(ARGV[8])
local fields = {}
for i = 9 + n, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], 'intent', version, unpack(fields))
redis.call('PEXPIRE', KEYS[1], ARGV[6])
local now = tonumber(ARGV[2])
redis.call('ZADD', KEYS[3], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[4]))
if ARGV[3] ~= '0' then redis.call('SET', KEYS[4], ARGV[1], 'PX', ARGV[3]) end
if ARGV[7] ~= '' then
  local except = {}
  for i = 9, 8 + n do except[#except + 1] = ARGV[i] end
  recordConferenceIntent(KEYS[5], fieldKeys(7), ARGV[1], version, split(ARGV[7], ','), except, ARGV[6])
end
return {1, ARGV[1], version}
`,
  11,
);

/**
 * Adds one chunk of participants to a listing batch, first recording their intents (so a
 * job is never sent before the intent that would supersede an older one exists).
 *
 *   KEYS[1] batch hash, KEYS[2] members set, KEYS[3..7] participant intents of
 *   Muted, Hold, HoldUrl, WaitUrl, Coaching
 *   ARGV[1] intent version, ARGV[2] field mask ('10000' = Muted only), ARGV[3] intent TTL (ms),
 *   ARGV[4..] call SIDs
 *
 * Returns the batch's total so far, or -1 when the batch is no longer listing.
 */
export const addMembersScript = new LuaScript(
  'add-members',
  `
if redis.call('HGET', KEYS[1], 'state') ~= 'listing' then return -1 end
local version = tonumber(ARGV[1])
for f = 1, 5 do
  if string.sub(ARGV[2], f, f) == '1' then
    local key = KEYS[2 + f]
    for i = 4, #ARGV do
      local current = tonumber(redis.call('HGET', key, ARGV[i]) or '0')
      if current < version then redis.call('HSET', key, ARGV[i], version) end
    end
    redis.call('PEXPIRE', key, ARGV[3])
  end
end
for i = 4, #ARGV, 1000 do
  redis.call('SADD', KEYS[2], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
local total = redis.call('SCARD', KEYS[2])
redis.call('HSET', KEYS[1], 'total', total)
return total
`,
  7,
);

/**
 * Records a conference-wide intent once a conference name is resolved.
 *
 *   KEYS[1] batch hash, KEYS[2] conference intents hash,
 *   KEYS[3..7] the conference's except sets of each INTENT_FIELDS entry
 *   ARGV[1] batch id, ARGV[2] intent TTL (ms), ARGV[3] comma-separated fields, ARGV[4..] except SIDs
 */
export const recordConferenceIntentScript = new LuaScript(
  'record-conference-intent',
  `${FIELD_KEYS}${RECORD_CONFERENCE_INTENT}${SPLIT}
if redis.call('HGET', KEYS[1], 'state') ~= 'listing' then return 0 end
local version = tonumber(redis.call('HGET', KEYS[1], 'intent'))
local except = {}
for i = 4, #ARGV do except[#except + 1] = ARGV[i] end
return recordConferenceIntent(KEYS[2], fieldKeys(3), ARGV[1], version, split(ARGV[3], ','), except, ARGV[2])
`,
  7,
);

/**
 * Ends the listing: the total becomes final and the batch runs (or completes at once when
 * every job already ended, e.g. nobody was listed).
 *
 *   KEYS[1] batch hash, KEYS[2] members set, KEYS[3] completions set, KEYS[4] outcomes hash
 *   ARGV[1] batch id, ARGV[2] now (ISO), ARGV[3] now (ms), ARGV[4] retention (ms),
 *   ARGV[5] how long the members set is kept (ms): a batch whose jobs a failover lost is
 *   queued again from it (src/batches/repair.ts)
 *
 * Returns {1, completed 0|1} or {0, state} when the batch was not listing.
 */
export const finishListingScript = new LuaScript(
  'finish-listing',
  `${COMPLETE_IF_DONE}
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'listing' then return {0, state or ''} end
local total = redis.call('SCARD', KEYS[2])
redis.call('HSET', KEYS[1], 'total', total, 'state', 'running')
redis.call('HSETNX', KEYS[1], 'startedAt', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return {1, completeIfDone(KEYS[1], KEYS[4], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4])}
`,
  4,
);

/**
 * Records the terminal outcomes of a batch of jobs, each once per job key, and releases
 * each job's in-flight claim in the same step (the request is over). A job key counts
 * again only after a dead-letter replay made it pending (\`replaying:<id>\`, see
 * take-dead-letter); a replay of a replay has the same key, so the counts always sum to
 * the total. The counters of a batch hash move once per call, however many of its jobs the
 * call carries, and the last outcome of a batch completes it.
 *
 *   KEYS[1] completions set; then per batch (B of them): its hash and its outcomes hash;
 *           then per job that holds a claim, in job order: the participant's in-flight hash
 *   ARGV[1] now (ISO), ARGV[2] now (ms), ARGV[3] retention (ms), ARGV[4] outcomes TTL (ms),
 *   ARGV[5] B, ARGV[6 .. 5+B] the batch ids,
 *   then 4 per job: its batch (1..B), job key, outcome, claim holder ('' = no claim)
 *
 * Returns per job -1 (unknown batch), 0 (already recorded), 1 (recorded), 2 (recorded, and
 * it completed the batch), or an error reply.
 */
export const recordOutcomesScript = new BatchScript(
  'record-outcomes',
  `${COMPLETE_IF_DONE}${PROTECT}
local counters = { succeeded = 'succeeded', gone = 'gone', superseded = 'superseded', dead_lettered = 'deadLettered' }
local batchCount = tonumber(ARGV[5])
-- Per batch: whether it exists, counter deltas, and the job whose outcome was recorded last
-- (the one told when the batch completes).
local batches = {}
local replies = {}

local function batchOf(b)
  local state = batches[b]
  if not state then
    state = { exists = redis.call('EXISTS', KEYS[2 * b]) == 1, deltas = {} }
    batches[b] = state
  end
  return state
end

local function add(state, counter, n)
  state.deltas[counter] = (state.deltas[counter] or 0) + n
end

local function record(j, a, claimKey)
  if claimKey then redis.call('HDEL', claimKey, ARGV[a + 3]) end
  local b = tonumber(ARGV[a])
  local state = batchOf(b)
  if not state.exists then return -1 end
  local key, outcome, outcomesKey = ARGV[a + 1], ARGV[a + 2], KEYS[2 * b + 1]
  local counter = counters[outcome]
  if not counter then return redis.error_reply('unknown outcome ' .. outcome) end
  if redis.call('HSETNX', outcomesKey, key, outcome) == 0 then
    -- Recorded already; only a pending replay (take-dead-letter) may record it again.
    local previous = redis.call('HGET', outcomesKey, key)
    if string.sub(previous, 1, 10) ~= 'replaying:' then return 0 end
    redis.call('HSET', outcomesKey, key, outcome)
  end
  add(state, 'terminal', 1)
  add(state, counter, 1)
  state.last = j
  return 1
end

local claims = 2 * batchCount + 1
for a = 6 + batchCount, #ARGV, 4 do
  local j = #replies + 1
  local claimKey = nil
  if ARGV[a + 3] ~= '' then
    claims = claims + 1
    claimKey = KEYS[claims]
  end
  replies[j] = protect(record, j, a, claimKey)
end

for b, state in pairs(batches) do
  if state.last then
    local batchKey = KEYS[2 * b]
    for counter, n in pairs(state.deltas) do
      if n ~= 0 then redis.call('HINCRBY', batchKey, counter, n) end
    end
    if redis.call('PTTL', KEYS[2 * b + 1]) < 0 then redis.call('PEXPIRE', KEYS[2 * b + 1], ARGV[4]) end
    if completeIfDone(batchKey, KEYS[2 * b + 1], KEYS[1], ARGV[5 + b], ARGV[1], ARGV[2], ARGV[3]) == 1 then
      replies[state.last] = 2
    end
  end
end
return replies
`,
);

/**
 * Fails a batch that has not ended, and withdraws its conference-wide intents (older jobs
 * must not be superseded by a batch that will not send anything more).
 *
 *   KEYS[1] batch hash, KEYS[2] completions set, KEYS[3] conference intents hash,
 *   KEYS[4] members set, KEYS[5..9] the conference's except sets of each INTENT_FIELDS entry
 *   ARGV[1] batch id, ARGV[2] reason, ARGV[3] now (ISO), ARGV[4] now (ms), ARGV[5] retention (ms),
 *   ARGV[6..] intent fields the batch set
 *
 * Returns 1 when the batch was failed, 0 when it had already ended or does not exist.
 */
export const failBatchScript = new LuaScript(
  'fail-batch',
  `${FIELD_KEYS}
local state = redis.call('HGET', KEYS[1], 'state')
if not state or state == 'completed' or state == 'failed' then return 0 end
if state == 'listing' then redis.call('HSET', KEYS[1], 'total', redis.call('SCARD', KEYS[4])) end
redis.call('HSET', KEYS[1], 'state', 'failed', 'error', ARGV[2], 'finishedAt', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('DEL', KEYS[4])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
local exceptKeys = fieldKeys(5)
for i = 6, #ARGV do
  if redis.call('HGET', KEYS[3], ARGV[i] .. ':b') == ARGV[1] then
    redis.call('HDEL', KEYS[3], ARGV[i], ARGV[i] .. ':b')
    redis.call('DEL', exceptKeys[ARGV[i]])
  end
end
return 1
`,
  9,
);

/**
 * Leases ended batches whose notification is overdue (the process that ended them died),
 * so that one sweeper handles each.
 *
 *   KEYS[1] completions set
 *   ARGV[1] overdue before (ms), ARGV[2] now (ms), ARGV[3] at most this many
 */
export const claimCompletionsScript = new LuaScript(
  'claim-completions',
  `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return ids
`,
  1,
);
