/**
 * Lua functions shared by several batch and intent scripts, pasted in front of a script's body.
 */
import { INTENT_FIELDS } from '../../keys.js';

/**
 * `fieldKeys(first)`: KEYS[first ..] of the INTENT_FIELDS, one each in that order, as a
 * table by field name (e.g. the conference's except sets).
 */
export const FIELD_KEYS = `
local function fieldKeys(first)
  return { ${INTENT_FIELDS.map((field, i) => `${field} = KEYS[first + ${i}]`).join(', ')} }
end
`;

/**
 * `recordConferenceIntent(confKey, exceptKeys, batchId, version, fields, except, ttlMs)`:
 * max wins per field; the batch's `except` set goes with the intent, because a newer
 * conference-wide intent does not supersede the participants it leaves alone. Each field
 * has its own except set (`exceptKeys[field]`, see fieldKeys), holding the except list of
 * the batch that holds the field, so a script reading it knows its key in advance.
 */
export const RECORD_CONFERENCE_INTENT = `
local function recordConferenceIntent(confKey, exceptKeys, batchId, version, fields, except, ttlMs)
  local wrote = false
  for _, field in ipairs(fields) do
    local current = tonumber(redis.call('HGET', confKey, field) or '0')
    if current < version then
      redis.call('HSET', confKey, field, version, field .. ':b', batchId)
      local exceptKey = exceptKeys[field]
      redis.call('DEL', exceptKey)
      for i = 1, #except, 1000 do
        redis.call('SADD', exceptKey, unpack(except, i, math.min(i + 999, #except)))
      end
      if #except > 0 then redis.call('PEXPIRE', exceptKey, ttlMs) end
      wrote = true
    end
  end
  if not wrote then return 0 end
  redis.call('PEXPIRE', confKey, ttlMs)
  return 1
end
`;

/**
 * \`completeIfDone(batchKey, outcomesKey, completionsKey, batchId, nowIso, nowMs, retentionMs)\`: a running
 * batch whose every job is terminal becomes completed, and is queued for its event and
 * webhook (the completions set survives a crash between this script and the notification).
 */
export const COMPLETE_IF_DONE = `
local function completeIfDone(batchKey, outcomesKey, completionsKey, batchId, nowIso, nowMs, retentionMs)
  local h = redis.call('HMGET', batchKey, 'state', 'total', 'terminal')
  if h[1] ~= 'running' or tonumber(h[3] or '0') < tonumber(h[2] or '0') then return 0 end
  redis.call('HSET', batchKey, 'state', 'completed', 'finishedAt', nowIso)
  redis.call('ZADD', completionsKey, nowMs, batchId)
  redis.call('PEXPIRE', batchKey, retentionMs)
  redis.call('PEXPIRE', outcomesKey, retentionMs)
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
