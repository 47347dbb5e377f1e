/**
 * Lua of the per-space sliding-window rate limiter (design: src/worker/rate-limiter.ts).
 *
 * Keys of one space (built in src/worker/rate-limiter/keys.ts, all passed in KEYS):
 *   KEYS[1]           state hash:
 *     pausedUntil        no permit is granted before this (429, Retry-After, exhausted headers)
 *     factor, factorAt   rate factor after the last 429 episode and when it was set; it
 *                        recovers linearly from the end of that episode's pause
 *     streak             consecutive 429 episodes (reset by the first success reported after)
 *     margin             current margin (ms); widened by unexplained 429s, narrowed by successes
 *     serverCount, serverWindow, serverCountUntil   a lower count learnt from the server's
 *                        headers, for the window of that duration (ms)
 *     n:<duration>       permits recorded in that window's list (its running total)
 *   KEYS[2..1+W]      one list per window, oldest first, of "<time> <count>" entries: `count`
 *                     permits granted, the latest of them at Redis time `time`. A grant
 *                     in the same `bucket` (fixed boundaries of `bucket` ms) as the newest
 *                     entry is merged into it, moving its time forward (never back, so a
 *                     merged permit is counted at most one bucket longer than it needs to
 *                     be). A list holds at most (duration + margin) / bucket + 1 entries.
 * Window i allows a grant at `now` while fewer than count_i x factor permits were recorded in
 * (now - duration_i - margin, now]. Times are Redis `TIME` in fractional ms, so process
 * clocks never matter. Numbers are returned as strings (Lua numbers become integer replies).
 *
 * ARGV of reserve and rate-limited end with the windows: W, then count_i, duration_i and
 * bucket_i for each window, in the order of KEYS[2..].
 */
import { LuaScript } from './script.js';

/**
 * Shared prologue: `now`, the windows from ARGV (starting at index `first`), the rate factor
 * recovered up to `now`, and the list helpers.
 */
const PROLOGUE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local state = KEYS[1]
local function ms(x) return string.format('%.4f', x) end
local function windowsFrom(first)
  local w = {}
  for i = 1, tonumber(ARGV[first]) do
    local a = first + 1 + (i - 1) * 3
    w[i] = { key = KEYS[1 + i], count = tonumber(ARGV[a]), duration = tonumber(ARGV[a + 1]),
      bucket = tonumber(ARGV[a + 2]), field = 'n:' .. ARGV[a + 1] }
  end
  return w
end
local function recovered(factor, factorAt, paused, perSecond)
  if factor >= 1 then return 1 end
  local since = now - math.max(factorAt, paused)
  if since <= 0 then return factor end
  return math.min(1, factor + perSecond * since / 1000)
end
local function entry(e)
  local at, c = string.match(e, '^(%S+) (%S+)$')
  return tonumber(at), tonumber(c)
end
-- Window w's running total and list length. The total is kept in the state hash, which
-- outlives the list (a list expires one window + 1 s after its last grant, the hash an hour
-- later), so an empty list counts 0 whatever the hash says: a script that added to the
-- list on top of a stale total would hold the window full for as long as the list never
-- empties again. A total missing from the hash is summed from the list. Read it before
-- changing the list.
local function running(w)
  local len = redis.call('LLEN', w.key)
  if len == 0 then return 0, 0 end
  local total = tonumber(redis.call('HGET', state, w.field))
  if total == nil then
    total = 0
    for _, e in ipairs(redis.call('LRANGE', w.key, 0, -1)) do
      local _, c = entry(e)
      total = total + c
    end
  end
  return total, len
end
-- Drops the entries of window w at or before horizon; returns its running total.
local function trim(w, horizon)
  local total, len = running(w)
  while len > 0 do
    local at, c = entry(redis.call('LINDEX', w.key, 0))
    if at > horizon then break end
    redis.call('LPOP', w.key)
    total = total - c
    len = len - 1
  end
  redis.call('HSET', state, w.field, total)
  return total
end
-- Permits of window w granted at or before 'before' (walking from the oldest), and the
-- time of the entry after which at least 'need' of them are counted (nil if fewer).
local function oldest(w, before, need)
  local sum, i = 0, 0
  while true do
    local e = redis.call('LINDEX', w.key, i)
    if not e then return sum, nil end
    local at, c = entry(e)
    if before and at > before then return sum, nil end
    sum = sum + c
    if need and sum >= need then return sum, at end
    i = i + 1
  end
end
-- Records k permits of window w at now: merged into the newest entry when it is of now's
-- bucket (fixed boundaries: a chain of close grants never spans more than one), else a
-- new entry. The running total is the caller's.
local function append(w, k)
  local tail = redis.call('LINDEX', w.key, -1)
  local at, c = nil, 0
  if tail then at, c = entry(tail) end
  if at and math.floor(at / w.bucket) == math.floor(now / w.bucket) then
    redis.call('LSET', w.key, -1, ms(math.max(now, at)) .. ' ' .. (c + k))
  else
    redis.call('RPUSH', w.key, ms(now) .. ' ' .. k)
  end
end
`;

/**
 * Shared by return and restamp: takes permits of a grant out of a window, where the
 * grant's entry still is. Appended after PROLOGUE.
 */
const RELEASE = `
-- Window w's entry of 'time's bucket (at most one entry per bucket, in time order): its
-- index (nil when there is none), the index to insert a new entry of that bucket at (before
-- it), the list's length, and the entry's stamp and count. Walks from the end nearer in
-- time: a move decided late (rate-limiter/arrivals.ts) concerns an entry near the oldest
-- end, an answer's near the newest.
local function seek(w, time)
  local b = math.floor(time / w.bucket)
  local len = redis.call('LLEN', w.key)
  if len == 0 then return nil, 0, 0 end
  local head = entry(redis.call('LINDEX', w.key, 0))
  local tail = entry(redis.call('LINDEX', w.key, -1))
  local first, last, step = len - 1, 0, -1
  if time - head < tail - time then first, last, step = 0, len - 1, 1 end
  for i = first, last, step do
    local t, c = entry(redis.call('LINDEX', w.key, i))
    local tb = math.floor(t / w.bucket)
    if tb == b then return i, i, len, t, c end
    if tb * step > b * step then return nil, step > 0 and i or i + 1, len end
  end
  return nil, step > 0 and len or 0, len
end
-- Takes k permits granted at 'at' out of window w: from the entry of at's bucket if it is
-- stamped at or after at (merging moves a stamp forward, and only within its bucket, so
-- that entry holds them). An emptied entry is removed. Returns the permits taken: 0 when
-- that entry has already left the window.
local function takeOut(w, at, k)
  local i, _, len, t, c = seek(w, at)
  if not i or t < at - 0.0001 then return 0 end
  local n = math.min(k, c)
  if n == c then
    redis.call('LSET', w.key, i, '__gone__')
    redis.call('LREM', w.key, i < len / 2 and 1 or -1, '__gone__')
  else
    redis.call('LSET', w.key, i, ms(t) .. ' ' .. (c - n))
  end
  return n
end
-- Records k permits of window w at time 'to' in its place, entries staying in time order:
-- merged into the entry of to's bucket when there is one (its stamp moves forward to 'to'
-- at most, never back), else a new entry. Returns k, or 0 when 'to' is at or before
-- 'horizon' (it has already left the window).
local function place(w, to, k, horizon)
  if to <= horizon then return 0 end
  local i, at, len, t, c = seek(w, to)
  if i then
    redis.call('LSET', w.key, i, ms(math.max(t, to)) .. ' ' .. (c + k))
    return k
  end
  local fresh = ms(to) .. ' ' .. k
  if at >= len then
    redis.call('RPUSH', w.key, fresh)
  elseif at == 0 then
    redis.call('LPUSH', w.key, fresh)
  else
    redis.call('LINSERT', w.key, 'BEFORE', redis.call('LINDEX', w.key, at), fresh)
  end
  return k
end
`;

/**
 * reserve: grants up to `n` permits now, as many as every window has room for; more than
 * `small` only as far as every window stays at most half full (its limit / 2).
 *
 * KEYS[1] state hash; KEYS[2..1+W] window lists
 * ARGV[1] n, permits wanted (>= 1)
 * ARGV[2] successes this process saw since its last report (narrow the margin, end a streak)
 * ARGV[3] base margin (ms)
 * ARGV[4] successes over which a widened margin halves its distance to the base
 * ARGV[5] recovery of the rate factor per second
 * ARGV[6] state TTL (ms) beyond the longest window (lists keep theirs for one window + 1 s)
 * ARGV[7] small: most permits granted past a window's half
 * ARGV[8] W, then count, duration (ms), bucket (ms) per window
 * Returns { granted, ms until a permit may be free (-1 when the windows had room for all n), now,
 *   pausedUntil, margin, factor, streak, room left below the fullest window's half after
 *   the grant (negative past it) }
 */
export const reserveScript = new LuaScript(
  'ratelimit-reserve',
  `${PROLOGUE}
local n = tonumber(ARGV[1])
local successes = tonumber(ARGV[2])
local base = tonumber(ARGV[3])
local ttl = tonumber(ARGV[6])
local small = tonumber(ARGV[7])
local windows = windowsFrom(8)
local s = redis.call('HMGET', state, 'pausedUntil', 'factor', 'factorAt', 'streak', 'margin',
  'serverCount', 'serverWindow', 'serverCountUntil')
local paused = tonumber(s[1]) or 0
local factor = recovered(tonumber(s[2]) or 1, tonumber(s[3]) or 0, paused, tonumber(ARGV[5]))
local streak = tonumber(s[4]) or 0
local margin = math.max(base, tonumber(s[5]) or base)
if successes > 0 then
  if streak > 0 then
    streak = 0
    redis.call('HSET', state, 'streak', 0)
  end
  if margin > base then
    margin = base + (margin - base) * 0.5 ^ (successes / tonumber(ARGV[4]))
    if margin - base < 0.01 then margin = base end
    redis.call('HSET', state, 'margin', margin)
  end
end
local serverCount = tonumber(s[6])
if serverCount and (tonumber(s[8]) or 0) <= now then serverCount = nil end
local granted = n
local longest = 0
for _, w in ipairs(windows) do
  local limit = math.max(1, math.floor(w.count * factor))
  if serverCount and tonumber(s[7]) == w.duration and serverCount < limit then
    limit = serverCount
  end
  w.limit = limit
  w.width = w.duration + margin
  w.total = trim(w, now - w.width)
  granted = math.min(granted, math.max(0, limit - w.total))
  longest = math.max(longest, w.width)
end
-- What the windows hold room for; a grant cut to 'small' past a half leaves the rest to
-- the next call at once (no retry time).
local fits = granted
if granted > small then
  for _, w in ipairs(windows) do
    granted = math.min(granted, math.max(small, math.floor(w.limit / 2) - w.total))
  end
end
if now < paused then granted, fits = 0, 0 end
if granted > 0 then
  for _, w in ipairs(windows) do
    append(w, granted)
    w.total = w.total + granted
    redis.call('HSET', state, w.field, w.total)
    redis.call('PEXPIRE', w.key, math.ceil(w.width + 1000))
  end
end
redis.call('PEXPIRE', state, math.ceil(math.max(paused - now, 0) + longest + ttl))
local retry = -1
if fits < n then
  retry = math.max(0, paused - now)
  for _, w in ipairs(windows) do
    if w.total >= w.limit then
      local _, at = oldest(w, nil, w.total - w.limit + 1)
      if at then retry = math.max(retry, at + w.width - now) end
    end
  end
end
local room = nil
for _, w in ipairs(windows) do
  local r = math.floor(w.limit / 2) - w.total
  if room == nil or r < room then room = r end
end
if now < paused then room = -1 end
return { tostring(granted), ms(retry), ms(now), ms(paused), ms(margin),
  string.format('%.6f', factor), tostring(streak), tostring(room) }
`,
  -1,
);

/**
 * rate-limited: a 429 was answered. Starts a new episode (pause, slower rate, longer
 * adaptive backoff) unless the space is already paused, in which case the 429 belongs to a
 * request sent before the pause and only a longer Retry-After extends it. A new episode
 * while every window's own count over its duration (margin left out) is within its
 * configured count (the rate factor left out: that is this reaction, not the limit) means
 * the server counted differently (delivery jitter beyond the margin, another client
 * of the account): the margin doubles, up to its bound.
 *
 * KEYS[1] state hash; KEYS[2..1+W] window lists
 * ARGV[1] Retry-After in ms, or -1 for the adaptive backoff
 * ARGV[2] first adaptive backoff (ms)
 * ARGV[3] longest adaptive backoff (ms)
 * ARGV[4] multiplicative decrease of the rate factor (e.g. 0.97)
 * ARGV[5] lowest rate factor
 * ARGV[6] recovery of the rate factor per second
 * ARGV[7] pub/sub channel told about the pause
 * ARGV[8] base margin (ms)
 * ARGV[9] widest margin (ms)
 * ARGV[10] W, then count, duration (ms), bucket (ms) per window
 * Returns { pausedUntil, now, factor, streak, 1 when a new episode began else 0, margin,
 *   1 when the margin was widened else 0 }
 */
export const rateLimitedScript = new LuaScript(
  'ratelimit-429',
  `${PROLOGUE}
local retryAfter = tonumber(ARGV[1])
local base = tonumber(ARGV[8])
local windows = windowsFrom(10)
local s = redis.call('HMGET', state, 'pausedUntil', 'factor', 'factorAt', 'streak', 'margin')
local paused = tonumber(s[1]) or 0
local factor = recovered(tonumber(s[2]) or 1, tonumber(s[3]) or 0, paused, tonumber(ARGV[6]))
local streak = tonumber(s[4]) or 0
local margin = math.max(base, tonumber(s[5]) or base)
local episode, widened = 0, 0
if now < paused then
  if retryAfter >= 0 and now + retryAfter > paused then
    paused = now + retryAfter
    redis.call('HSET', state, 'pausedUntil', paused)
  end
else
  episode = 1
  local within = true
  for _, w in ipairs(windows) do
    local total = trim(w, now - w.duration - margin)
    local older = oldest(w, now - w.duration, nil)
    if total - older > w.count then within = false end
  end
  if within then
    margin = math.min(tonumber(ARGV[9]), margin * 2)
    widened = 1
  end
  streak = streak + 1
  local pause = retryAfter
  if pause < 0 then
    pause = math.min(tonumber(ARGV[2]) * 2 ^ (streak - 1), tonumber(ARGV[3]))
  end
  paused = now + pause
  factor = math.max(tonumber(ARGV[5]), factor * tonumber(ARGV[4]))
  redis.call('HSET', state, 'pausedUntil', paused, 'factor', factor, 'factorAt', now,
    'streak', streak, 'margin', margin)
end
if redis.call('PTTL', state) < paused - now then
  redis.call('PEXPIRE', state, math.ceil(paused - now + 3600000))
end
redis.call('PUBLISH', ARGV[7], 'pause ' .. ms(paused) .. ' ' .. ms(now))
return { ms(paused), ms(now), string.format('%.6f', factor), tostring(streak), tostring(episode),
  ms(margin), tostring(widened) }
`,
  -1,
);

/**
 * return: gives back permits granted at `at` that this process never used (its reply came
 * too late to use them within the lateness bound, or nobody was waiting any more). They
 * never started, so they leave every window's count, from their grant's entry (RELEASE's
 * takeOut; nothing when that entry has already left the window).
 *
 * KEYS[1] state hash; KEYS[2..1+W] window lists
 * ARGV[1] Redis time the permits were granted at (as the reserve script returned it)
 * ARGV[2] how many
 * ARGV[3] W, then count, duration (ms), bucket (ms) per window
 * Returns the permits given back (0 when their entries had already left the windows).
 */
export const returnScript = new LuaScript(
  'ratelimit-return',
  `${PROLOGUE}${RELEASE}
local at = tonumber(ARGV[1])
local k = tonumber(ARGV[2])
local back = 0
for _, w in ipairs(windowsFrom(3)) do
  local total = running(w)
  local n = takeOut(w, at, k)
  if n > 0 then redis.call('HSET', state, w.field, math.max(0, total - n)) end
  back = math.max(back, n)
end
return back
`,
  -1,
);

/**
 * observe: what a response's rate-limit headers taught. Never shortens a pause.
 *
 * KEYS[1] state hash
 * ARGV[1] pause for this many ms from now, or -1
 * ARGV[2] server count to adopt, 0 to forget an adopted one, or -1 to leave it
 * ARGV[3] duration (ms) of the window the server count applies to
 * ARGV[4] how long an adopted server count holds (ms)
 * ARGV[5] state TTL (ms) beyond the pause
 * ARGV[6] pub/sub channel told about a pause
 * Returns { pausedUntil, now }
 */
export const observeScript = new LuaScript(
  'ratelimit-observe',
  `${PROLOGUE}
local pauseMs = tonumber(ARGV[1])
local serverCount = tonumber(ARGV[2])
local ttl = tonumber(ARGV[5])
local paused = tonumber(redis.call('HGET', state, 'pausedUntil')) or 0
if pauseMs >= 0 and now + pauseMs > paused then
  paused = now + pauseMs
  redis.call('HSET', state, 'pausedUntil', paused)
  redis.call('PUBLISH', ARGV[6], 'pause ' .. ms(paused) .. ' ' .. ms(now))
end
if serverCount > 0 then
  redis.call('HSET', state, 'serverCount', serverCount, 'serverWindow', ARGV[3],
    'serverCountUntil', now + tonumber(ARGV[4]))
elseif serverCount == 0 then
  redis.call('HDEL', state, 'serverCount', 'serverWindow', 'serverCountUntil')
end
local keep = math.max(paused - now, tonumber(ARGV[4])) + ttl
if redis.call('PTTL', state) < keep then
  redis.call('PEXPIRE', state, math.ceil(keep))
end
return { ms(paused), ms(now) }
`,
  1,
);

/**
 * restamp: requests that may have reached the server later than their grant's stamp plus
 * the base margin move in every window from their grant's entry to the latest time they
 * may have arrived by (their answer minus the fastest round trip, or their answer: see
 * src/worker/rate-limiter.ts), at most now (Redis `TIME`). Accounting, not a grant: no
 * capacity check. A grant's entry already trimmed (the move came after the whole window)
 * is not decremented (RELEASE's takeOut finds nothing); the request is still placed at its
 * time unless that has left the window too.
 *
 * KEYS[1] state hash; KEYS[2..1+W] window lists
 * ARGV[1] base margin (ms): the margin in force is the larger of it and the learnt one, as
 *   in reserve (a move within the margin of a window's edge is still in that window)
 * ARGV[2] W, then count, duration (ms), bucket (ms) per window
 * ARGV[3+3W] P, then per move the grant's Redis time (as reserve returned it), the Redis
 *   time to move to, and how many permits
 * Returns the permits moved (placed in the first window).
 */
export const restampScript = new LuaScript(
  'ratelimit-restamp',
  `${PROLOGUE}${RELEASE}
local windows = windowsFrom(2)
local base = tonumber(ARGV[1])
local margin = math.max(base, tonumber(redis.call('HGET', state, 'margin')) or base)
local p0 = 3 + 3 * #windows
local moved = 0
for wi, w in ipairs(windows) do
  local total = running(w)
  local removed, placed = 0, 0
  for i = 1, tonumber(ARGV[p0]) do
    local a = p0 + 3 * (i - 1)
    local at, to, k = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
    removed = removed + takeOut(w, at, k)
    placed = placed + place(w, math.max(at, math.min(to, now)), k, now - w.duration - margin)
  end
  redis.call('HSET', state, w.field, math.max(0, total - removed) + placed)
  if wi == 1 then moved = placed end
  local keep = math.ceil(w.duration + margin + 1000)
  if redis.call('PTTL', w.key) < keep then redis.call('PEXPIRE', w.key, keep) end
end
return moved
`,
  -1,
);
