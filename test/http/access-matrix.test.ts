/**
 * The access matrix: every route the app registers (read from the app itself, so a new
 * route cannot be forgotten) x every kind of caller (no token, a wrong one, the bootstrap
 * token, read/write/admin tokens of every space, the same limited to space `alpha`) x the
 * space of the data the request touches (`alpha` or `beta`). Each cell is the status the
 * security model says, and lists seen by a limited token hold only its space.
 */
import { Worker } from 'bullmq';
import type { InjectOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import type { Role } from '../../src/auth/access.js';
import type { DeadLetters } from '../../src/dead-letters/dead-letters.js';
import { registeredRoutes, type RegisteredRoute } from '../../src/http/app.js';
import { queuePrefix } from '../../src/keys.js';
import { testRedisUrl } from '../helpers/redis.js';
import { TOKEN, withApi, type ApiFixture } from './fixture.js';

type Space = 'alpha' | 'beta';
const SPACES: Space[] = ['alpha', 'beta'];

const SPACE_ENV: NodeJS.ProcessEnv = Object.fromEntries(
  (['ALPHA', 'BETA'] as const).flatMap((name) => [
    [`SIGNALWIRE_${name}_SPACE_URL`, 'http://127.0.0.1:9'],
    [`SIGNALWIRE_${name}_PROJECT_ID`, '4f1b6e6a-0000-4000-8000-00000000000b'],
    [`SIGNALWIRE_${name}_API_TOKEN`, `sw-token-${name.toLowerCase()}-0123456789`],
  ]),
);

interface Caller {
  label: string;
  /** Undefined: no Authorization header. */
  token?: string;
  /** Undefined for callers without a valid token. */
  role?: Role;
  limitedTo?: Space;
}

/** What a route is, in the security model (written here, independently of the routes' config). */
type Rule =
  | { kind: 'public'; status: number }
  | { kind: 'space'; role: Role; status: number; list?: (body: unknown) => string[] }
  | { kind: 'every-space'; role: Role; status: number }
  /** The dashboard's own routes: admins of every space pass its guard (bull-board answers then). */
  | { kind: 'dashboard' };

const CONFERENCE = (space: Space) =>
  space === 'alpha'
    ? '4f1b6e6a-1111-4000-8000-0000000000a1'
    : '4f1b6e6a-1111-4000-8000-0000000000b1';
let serial = 0;
const next = () => `${Date.now().toString(36)}${(serial++).toString(36)}`;

function addDeadLetter(deadLetters: DeadLetters, space: Space): Promise<string> {
  const id = next();
  const callSid = `4f1b6e6a-2222-4000-8000-${(serial++).toString(16).padStart(12, '0')}`;
  return deadLetters.add({
    jobId: `b_${id}.${callSid}`,
    job: {
      v: 1,
      space,
      conferenceSid: CONFERENCE(space),
      callSid,
      op: 'update',
      params: { Muted: true },
      batchId: `b_${id}`,
      intent: 1,
    },
    reason: 'invalid',
    status: 400,
    apiMessage: 'rejected',
    attempts: [],
  });
}

async function addSchedule(fx: ApiFixture, space: Space): Promise<string> {
  const name = `nightly-${space}-${next()}`;
  await fx.confbulk.schedules.add({
    name,
    cron: '0 3 * * *',
    request: { action: 'mute', space, target: { conferenceSid: CONFERENCE(space) } },
  });
  return name;
}

const spacesOfBatches = (body: unknown) =>
  (body as { batches: { space: string }[] }).batches.map((b) => b.space);
const spacesOfSchedules = (body: unknown) =>
  (body as { schedules: { request: { space?: string } }[] }).schedules.map(
    (s) => s.request.space ?? 'default',
  );
const spacesOfDeadLetters = (body: unknown) =>
  (body as { deadLetters: { job: { space: string } }[] }).deadLetters.map((d) => d.job.space);

const json = (payload: unknown) => ({ payload: payload as Record<string, unknown> });

/** The rule and a request (fresh data where the request consumes it) for each known route. */
const ROUTES: Record<
  string,
  { rule: Rule; request?: (fx: ApiFixture, space: Space) => Promise<Partial<InjectOptions>> }
> = {
  'GET /healthz': { rule: { kind: 'public', status: 200 } },
  'GET /openapi.json': { rule: { kind: 'public', status: 200 } },
  'GET /readyz': { rule: { kind: 'public', status: 200 } },
  'GET /admin': { rule: { kind: 'public', status: 302 } },
  'GET /admin/login': { rule: { kind: 'public', status: 200 } },
  'GET /admin/logout': { rule: { kind: 'public', status: 303 } },
  // The form carries its own credential (the bootstrap token here), whoever sends it. Each
  // cell comes from its own address: attempts are rate-limited per address (tested apart).
  'POST /admin/login': {
    rule: { kind: 'public', status: 303 },
    request: async () => ({
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `token=${TOKEN}`,
      remoteAddress: `10.9.${serial >> 8}.${serial++ & 255}`,
    }),
  },
  'GET /metrics': { rule: { kind: 'every-space', role: 'read', status: 200 } },
  'GET /v1/batches': {
    rule: { kind: 'space', role: 'read', status: 200, list: spacesOfBatches },
  },
  'GET /v1/batches/:id': {
    rule: { kind: 'space', role: 'read', status: 200 },
    request: async (fx, space) => {
      const handle = await fx.confbulk.bulkAction({
        action: 'mute',
        space,
        target: { conferenceSid: CONFERENCE(space) },
      });
      return { url: `/v1/batches/${handle.id}` };
    },
  },
  'POST /v1/bulk-actions': {
    rule: { kind: 'space', role: 'write', status: 202 },
    request: async (_fx, space) =>
      json({ action: 'mute', space, target: { conferenceSid: CONFERENCE(space) } }),
  },
  'GET /v1/schedules': {
    rule: { kind: 'space', role: 'read', status: 200, list: spacesOfSchedules },
  },
  'POST /v1/schedules': {
    rule: { kind: 'space', role: 'write', status: 201 },
    request: async (_fx, space) =>
      json({
        name: `weekly-${space}-${next()}`,
        cron: '0 9 * * 1',
        request: { action: 'unmute', space, target: { conferenceSid: CONFERENCE(space) } },
      }),
  },
  'DELETE /v1/schedules/:name': {
    rule: { kind: 'space', role: 'write', status: 204 },
    request: async (fx, space) => ({ url: `/v1/schedules/${await addSchedule(fx, space)}` }),
  },
  'GET /v1/dead-letters': {
    rule: { kind: 'space', role: 'read', status: 200, list: spacesOfDeadLetters },
  },
  'GET /v1/dead-letters/:id': {
    rule: { kind: 'space', role: 'read', status: 200 },
    request: async (fx, space) => ({
      url: `/v1/dead-letters/${await addDeadLetter(fx.deadLetters, space)}`,
    }),
  },
  'POST /v1/dead-letters/replay': {
    rule: { kind: 'space', role: 'admin', status: 200 },
    request: async (fx, space) => json({ ids: [await addDeadLetter(fx.deadLetters, space)] }),
  },
  'DELETE /v1/dead-letters': {
    rule: { kind: 'space', role: 'admin', status: 200 },
    request: async (fx, space) => json({ ids: [await addDeadLetter(fx.deadLetters, space)] }),
  },
  'GET /v1/tokens': { rule: { kind: 'every-space', role: 'admin', status: 200 } },
  'POST /v1/tokens': {
    rule: { kind: 'every-space', role: 'admin', status: 201 },
    request: async () => json({ name: `made-${next()}`, role: 'read' }),
  },
  'DELETE /v1/tokens/:id': {
    rule: { kind: 'every-space', role: 'admin', status: 204 },
    request: async (fx) => ({
      url: `/v1/tokens/${(await fx.tokens.create({ name: `doomed-${next()}`, role: 'read' })).id}`,
    }),
  },
};

const RANK: Record<Role, number> = { read: 0, write: 1, admin: 2 };

/** The status the model gives `caller` on a route of `rule` touching `space`. */
function expected(rule: Rule, caller: Caller, space: Space): number | 'passes' {
  if (rule.kind === 'public') return rule.status;
  if (!caller.role) return 401;
  if (rule.kind === 'dashboard') {
    return caller.role === 'admin' && !caller.limitedTo ? 'passes' : 403;
  }
  if (RANK[caller.role] < RANK[rule.role]) return 403;
  if (caller.limitedTo && rule.kind === 'every-space') return 403;
  // Lists answer 200 to a limited token, filtered (checked separately).
  if (caller.limitedTo && caller.limitedTo !== space && !('list' in rule && rule.list)) return 403;
  return rule.status;
}

function ruleOf(route: RegisteredRoute): Rule | undefined {
  const known = ROUTES[`${route.method === 'HEAD' ? 'GET' : route.method} ${route.url}`];
  if (known) return known.rule;
  if (/^\/admin\/(queues|batches)(\/|$)/.test(route.url)) return { kind: 'dashboard' };
  return undefined;
}

/** Dashboard routes get placeholder parameters: a queue that does not exist changes nothing. */
function fillParams(url: string): string {
  return url.replace(/:queueName/g, 'no-such-queue').replace(/:\w+|\*/g, 'none');
}

async function callers(fx: ApiFixture): Promise<Caller[]> {
  const out: Caller[] = [
    { label: 'no token' },
    { label: 'wrong token', token: `${TOKEN}x` },
    { label: 'bootstrap', token: TOKEN, role: 'admin' },
  ];
  for (const role of ['read', 'write', 'admin'] as const) {
    const all = await fx.tokens.create({ name: `${role} everywhere`, role });
    out.push({ label: `${role} *`, token: all.token, role });
    const one = await fx.tokens.create({ name: `${role} alpha`, role, spaces: ['alpha'] });
    out.push({ label: `${role} alpha`, token: one.token, role, limitedTo: 'alpha' });
  }
  const revoked = await fx.tokens.create({ name: 'revoked', role: 'admin' });
  await fx.tokens.revoke(revoked.id);
  out.push({ label: 'revoked admin', token: revoked.token });
  return out;
}

describe('access matrix: every registered route x caller x space', () => {
  it('answers each cell as the security model says', { timeout: 120_000 }, () =>
    withApi(
      async (fx) => {
        const worker = new Worker('updates.default', async () => {}, {
          connection: { url: testRedisUrl() },
          prefix: queuePrefix(fx.prefix, 'updates.default'),
        });
        await worker.waitUntilReady();
        try {
          // Data of both spaces for the lists.
          for (const space of SPACES) {
            await fx.confbulk.bulkAction({
              action: 'mute',
              space,
              target: { conferenceSid: CONFERENCE(space) },
            });
            await addSchedule(fx, space);
            await addDeadLetter(fx.deadLetters, space);
          }
          const routes = registeredRoutes(fx.app);
          const unknown = routes.filter((r) => !ruleOf(r)).map((r) => `${r.method} ${r.url}`);
          expect(unknown, 'routes without a rule in this test').toEqual([]);
          // The app is the one the server builds: the dashboard and its batch view are in it.
          const names = routes.map((r) => `${r.method} ${r.url}`);
          expect(names).toEqual(
            expect.arrayContaining(['GET /admin/batches', 'GET /admin/queues/', 'GET /metrics']),
          );
          const who = await callers(fx);
          const cells: string[] = [];
          const wrong: string[] = [];
          for (const route of routes) {
            const rule = ruleOf(route) as Rule;
            const known = ROUTES[`${route.method === 'HEAD' ? 'GET' : route.method} ${route.url}`];
            for (const caller of who) {
              for (const space of SPACES) {
                const extra = (await known?.request?.(fx, space)) ?? {};
                const res = await fx.app.inject({
                  method: route.method as InjectOptions['method'],
                  url: fillParams(route.url),
                  ...extra,
                  headers: {
                    accept: 'application/json',
                    ...(extra.headers ?? {}),
                    ...(caller.token && { authorization: `Bearer ${caller.token}` }),
                  },
                });
                const want = expected(rule, caller, space);
                const ok =
                  want === 'passes'
                    ? res.statusCode !== 401 && res.statusCode !== 403
                    : res.statusCode === want;
                const cell = `${route.method} ${route.url} | ${caller.label} | ${space}: ${res.statusCode} (want ${want})`;
                cells.push(cell);
                if (!ok) wrong.push(cell);
                if (
                  ok &&
                  rule.kind === 'space' &&
                  rule.list &&
                  caller.limitedTo &&
                  route.method === 'GET'
                ) {
                  const seen = new Set(rule.list(res.json()));
                  if ([...seen].some((s) => s !== caller.limitedTo)) {
                    wrong.push(`${cell}: list shows spaces ${[...seen].join(', ')}`);
                  }
                }
              }
            }
          }
          expect(wrong).toEqual([]);
          // Every kind of route took part: the table is not trivially small.
          expect(routes.length).toBeGreaterThan(20);
          expect(cells.length).toBe(routes.length * who.length * SPACES.length);
        } finally {
          await worker.close();
        }
      },
      { env: SPACE_ENV, ops: true },
    ),
  );
});
