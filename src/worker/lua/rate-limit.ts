/**
 * Lua of the per-space rate limiter (see src/worker/rate-limiter.ts for the design).
 *
 * State of one space, in one hash:
 *   tat              theoretical arrival time: the slot after the last one handed out (ms)
 *   pausedUntil      no slot starts before this (429, Retry-After, exhausted headers)
 *   factor, factorAt rate factor after the last 429 episode and when it was set; it
 *                    recovers linearly from the end of that episode's pause
 *   streak           consecutive 429 episodes (reset by the first success after one)
 *   serverCount, serverCountUntil   a lower count learned from the server's headers
 * Times are Redis `TIME` in fractional milliseconds, so process clocks never matter.
 * Numbers are returned as strings because Lua numbers become integer replies.
 */
import { LuaScript } from './script.js';

/** Shared prologue: `now` and the rate factor recovered up to `now`. */
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local function recovered(factor, factorAt, paused, perSecond)
  if factor >= 1 then return 1 end
  local since = now - math.max(factorAt, paused)
  if since <= 0 then return factor end
  return math.min(1, factor + perSecond * since / 1000)
end
local function ms(x) return string.format('%.4f', x) end
`;

/**
 * reserve: hands out `n` consecutive slots, T = (duration + margin) / (count x safety x
 * factor) apart, with zero burst.
 *
 * KEYS[1] state hash
 * ARGV[1] n, permits wanted (>= 1)
 * ARGV[2] configured count
 * ARGV[3] configured duration (ms)
 * ARGV[4] safety factor (0 < safety <= 1)
 * ARGV[5] recovery of the rate factor per second, as a fraction of the configured rate
 * ARGV[6] state TTL (ms) beyond the last slot handed out
 * ARGV[7] margin (ms): room per window for late grants and delivery jitter
 * Returns { delay of the first slot from now, interval T, now, pausedUntil, factor, streak }
 */
export const reserveScript = new LuaScript(
  'ratelimit-reserve',
  `${NOW}
local n = tonumber(ARGV[1])
local count = tonumber(ARGV[2])
local duration = tonumber(ARGV[3])
local safety = tonumber(ARGV[4])
local ttl = tonumber(ARGV[6])
local s = redis.call('HMGET', KEYS[1], 'tat', 'pausedUntil', 'factor', 'factorAt',
  'serverCount', 'serverCountUntil', 'streak')
local tat = tonumber(s[1]) or 0
local paused = tonumber(s[2]) or 0
local factor = recovered(tonumber(s[3]) or 1, tonumber(s[4]) or 0, paused, tonumber(ARGV[5]))
local serverCount = tonumber(s[5])
if serverCount and serverCount < count and (tonumber(s[6]) or 0) > now then
  count = serverCount
end
local interval = (duration + tonumber(ARGV[7])) / (count * safety * factor)
local start = math.max(tat, now, paused)
local newTat = start + n * interval
redis.call('HSET', KEYS[1], 'tat', newTat)
redis.call('PEXPIRE', KEYS[1], math.ceil(newTat - now + ttl))
return { ms(start - now), string.format('%.6f', interval), ms(now), ms(paused),
  string.format('%.6f', factor), s[7] or '0' }
`,
  1,
);

/**
 * rate-limited: a 429 was answered. Starts a new episode (pause, slower rate, longer
 * adaptive backoff) unless the space is already paused, in which case the 429 belongs to a
 * request sent before the pause and only a longer Retry-After extends it.
 *
 * KEYS[1] state hash
 * ARGV[1] Retry-After in ms, or -1 for the adaptive backoff
 * ARGV[2] first adaptive backoff (ms)
 * ARGV[3] longest adaptive backoff (ms)
 * ARGV[4] multiplicative decrease of the rate factor (e.g. 0.8)
 * ARGV[5] lowest rate factor
 * ARGV[6] recovery of the rate factor per second
 * ARGV[7] state TTL (ms) beyond the pause
 * ARGV[8] pub/sub channel told about the pause
 * Returns { pausedUntil, now, factor, streak, 1 when a new episode began else 0 }
 */
export const rateLimitedScript = new LuaScript(
  'ratelimit-429',
  `${NOW}
local retryAfter = tonumber(ARGV[1])
local ttl = tonumber(ARGV[7])
local s = redis.call('HMGET', KEYS[1], 'pausedUntil', 'factor', 'factorAt', 'streak')
local paused = tonumber(s[1]) or 0
local factor = recovered(tonumber(s[2]) or 1, tonumber(s[3]) or 0, paused, tonumber(ARGV[6]))
local streak = tonumber(s[4]) or 0
local episode = 0
if now < paused then
  if retryAfter >= 0 and now + retryAfter > paused then
    paused = now + retryAfter
    redis.call('HSET', KEYS[1], 'pausedUntil', paused)
  end
else
  episode = 1
  streak = streak + 1
  local pause = retryAfter
  if pause < 0 then
    pause = math.min(tonumber(ARGV[2]) * 2 ^ (streak - 1), tonumber(ARGV[3]))
  end
  paused = now + pause
  factor = math.max(tonumber(ARGV[5]), factor * tonumber(ARGV[4]))
  redis.call('HSET', KEYS[1], 'pausedUntil', paused, 'factor', factor, 'factorAt', now,
    'streak', streak)
end
if redis.call('PTTL', KEYS[1]) < paused - now + ttl then
  redis.call('PEXPIRE', KEYS[1], math.ceil(paused - now + ttl))
end
redis.call('PUBLISH', ARGV[8], 'pause ' .. ms(paused) .. ' ' .. ms(now))
return { ms(paused), ms(now), string.format('%.6f', factor), tostring(streak), tostring(episode) }
`,
  1,
);

/**
 * observe: what a response's rate-limit headers taught. Never shortens a pause.
 *
 * KEYS[1] state hash
 * ARGV[1] pause for this many ms from now, or -1
 * ARGV[2] server count to adopt, 0 to forget an adopted one, or -1 to leave it
 * ARGV[3] how long an adopted server count holds (ms)
 * ARGV[4] state TTL (ms) beyond the pause
 * ARGV[5] pub/sub channel told about a pause
 * Returns { pausedUntil, now }
 */
export const observeScript = new LuaScript(
  'ratelimit-observe',
  `${NOW}
local pauseMs = tonumber(ARGV[1])
local serverCount = tonumber(ARGV[2])
local ttl = tonumber(ARGV[4])
local paused = tonumber(redis.call('HGET', KEYS[1], 'pausedUntil')) or 0
if pauseMs >= 0 and now + pauseMs > paused then
  paused = now + pauseMs
  redis.call('HSET', KEYS[1], 'pausedUntil', paused)
  redis.call('PUBLISH', ARGV[5], 'pause ' .. ms(paused) .. ' ' .. ms(now))
end
if serverCount > 0 then
  redis.call('HSET', KEYS[1], 'serverCount', serverCount,
    'serverCountUntil', now + tonumber(ARGV[3]))
elseif serverCount == 0 then
  redis.call('HDEL', KEYS[1], 'serverCount', 'serverCountUntil')
end
local keep = math.max(paused - now, tonumber(ARGV[3])) + ttl
if redis.call('PTTL', KEYS[1]) < keep then
  redis.call('PEXPIRE', KEYS[1], math.ceil(keep))
end
return { ms(paused), ms(now) }
`,
  1,
);

/**
 * succeeded: ends a streak of 429 episodes, so the next 429 starts the backoff afresh.
 * Does not create the hash (a key without TTL would never go away).
 *
 * KEYS[1] state hash
 * Returns 1 when a streak was reset, else 0.
 */
export const succeededScript = new LuaScript(
  'ratelimit-success',
  `
if (tonumber(redis.call('HGET', KEYS[1], 'streak')) or 0) > 0 then
  redis.call('HSET', KEYS[1], 'streak', 0)
  return 1
end
return 0
`,
  1,
);
