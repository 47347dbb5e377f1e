/**
 * Schedule limits: the smallest gap of a cron pattern, the cap per space, and runs that
 * would start too late (skipped and recorded, no batch), on a real Redis through the
 * producer and the schedules queue's own processor.
 */
import { Queue, type Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, type ConfbulkConfig } from '../../src/config.js';
import { ValidationError } from '../../src/errors.js';
import { BatchStore } from '../../src/batches/store.js';
import { BulkActionSubmitter } from '../../src/bulk-actions/submit.js';
import { ProducerKeys, queuePrefix } from '../../src/keys.js';
import { silentLogger } from '../../src/logger.js';
import { createConfbulk } from '../../src/producer/confbulk.js';
import { QUEUE_NAMES } from '../../src/queues.js';
import { SkippedRuns } from '../../src/schedules/limits.js';
import {
  createScheduleProcessor,
  validateScheduleSpec,
  type ScheduleJobData,
} from '../../src/schedules/schedules.js';
import type { ScheduleSpec } from '../../src/types.js';
import { testConfig, withScene } from '../producer/support.js';

const CONFERENCE = '4f1b6e6a-1111-4000-8000-000000000001';
const request = { action: 'mute' as const, target: { conferenceSid: CONFERENCE } };

function withLimits(config: ConfbulkConfig, limits: Partial<ConfbulkConfig['schedule']>) {
  return { ...config, schedule: { ...DEFAULTS.schedule, ...limits } };
}

async function refusal(promise: Promise<unknown>): Promise<ValidationError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ValidationError);
  return err as ValidationError;
}

describe('minimum interval of a cron schedule', () => {
  it('refuses a pattern whose runs come closer than CONFBULK_SCHEDULE_MIN_INTERVAL_MS, naming cron', () => {
    const check = (cron: string, minIntervalMs: number) => () =>
      validateScheduleSpec(withLimits(testConfig('{unused}'), { minIntervalMs }), {
        name: 'x',
        cron,
        request,
      });
    for (const cron of ['* * * * * *', '*/10 * * * * *', '0,30 * * * * *', '0,1 9 * * 1']) {
      expect(check(cron, 120_000)).toThrow(
        /^cron: '.*' runs \d+ s apart at its closest; the minimum is 120 s \(CONFBULK_SCHEDULE_MIN_INTERVAL_MS\)$/,
      );
    }
    expect(check('*/5 9 * * *', 120_000)).not.toThrow();
    expect(check('*/10 * * * * *', 10_000)).not.toThrow();
    expect(check('* * * * * *', 0)).not.toThrow();
    expect(DEFAULTS.schedule.minIntervalMs).toBe(60_000);
  });
});

describe('schedules of a space', () => {
  it('are capped by CONFBULK_SCHEDULE_MAX_PER_SPACE; replacing one by name is not adding one', () =>
    withScene(async ({ config, redis }) => {
      const capped = withLimits(config, { maxPerSpace: 2 });
      const confbulk = await createConfbulk({ config: capped, connection: redis });
      try {
        const spec = (name: string): ScheduleSpec => ({ name, cron: '0 9 * * *', request });
        await confbulk.schedules.add(spec('a'));
        await confbulk.schedules.add(spec('b'));
        const err = await refusal(confbulk.schedules.add(spec('c')));
        expect(err.field).toBe('request.space');
        expect(err.message).toMatch(
          /^request\.space: space 'default' has 2 schedules, the most allowed \(CONFBULK_SCHEDULE_MAX_PER_SPACE = 2\)/,
        );
        await confbulk.schedules.add({ ...spec('b'), cron: '0 10 * * *' });
        expect((await confbulk.schedules.list()).map((s) => s.name).sort()).toEqual(['a', 'b']);
        await confbulk.schedules.remove('a');
        await confbulk.schedules.add(spec('c'));
      } finally {
        await confbulk.close();
      }
    }));
});

describe('a run that would start late', () => {
  it('is skipped and recorded with the schedule, and creates no batch; a run on time does', () =>
    withScene(async ({ config, redis, confbulk }) => {
      const keys = new ProducerKeys(config.prefix);
      const batches = new BatchStore({ redis, keys });
      const fanout = new Queue(QUEUE_NAMES.fanout, {
        connection: redis,
        prefix: queuePrefix(config.prefix, QUEUE_NAMES.fanout),
      });
      const schedules = new Queue(QUEUE_NAMES.schedules, {
        connection: redis,
        prefix: queuePrefix(config.prefix, QUEUE_NAMES.schedules),
      });
      try {
        const added = await confbulk.schedules.add({ name: 'nightly', cron: '0 3 * * *', request });
        const process = createScheduleProcessor({
          submitter: new BulkActionSubmitter(config, batches, () => fanout),
          queue: schedules,
          logger: silentLogger,
          skipped: new SkippedRuns(redis, keys),
          maxLateMs: 60_000,
        });
        const run = (runAt: number, attemptsMade = 0) =>
          process({
            id: `repeat:nightly:${runAt}`,
            attemptsMade,
            data: { spec: added, createdAt: added.createdAt },
          } as unknown as Job<ScheduleJobData>);

        const due = Date.now() - 10 * 60_000;
        const late = await run(due);
        expect(late).toEqual({
          skipped: 'late',
          runAt: new Date(due).toISOString(),
          lateMs: expect.any(Number),
        });
        expect((late as { lateMs: number }).lateMs).toBeGreaterThanOrEqual(10 * 60_000);
        expect(await confbulk.listBatches()).toEqual([]);
        await run(due + 1000);
        const [listed] = await confbulk.schedules.list();
        expect(listed?.lastSkippedRun).toMatchObject({
          runAt: new Date(due + 1000).toISOString(),
          count: 2,
        });

        // A retry of a run that began on time is not skipped: its batch may exist already.
        const retried = await run(due, 1);
        expect(retried).toMatchObject({ created: true });
        const onTime = await run(Date.now() - 1000);
        expect(onTime).toMatchObject({ created: true });
        expect((await confbulk.listBatches()).map((b) => b.schedule)).toEqual([
          'nightly',
          'nightly',
        ]);
        await confbulk.schedules.remove('nightly');
        expect(await redis.hget(keys.skippedRuns(), 'nightly')).toBeNull();
      } finally {
        await fanout.close();
        await schedules.close();
      }
    }));
});
