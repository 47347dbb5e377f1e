/**
 * Lua of the per-space circuit breaker (see src/worker/circuit-breaker.ts).
 *
 * State of one space, in one hash (absent = closed with no failures):
 *   state        closed | open | half-open | paused
 *   failures     consecutive transient failures while closed
 *   openedAt     when the circuit last opened (or re-opened after a failed probe)
 *   openUntil    when the next probe of an open circuit may start: one probe interval after
 *                the opening or after the start of the probe that failed, so probes start
 *                at a steady cadence whatever the outage's length
 *   probeToken, probeUntil   who holds the one probe permit, and until when (a lease, so
 *                a prober that crashed does not wedge the space)
 *   probeAt      when the current (or last) probe permit was claimed
 *   nextProbeAt  when a paused space may be probed next (same cadence, its own interval)
 *   reason       why the space is paused
 * Every transition is published on the channel given in ARGV as the new state's name.
 * Replies are arrays of strings: { state, 1 if this call made a transition else 0, ... }.
 */
import { LuaScript } from './script.js';

const PROLOGUE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local key = KEYS[1]
local state = redis.call('HGET', key, 'state') or 'closed'
local function field(name) return tonumber(redis.call('HGET', key, name)) end
local function holds(token)
  return token ~= '' and redis.call('HGET', key, 'probeToken') == token
end
local function announce(channel, to)
  redis.call('PUBLISH', channel, to)
end
local function close(channel)
  redis.call('DEL', key)
  announce(channel, 'closed')
end
local function open(openUntil, channel)
  redis.call('HSET', key, 'state', 'open', 'openUntil', openUntil, 'openedAt', now,
    'failures', 0)
  redis.call('HDEL', key, 'probeToken', 'probeUntil')
  redis.call('PERSIST', key)
  announce(channel, 'open')
end
local function ms(x) return string.format('%.0f', math.max(0, x)) end
`;

/**
 * failure: a transient failure (5xx, network) was seen.
 *
 * KEYS[1] circuit hash
 * ARGV[1] failure threshold
 * ARGV[2] probe interval of an open circuit (ms)
 * ARGV[3] probe token of the caller, or ''
 * ARGV[4] probe interval of a paused space (ms)
 * ARGV[5] how long a count of failures is kept without a new failure (ms)
 * ARGV[6] pub/sub channel
 * Returns { state, transitioned, failures, ms until the next probe may start }
 */
export const failureScript = new LuaScript(
  'circuit-failure',
  `${PROLOGUE}
local channel = ARGV[6]
local interval = tonumber(ARGV[2])
if state == 'closed' then
  local failures = redis.call('HINCRBY', key, 'failures', 1)
  if failures >= tonumber(ARGV[1]) then
    open(now + interval, channel)
    return { 'open', '1', tostring(failures), ms(interval) }
  end
  redis.call('PEXPIRE', key, ARGV[5])
  return { 'closed', '0', tostring(failures), '0' }
end
if state == 'half-open' and holds(ARGV[3]) then
  local nextAt = math.max(now, (field('probeAt') or now) + interval)
  open(nextAt, channel)
  return { 'open', '1', '0', ms(nextAt - now) }
end
if state == 'paused' and holds(ARGV[3]) then
  redis.call('HSET', key, 'nextProbeAt', (field('probeAt') or now) + tonumber(ARGV[4]))
  redis.call('HDEL', key, 'probeToken', 'probeUntil')
end
return { state, '0', '0', '0' }
`,
  1,
);

/**
 * success: a request succeeded. Closes a half-open circuit, or a paused one when the
 * caller holds the probe; resets the failure count of a closed one.
 *
 * KEYS[1] circuit hash
 * ARGV[1] probe token of the caller, or ''
 * ARGV[2] pub/sub channel
 * Returns { state, transitioned, previous state }
 */
export const successScript = new LuaScript(
  'circuit-success',
  `${PROLOGUE}
if state == 'closed' then
  redis.call('DEL', key)
  return { 'closed', '0', 'closed' }
end
if state == 'half-open' or (state == 'paused' and holds(ARGV[1])) then
  close(ARGV[2])
  return { 'closed', '1', state }
end
return { state, '0', state }
`,
  1,
);

/**
 * claim: asks for permission to send while the circuit is not closed. When an open
 * circuit's next probe is due (or a paused space's, or a probe lease expired) the caller
 * gets the one probe permit.
 *
 * KEYS[1] circuit hash
 * ARGV[1] probe token to claim with
 * ARGV[2] probe lease (ms)
 * ARGV[3] pub/sub channel
 * Returns { state, transitioned, 'probe' | 'closed' | 'wait', ms until worth asking again }
 */
export const claimScript = new LuaScript(
  'circuit-claim',
  `${PROLOGUE}
if state == 'closed' then return { 'closed', '0', 'closed', '0' } end
local leaseEnd = now + tonumber(ARGV[2])
local probeUntil = field('probeUntil') or 0
if state == 'open' then
  local openUntil = field('openUntil') or 0
  if now < openUntil then return { 'open', '0', 'wait', ms(openUntil - now) } end
  redis.call('HSET', key, 'state', 'half-open', 'probeToken', ARGV[1], 'probeUntil', leaseEnd,
    'probeAt', now)
  announce(ARGV[3], 'half-open')
  return { 'half-open', '1', 'probe', '0' }
end
local due = now
if state == 'paused' then due = field('nextProbeAt') or 0 end
if now >= due and now >= probeUntil then
  redis.call('HSET', key, 'probeToken', ARGV[1], 'probeUntil', leaseEnd, 'probeAt', now)
  return { state, '0', 'probe', '0' }
end
return { state, '0', 'wait', ms(math.max(due, probeUntil) - now) }
`,
  1,
);

/**
 * release: gives back a probe permit nobody used (its waiter went away).
 *
 * KEYS[1] circuit hash
 * ARGV[1] probe token
 * Returns { state }
 */
export const releaseScript = new LuaScript(
  'circuit-release',
  `${PROLOGUE}
if holds(ARGV[1]) then redis.call('HDEL', key, 'probeToken', 'probeUntil') end
return { state }
`,
  1,
);

/**
 * pause: the API rejected the credentials (401/403). Only `resume` or a successful probe
 * closes a paused space; a probe that is rejected again schedules the next one.
 *
 * KEYS[1] circuit hash
 * ARGV[1] reason
 * ARGV[2] probe interval of a paused space (ms): the first probe comes that long after the
 *         pause, the next that long after the start of a probe rejected again
 * ARGV[3] probe token of the caller, or ''
 * ARGV[4] pub/sub channel
 * Returns { 'paused', transitioned, previous state }
 */
export const pauseScript = new LuaScript(
  'circuit-pause',
  `${PROLOGUE}
local nextProbeAt = now + tonumber(ARGV[2])
if state ~= 'paused' then
  redis.call('HSET', key, 'state', 'paused', 'reason', ARGV[1], 'nextProbeAt', nextProbeAt,
    'failures', 0)
  redis.call('HDEL', key, 'probeToken', 'probeUntil', 'openUntil')
  redis.call('PERSIST', key)
  announce(ARGV[4], 'paused')
  return { 'paused', '1', state }
end
if holds(ARGV[3]) then
  nextProbeAt = (field('probeAt') or now) + tonumber(ARGV[2])
  redis.call('HSET', key, 'nextProbeAt', nextProbeAt, 'reason', ARGV[1])
  redis.call('HDEL', key, 'probeToken', 'probeUntil')
end
return { 'paused', '0', state }
`,
  1,
);

/**
 * resume: closes the circuit from any state (`confbulk resume --space NAME`).
 *
 * KEYS[1] circuit hash
 * ARGV[1] pub/sub channel
 * Returns { 'closed', transitioned, previous state }
 */
export const resumeScript = new LuaScript(
  'circuit-resume',
  `${PROLOGUE}
if state == 'closed' then
  redis.call('DEL', key)
  return { 'closed', '0', 'closed' }
end
close(ARGV[1])
return { 'closed', '1', state }
`,
  1,
);
