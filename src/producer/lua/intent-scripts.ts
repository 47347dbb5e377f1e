/**
 * Lua of "latest intent wins" at send time: which fields of a job a newer intent has taken
 * over, and the per-participant in-flight claims that keep requests for one participant
 * in intent order. Claims expire by Redis time, so clocks of worker machines do not matter.
 */
import { LuaScript } from '../../worker/lua/script.js';

/**
 *   KEYS[1] conference intents hash, KEYS[2] in-flight hash of the participant,
 *   KEYS[3..7] participant intents of Muted, Hold, HoldUrl, WaitUrl, Coaching
 *   ARGV[1] call SID, ARGV[2] the job's intent, ARGV[3] job id, ARGV[4] claim TTL (ms),
 *   ARGV[5] prefix of batch hashes, ARGV[6] mask of the job's fields ('11000' = Muted, Hold),
 *   ARGV[7] '1' = do not wait for older claims (the wait is over)
 *
 * Returns {'superseded'}, {'wait', ms until the oldest blocking claim expires}, or
 * {'send', mask of the fields still to send}.
 */
export const claimSendScript = new LuaScript(
  'claim-send',
  `
local names = { 'Muted', 'Hold', 'HoldUrl', 'WaitUrl', 'Coaching' }
local callSid = ARGV[1]
local version = tonumber(ARGV[2])
local kept, any, keptAny = '', false, false
for f = 1, 5 do
  local keep = '0'
  if string.sub(ARGV[6], f, f) == '1' then
    any = true
    local newer = tonumber(redis.call('HGET', KEYS[2 + f], callSid) or '0') > version
    if not newer and tonumber(redis.call('HGET', KEYS[1], names[f]) or '0') > version then
      local batchId = redis.call('HGET', KEYS[1], names[f] .. ':b')
      newer = not batchId or redis.call('SISMEMBER', ARGV[5] .. batchId .. ':except', callSid) == 0
    end
    if not newer then keep = '1'; keptAny = true end
  end
  kept = kept .. keep
end
if any and not keptAny then return { 'superseded' } end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl = tonumber(ARGV[4])
local holders = redis.call('HGETALL', KEYS[2])
local waitMs = -1
for i = 1, #holders, 2 do
  if holders[i] ~= ARGV[3] then
    local sep = string.find(holders[i + 1], ':', 1, true)
    local theirs = tonumber(string.sub(holders[i + 1], 1, sep - 1))
    local expires = tonumber(string.sub(holders[i + 1], sep + 1))
    if expires <= now then
      redis.call('HDEL', KEYS[2], holders[i])
    elseif theirs < version and ARGV[7] ~= '1' and (waitMs < 0 or expires - now < waitMs) then
      waitMs = expires - now
    end
  end
end
if waitMs >= 0 then return { 'wait', waitMs } end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[2] .. ':' .. (now + ttl))
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return { 'send', kept }
`,
  7,
);
