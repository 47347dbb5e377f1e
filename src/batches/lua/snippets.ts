/**
 * Lua functions shared by several batch and intent scripts, pasted in front of a script's body.
 */

/**
 * `recordConferenceIntent(confKey, exceptKey, batchId, version, fields, except, ttlMs)`:
 * max wins per field; the batch's `except` set goes with the intent, because a newer
 * conference-wide intent does not supersede the participants it leaves alone.
 */
export const RECORD_CONFERENCE_INTENT = `
local function recordConferenceIntent(confKey, exceptKey, batchId, version, fields, except, ttlMs)
  local wrote = false
  for _, field in ipairs(fields) do
    local current = tonumber(redis.call('HGET', confKey, field) or '0')
    if current < version then
      redis.call('HSET', confKey, field, version, field .. ':b', batchId)
      wrote = true
    end
  end
  if not wrote then return 0 end
  for i = 1, #except, 1000 do
    redis.call('SADD', exceptKey, unpack(except, i, math.min(i + 999, #except)))
  end
  redis.call('PEXPIRE', confKey, ttlMs)
  if #except > 0 then redis.call('PEXPIRE', exceptKey, ttlMs) end
  return 1
end
`;

/**
 * \`completeIfDone(batchKey, completionsKey, batchId, nowIso, nowMs, retentionMs)\`: a running
 * batch whose every job is terminal becomes completed, and is queued for its event and
 * webhook (the completions set survives a crash between this script and the notification).
 */
export const COMPLETE_IF_DONE = `
local function completeIfDone(batchKey, completionsKey, batchId, nowIso, nowMs, retentionMs)
  local h = redis.call('HMGET', batchKey, 'state', 'total', 'terminal')
  if h[1] ~= 'running' or tonumber(h[3] or '0') < tonumber(h[2] or '0') then return 0 end
  redis.call('HSET', batchKey, 'state', 'completed', 'finishedAt', nowIso)
  redis.call('ZADD', completionsKey, nowMs, batchId)
  redis.call('PEXPIRE', batchKey, retentionMs)
  redis.call('PEXPIRE', batchKey .. ':outcomes', retentionMs)
  return 1
end
`;

/** `split(text, sep)`: the non-empty parts of `text`. */
export const SPLIT = `
local function split(text, sep)
  local parts = {}
  for part in string.gmatch(text, '[^' .. sep .. ']+') do parts[#parts + 1] = part end
  return parts
end
`;
