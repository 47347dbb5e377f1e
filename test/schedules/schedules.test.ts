/**
 * Schedules: validated completely up front (nothing stored otherwise), listed with their
 * next run, removed by name; an `at` schedule fires once, a cron fires repeatedly, and a
 * schedule outlives the workers that ran it (it lives in Redis).
 */
import { CronExpressionParser } from 'cron-parser';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import type { Batch, ScheduleSpec } from '../../src/types.js';
import { eventually, keysUnder, withScene, type Scene } from '../producer/support.js';
import { spawnWorker, type ChildWorker } from '../worker/support/child-worker.js';

const request = {
  action: 'hold-music' as const,
  target: { conferenceName: 'daily-standup' },
  params: { HoldUrl: 'https://music.example.com/standup.mp3' },
};
const inSeconds = (s: number): string => new Date(Date.now() + s * 1000).toISOString();

/** [what is wrong, spec, field] */
const BAD: [string, unknown, string][] = [
  ['neither at nor cron', { name: 'x', request }, 'at'],
  ['both at and cron', { name: 'x', at: inSeconds(60), cron: '0 9 * * *', request }, 'at'],
  ['at in the past', { name: 'x', at: '2001-01-01T00:00:00Z', request }, 'at'],
  ['at without offset', { name: 'x', at: '2099-01-01T09:00:00', request }, 'at'],
  ['at not a date', { name: 'x', at: 'tomorrow at nine', request }, 'at'],
  ['tz with at', { name: 'x', at: inSeconds(60), tz: 'Europe/Berlin', request }, 'tz'],
  ['cron with 4 fields', { name: 'x', cron: '0 9 * *', request }, 'cron'],
  ['cron out of range', { name: 'x', cron: '61 9 * * *', request }, 'cron'],
  ['unknown tz', { name: 'x', cron: '0 9 * * 1-5', tz: 'Europe/Atlantis', request }, 'tz'],
  ['bad name', { name: 'daily standup!', cron: '0 9 * * *', request }, 'name'],
  ['unknown field', { name: 'x', cron: '0 9 * * *', every: 5, request }, 'every'],
  [
    'invalid request',
    { name: 'x', cron: '0 9 * * *', request: { ...request, params: {} } },
    'request.params.HoldUrl',
  ],
  [
    'invalid request target',
    {
      name: 'x',
      cron: '0 9 * * *',
      request: { action: 'mute', target: { conferenceSid: 'nope' } },
    },
    'request.target.conferenceSid',
  ],
];

async function batchesOf(scene: Scene, schedule: string): Promise<Batch[]> {
  return (await scene.confbulk.listBatches({ limit: 1000 })).filter((b) => b.schedule === schedule);
}

/**
 * The cron tick a batch ran for: the time in the id of the job BullMQ made for the tick
 * (a scheduled batch's idempotency key is `schedule:<that id>`).
 */
function tickOf(batch: Batch): number {
  const tick = Number(/^schedule:repeat:.+:(\d+)$/.exec(batch.idempotencyKey ?? '')?.[1]);
  if (!Number.isFinite(tick))
    throw new Error(`batch ${batch.id} names no tick: ${batch.idempotencyKey}`);
  return tick;
}

describe('schedules', () => {
  it('rejects each bad schedule naming the field, storing nothing', async () => {
    await withScene(async ({ confbulk, redis, prefix }) => {
      for (const [what, spec, field] of BAD) {
        const err = await confbulk.schedules.add(spec as ScheduleSpec).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, what).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).field, `${what}: ${(err as Error).message}`).toBe(field);
        expect((err as Error).message.startsWith(`${field}: `), (err as Error).message).toBe(true);
      }
      expect(await keysUnder(redis, prefix)).toEqual([]);
    });
  });

  it('adds, lists with the next run, replaces by name and removes a weekday cron in a time zone', async () => {
    await withScene(async ({ confbulk }) => {
      const spec = { name: 'standup-music', cron: '0 9 * * 1-5', tz: 'Europe/Berlin', request };
      const added = await confbulk.schedules.add(spec);
      const expectedNext = CronExpressionParser.parse(spec.cron, { tz: spec.tz })
        .next()
        .toDate()
        .toISOString();
      expect(added).toMatchObject({ ...spec, nextRunAt: expectedNext });
      await confbulk.schedules.add({ name: 'one-off', at: '2099-01-31T09:00:00+01:00', request });
      await confbulk.schedules.add({ ...spec, cron: '30 9 * * 1-5' }); // same name: replaced
      const list = await confbulk.schedules.list();
      expect(list.map((s) => s.name)).toEqual(['standup-music', 'one-off']);
      expect(list[0]?.cron).toBe('30 9 * * 1-5');
      expect(list[1]?.nextRunAt).toBe('2099-01-31T08:00:00.000Z');
      expect(list[0]?.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      expect(await confbulk.schedules.remove('standup-music')).toBe(true);
      expect(await confbulk.schedules.remove('standup-music')).toBe(false);
      expect((await confbulk.schedules.list()).map((s) => s.name)).toEqual(['one-off']);
    });
  });

  it('fires an at schedule once, resolving the conference by name at run time, and keeps a record of the run', async () => {
    await withScene(
      async (scene) => {
        const { mock, account, confbulk } = scene as Required<Scene>;
        await scene.startWorkers();
        await confbulk.schedules.add({ name: 'music-soon', at: inSeconds(1.5), request });
        // The conference starts after the schedule was made: the name is resolved when it runs.
        const conference = mock.createConference(account.accountSid, {
          participants: 30,
          hold: 10,
          friendlyName: 'daily-standup',
        });
        await eventually(async () => (await batchesOf(scene, 'music-soon')).length === 1, 20_000);
        const [batch] = await batchesOf(scene, 'music-soon');
        const done = await confbulk.waitForBatch(batch?.id as string, { timeoutMs: 20_000 });
        expect(done).toMatchObject({
          state: 'completed',
          conferenceSid: conference.sid,
          counts: { total: 10, succeeded: 10 },
        });
        expect(
          mock.participants(conference.sid).filter((p) => p.holdUrl === request.params.HoldUrl),
        ).toHaveLength(10);
        // Once: its scheduler is gone, and the list keeps a record of the run, not a next one.
        await eventually(
          async () => (await confbulk.schedules.list()).every((s) => s.fired !== undefined),
          5000,
        );
        const listed = await confbulk.schedules.list();
        expect(listed).toHaveLength(1);
        expect(listed[0]).toMatchObject({
          name: 'music-soon',
          fired: { batchId: batch?.id, at: expect.any(String) },
        });
        expect(listed[0]?.nextRunAt).toBeUndefined();
        expect(await batchesOf(scene, 'music-soon')).toHaveLength(1);
        // Removing it forgets the record.
        expect(await confbulk.schedules.remove('music-soon')).toBe(true);
        expect(await confbulk.schedules.list()).toEqual([]);
      },
      { withMock: true },
    );
  });

  it('fires a per-second cron repeatedly, and keeps firing after the workers restart', async () => {
    await withScene(
      async (scene) => {
        const { mock, account, confbulk } = scene as Required<Scene>;
        mock.createConference(account.accountSid, {
          participants: 3,
          friendlyName: 'daily-standup',
        });
        const spec = {
          name: 'every-second',
          cron: '*/1 * * * * *',
          request: { action: 'mute' as const, target: { conferenceName: 'daily-standup' } },
        };
        const first = await scene.startWorkers();
        await confbulk.schedules.add(spec);
        await eventually(async () => (await batchesOf(scene, 'every-second')).length >= 2, 20_000);
        const runs = await batchesOf(scene, 'every-second');
        // One batch per tick.
        expect(new Set(runs.map(tickOf)).size).toBe(runs.length);

        await first.stop();
        const stoppedAt = Date.now();
        await scene.startWorkers();
        await eventually(
          async () =>
            (await batchesOf(scene, 'every-second')).some(
              (b) => Date.parse(b.createdAt) > stoppedAt,
            ),
          20_000,
        );
        expect((await confbulk.schedules.list()).map((s) => s.name)).toEqual(['every-second']);
      },
      { withMock: true },
    );
  });

  it(
    'fires a per-second cron once a tick while two worker processes run it at the same time',
    { timeout: 90_000 },
    async () => {
      await withScene(
        async (scene) => {
          const { mock, account, confbulk, prefix } = scene as Required<Scene>;
          mock.createConference(account.accountSid, { participants: 2, friendlyName: 'standup' });
          const env = {
            REDIS_URL: scene.config.redisUrl ?? '',
            REDIS_CLUSTER_NODES: scene.config.redisClusterNodes?.join(',') ?? '',
            CONFBULK_PREFIX: prefix,
            SIGNALWIRE_SPACE_URL: mock.url,
            SIGNALWIRE_PROJECT_ID: account.accountSid,
            SIGNALWIRE_API_TOKEN: account.token,
            // Seconds crons are allowed here; a deployment keeps a longer minimum.
            CONFBULK_SCHEDULE_MIN_INTERVAL_MS: '1000',
          };
          const workers: ChildWorker[] = [spawnWorker(env), spawnWorker(env)];
          try {
            await Promise.all(workers.map((w) => w.ready(30_000)));
            await confbulk.schedules.add({
              name: 'each-second',
              cron: '* * * * * *',
              request: { action: 'mute', target: { conferenceName: 'standup' } },
            });
            await eventually(
              async () => (await batchesOf(scene, 'each-second')).length >= 5,
              30_000,
            );
            await confbulk.schedules.remove('each-second');
            // A tick in flight when the schedule went still ends; then nothing more comes.
            await new Promise((r) => setTimeout(r, 1500));
            const runs = await batchesOf(scene, 'each-second');
            // Each tick made exactly one batch.
            const ticks = runs.map(tickOf);
            expect(ticks.every((t) => t % 1000 === 0)).toBe(true);
            expect(new Set(ticks).size).toBe(runs.length);
            const sorted = [...ticks].sort((a, b) => a - b);
            expect(sorted.slice(1).every((t, i) => t - (sorted[i] as number) >= 1000)).toBe(true);
            // Both processes were up the whole time, and each tick's job ran once in one of them.
            for (const w of workers) expect(w.proc.exitCode, w.output()).toBeNull();
            const submitted = workers.map(
              (w) =>
                w
                  .output()
                  .split('\n')
                  .filter((l) => l.includes('"scheduled bulk action submitted"')).length,
            );
            expect(submitted.reduce((a, b) => a + b, 0)).toBe(runs.length);
            await new Promise((r) => setTimeout(r, 1200));
            expect((await batchesOf(scene, 'each-second')).length).toBe(runs.length);
          } finally {
            for (const w of workers) await w.kill();
          }
        },
        { withMock: true },
      );
    },
  );
});
