/**
 * Lua of "latest intent wins" at send time: which fields of a job a newer intent has taken
 * over, and the per-participant in-flight claims that keep requests for one participant
 * in intent order. Claims expire by Redis time, so clocks of worker machines do not matter.
 */
import { BatchScript, PROTECT } from '../../batches/lua/batch-script.js';

/**
 * For each job of a batch, in order: drops the fields a newer intent took over, then claims
 * the participant unless an older request for it is in flight. The jobs of one batch are
 * handled exactly as one call each would handle them, one after the other.
 *
 *   KEYS, first per conference (G of them, 11 each): its conference intents hash, then its
 *         participant intents hashes of Muted, Hold, HoldUrl, WaitUrl, Coaching, then its
 *         except sets of the same fields (ProducerKeys.conferenceExcept);
 *         then per job: the in-flight hash of its participant
 *   ARGV[1] claim TTL (ms), ARGV[2] G,
 *   then 6 per job: its conference (1..G), call SID, the job's intent, job id,
 *         mask of the job's fields ('11000' = Muted, Hold),
 *         '1' = do not wait for older claims (the wait is over)
 *
 * Returns per job 'superseded', 'wait:<ms until the oldest blocking claim expires>',
 * 'send:<mask of the fields still to send>', or an error reply.
 */
export const claimSendScript = new BatchScript(
  'claim-send',
  `${PROTECT}
local names = { 'Muted', 'Hold', 'HoldUrl', 'WaitUrl', 'Coaching' }
local ttl = tonumber(ARGV[1])
local conferences = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
-- No claim changes a conference intent: one read per conference serves the whole batch.
local conferenceIntents = {}

local function conferenceIntentsOf(g)
  local intents = conferenceIntents[g]
  if not intents then
    intents = {}
    local flat = redis.call('HGETALL', KEYS[11 * g - 10])
    for i = 1, #flat, 2 do intents[flat[i]] = flat[i + 1] end
    conferenceIntents[g] = intents
  end
  return intents
end

-- The mask of the fields no newer intent took over, and whether the job sets any field.
local function keptFields(g, callSid, version, mask)
  local kept, any = '', false
  for f = 1, 5 do
    local keep = '0'
    if string.byte(mask, f) == 49 then
      any = true
      local newer = tonumber(redis.call('HGET', KEYS[11 * g - 10 + f], callSid) or '0') > version
      if not newer then
        local conference = conferenceIntentsOf(g)
        if tonumber(conference[names[f]] or '0') > version then
          local batchId = conference[names[f] .. ':b']
          -- The except set of field f is that of the batch holding it (batchId).
          newer = not batchId or redis.call('SISMEMBER', KEYS[11 * g - 5 + f], callSid) == 0
        end
      end
      if not newer then keep = '1' end
    end
    kept = kept .. keep
  end
  return kept, any
end

-- Claims the participant; returns -1, or how long to wait for an older claim.
local function claim(inFlightKey, intent, jobId, force)
  local version = tonumber(intent)
  local holders = redis.call('HGETALL', inFlightKey)
  local waitMs = -1
  for i = 1, #holders, 2 do
    if holders[i] ~= jobId then
      local sep = string.find(holders[i + 1], ':', 1, true)
      local theirs = tonumber(string.sub(holders[i + 1], 1, sep - 1))
      local expires = tonumber(string.sub(holders[i + 1], sep + 1))
      if expires <= now then
        redis.call('HDEL', inFlightKey, holders[i])
      elseif theirs < version and not force and (waitMs < 0 or expires - now < waitMs) then
        waitMs = expires - now
      end
    end
  end
  if waitMs >= 0 then return waitMs end
  redis.call('HSET', inFlightKey, jobId, intent .. ':' .. (now + ttl))
  -- A hash that held nobody is new (its last holder's release deleted it).
  if #holders == 0 or redis.call('PTTL', inFlightKey) < ttl then
    redis.call('PEXPIRE', inFlightKey, ttl)
  end
  return -1
end

local function claimSend(j, a)
  local g, callSid, intent, jobId = tonumber(ARGV[a]), ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local kept, any = keptFields(g, callSid, tonumber(intent), ARGV[a + 4])
  if any and not string.find(kept, '1', 1, true) then return 'superseded' end
  local waitMs = claim(KEYS[11 * conferences + j], intent, jobId, ARGV[a + 5] == '1')
  if waitMs >= 0 then return 'wait:' .. waitMs end
  return 'send:' .. kept
end

local replies = {}
for a = 3, #ARGV, 6 do
  local j = #replies + 1
  replies[j] = protect(claimSend, j, a)
end
return replies
`,
);
