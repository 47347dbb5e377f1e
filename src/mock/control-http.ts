/**
 * The control surface over HTTP, for runs where the mock is another process (the demo,
 * `confbulk mock`, chaos scripts). JSON in, JSON out, no auth: the mock binds to loopback.
 *
 * | method | path | body / query | answer |
 * |---|---|---|---|
 * | GET | `/_mock/health` | | `{ ok: true }` |
 * | POST | `/_mock/accounts` | `{ accountSid?, token? }` | 201 `{ accountSid, token }` |
 * | PUT | `/_mock/accounts/{sid}/token` | `{ token }` | 204 |
 * | POST | `/_mock/conferences` | `{ accountSid, participants, friendlyName?, status?, region?, muted?, hold? }` | 201 `{ sid, callSids }` |
 * | GET | `/_mock/conferences/{sid}` | | conference state |
 * | POST | `/_mock/conferences/{sid}/complete` | | 204 |
 * | POST | `/_mock/conferences/{sid}/leave` | `{ count, overMs? }` | 202 `{ callSids }` |
 * | GET | `/_mock/conferences/{sid}/participants` | `?includeGone=true` | `{ participants }` |
 * | GET | `/_mock/participants/{callSid}` | | participant state |
 * | GET, PUT, DELETE | `/_mock/faults` | PUT: a FaultConfig (merged) | fault snapshot |
 * | POST | `/_mock/faults/outage` | `{ ms, mode? }` | 204 |
 * | POST | `/_mock/faults/force429` | `{ ms }` | 204 |
 * | GET, PUT | `/_mock/rate-limit` | PUT: `{ limit: { count, durationMs } \| null, accountSid? }` | limits |
 * | GET | `/_mock/counters` | | counters |
 * | GET, DELETE | `/_mock/log` | GET: `?since=<epoch ms>` | `{ entries }`; DELETE also zeroes the counters |
 *
 * Errors answer `{ error }` with 400 (bad input) or 404 (unknown route or resource); any
 * other failure is a bug of the mock and answers 500.
 */
import type { MockControl } from './control.js';
import { CONTROL_PREFIX } from './options.js';
import type { ApiAnswer } from './responses.js';

type Body = Record<string, unknown>;
type Handler = (
  control: MockControl,
  ids: string[],
  body: Body,
  query: URLSearchParams,
) => ApiAnswer;

const json = (status: number, value: unknown): ApiAnswer => ({
  status,
  body: JSON.stringify(value),
});
const noContent = (): ApiAnswer => ({ status: 204 });
const missing = (what: string): ApiAnswer => json(404, { error: `${what} not found` });

/** Route table: method, path pattern under `/_mock` (`:id` segments captured), handler. */
const ROUTES: [string, string, Handler][] = [
  ['GET', '/health', () => json(200, { ok: true })],
  ['POST', '/accounts', (c, _, b) => json(201, c.createAccount(b))],
  [
    'PUT',
    '/accounts/:id/token',
    (c, [sid], b) => (c.setToken(sid as string, b.token as string), noContent()),
  ],
  [
    'POST',
    '/conferences',
    (c, _, b) => json(201, c.createConference(b.accountSid as string, b as never)),
  ],
  [
    'GET',
    '/conferences/:id',
    (c, [sid]) => {
      const conference = c.conference(sid as string);
      return conference ? json(200, conference) : missing(`conference ${sid}`);
    },
  ],
  [
    'POST',
    '/conferences/:id/complete',
    (c, [sid]) => (c.completeConference(sid as string), noContent()),
  ],
  [
    'POST',
    '/conferences/:id/leave',
    (c, [sid], b) =>
      json(202, {
        callSids: c.leave({ ...b, conferenceSid: sid as string } as never).callSids,
      }),
  ],
  [
    'GET',
    '/conferences/:id/participants',
    (c, [sid], _, q) =>
      json(200, {
        participants: c.participants(sid as string, {
          includeGone: q.get('includeGone') === 'true',
        }),
      }),
  ],
  [
    'GET',
    '/participants/:id',
    (c, [callSid]) => {
      const participant = c.participant(callSid as string);
      return participant ? json(200, participant) : missing(`participant ${callSid}`);
    },
  ],
  ['GET', '/faults', (c) => json(200, c.faults())],
  ['PUT', '/faults', (c, _, b) => (c.setFaults(b), json(200, c.faults()))],
  ['DELETE', '/faults', (c) => (c.clearFaults(), json(200, c.faults()))],
  ['POST', '/faults/outage', (c, _, b) => (c.outage(b.ms as number, b.mode as never), noContent())],
  ['POST', '/faults/force429', (c, _, b) => (c.force429(b.ms as number), noContent())],
  ['GET', '/rate-limit', (c) => json(200, c.rateLimits())],
  [
    'PUT',
    '/rate-limit',
    (c, _, b) => (
      c.setRateLimit(b.limit as never, b.accountSid as string | undefined),
      json(200, c.rateLimits())
    ),
  ],
  ['GET', '/counters', (c) => json(200, c.counters())],
  [
    'GET',
    '/log',
    (c, _, __, q) => {
      const since = q.get('since');
      if (since !== null && !Number.isFinite(Number(since))) {
        return json(400, { error: `since must be epoch milliseconds; got '${since}'` });
      }
      return json(200, { entries: c.requestLog(since === null ? undefined : Number(since)) });
    },
  ],
  ['DELETE', '/log', (c) => (c.resetLog(), noContent())],
];

function matchRoute(pattern: string, path: string): string[] | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const ids: string[] = [];
  for (let i = 0; i < want.length; i++) {
    if (want[i] === ':id') ids.push(decodeURIComponent(got[i] as string));
    else if (want[i] !== got[i]) return undefined;
  }
  return ids;
}

function parseBody(text: string): Body | undefined {
  if (text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Body)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Answers a request under `/_mock`. */
export function handleControlRequest(
  control: MockControl,
  method: string,
  path: string,
  query: URLSearchParams,
  bodyText: string,
): ApiAnswer {
  const subPath = path.slice(CONTROL_PREFIX.length);
  for (const [routeMethod, pattern, handler] of ROUTES) {
    if (routeMethod !== method) continue;
    const ids = matchRoute(pattern, subPath);
    if (!ids) continue;
    const body = parseBody(bodyText);
    if (!body) return json(400, { error: 'the request body must be a JSON object' });
    try {
      return handler(control, ids, body, query);
    } catch (err) {
      if (!(err instanceof TypeError)) throw err;
      return json(/^unknown (conference|account)/.test(err.message) ? 404 : 400, {
        error: err.message,
      });
    }
  }
  return json(404, { error: `no control route ${method} ${path}` });
}
