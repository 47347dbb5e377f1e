/**
 * The fan-out's way to the first update, by order of events (its speed is measured by
 * `npm run bench -- --scenario mass-mute`): for a conference given by SID, the first page
 * is asked for while the conference is checked, its participants are enqueued before the
 * next page is answered, and nothing of the listing is used before the check passed (an
 * ended conference fails the batch with no job). The API is the real client against the
 * mock, wrapped only to record and order its calls.
 */
import type { Job, Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import type { Fanout, FanoutJobData } from '../../src/fanout/fanout.js';
import type { ListParticipantsOptions, ParticipantsApi } from '../../src/signalwire/api.js';
import type { Participant } from '../../src/signalwire/types.js';
import { withScene, type Scene } from '../producer/support.js';
import { withFanoutParts } from './support.js';

/** How long a held call waits for the event it is held for before it goes on regardless. */
const HOLD_MS = 10_000;

async function until(check: () => boolean | Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + HOLD_MS;
  while (!(await check())) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

interface Holds {
  /** Runs before the conference's GET is sent. */
  beforeConference?: (events: string[]) => Promise<void>;
  /** Runs once the conference's GET was answered, before the fan-out hears of it. */
  afterConference?: () => Promise<void>;
  /** Runs before page `n` (1-based) is handed to the fan-out. */
  beforePage?: (n: number, events: string[]) => Promise<void>;
}

/** The real client, recording its calls in `events` and holding them where `holds` says. */
function recorded(api: ParticipantsApi, events: string[], holds: Holds): ParticipantsApi {
  return {
    space: api.space,
    updateParticipant: (...args) => api.updateParticipant(...args),
    getParticipant: (...args) => api.getParticipant(...args),
    removeParticipant: (...args) => api.removeParticipant(...args),
    listParticipants: (...args) => api.listParticipants(...args),
    listConferences: (...args) => api.listConferences(...args),
    close: () => api.close(),
    async getConference(sid, options) {
      events.push('conference asked');
      await holds.beforeConference?.(events);
      const conference = await api.getConference(sid, options);
      events.push(`conference answered ${conference.status}`);
      await holds.afterConference?.();
      return conference;
    },
    listParticipantPages(sid: string, options?: ListParticipantsOptions) {
      const pages = api.listParticipantPages(sid, options);
      return (async function* (): AsyncGenerator<Participant[]> {
        let n = 0;
        const it = pages[Symbol.asyncIterator]();
        for (;;) {
          n++;
          events.push(`page ${n} asked`);
          const next = await it.next();
          if (next.done) return;
          await holds.beforePage?.(n, events);
          events.push(`page ${n} answered`);
          yield next.value;
        }
      })();
    },
  };
}

const fakeJob = (batchId: string): Job<FanoutJobData> =>
  ({ data: { batchId }, attemptsMade: 0, opts: { attempts: 8 } }) as unknown as Job<FanoutJobData>;

/** A fan-out over the recorded client, and the space's updates queue to count its jobs. */
async function withRecordedFanout<T>(
  scene: Scene,
  holds: (updates: Queue) => Holds,
  fn: (fanout: Fanout, updates: Queue, events: string[]) => Promise<T>,
): Promise<T> {
  const events: string[] = [];
  let hold: Holds = {};
  return withFanoutParts(
    scene,
    (fanout, updates) => {
      hold = holds(updates);
      return fn(fanout, updates, events);
    },
    (api) => recorded(api, events, hold),
  );
}

const queued = (updates: Queue): Promise<number> =>
  updates.getJobCountByTypes('waiting', 'delayed', 'prioritized');

describe('fan-out: the first page', () => {
  it('is asked for while a conference given by SID is checked, and enqueued before the next page is answered', async () => {
    await withScene(
      async (scene) => {
        const { mock, account, confbulk } = scene as Required<Scene>;
        // Pages of 20 (the first), 1000 and 180.
        const conference = mock.createConference(account.accountSid, { participants: 1200 });
        const met: Record<string, boolean> = {};
        await withRecordedFanout(
          scene,
          (updates) => ({
            // The conference's answer waits until the first page was asked for: a fan-out
            // that checks first and lists second would wait here for nothing.
            beforeConference: async (events) => {
              met.pageAskedDuringCheck = await until(() => events.includes('page 1 asked'));
            },
            // Nothing is queued before the check answered.
            afterConference: async () => {
              met.nothingQueuedBeforeCheck = (await queued(updates)) === 0;
            },
            // The second page waits until the first page's participants are queued.
            beforePage: async (n) => {
              if (n === 2)
                met.firstPageQueued = await until(async () => (await queued(updates)) >= 20);
            },
          }),
          async (fanout, updates, events) => {
            const handle = await confbulk.bulkAction({
              action: 'mute',
              target: { conferenceSid: conference.sid },
            });
            const result = await fanout.processor(fakeJob(handle.id));
            expect(result).toMatchObject({ state: 'running', total: 1200 });
            expect(met).toEqual({
              pageAskedDuringCheck: true,
              nothingQueuedBeforeCheck: true,
              firstPageQueued: true,
            });
            expect(events.indexOf('page 1 asked')).toBeLessThan(
              events.indexOf('conference answered in-progress'),
            );
            expect(await queued(updates)).toBe(1200);
            // The first page is the small one, the rest pages of 1000.
            const lists = mock
              .requestLog()
              .filter((e) => e.method === 'GET' && e.path.endsWith('/Participants.json'));
            expect(lists.map((e) => e.params?.PageSize)).toEqual(['20', '1000', '1000']);
          },
        );
      },
      { withMock: true },
    );
  });

  it('is never used when the conference given by SID turns out to have ended: the batch fails, no job', async () => {
    await withScene(
      async (scene) => {
        const { mock, account, confbulk } = scene as Required<Scene>;
        const conference = mock.createConference(account.accountSid, { participants: 30 });
        await withRecordedFanout(
          scene,
          () => ({
            // The first page (of 30 live participants) has been answered when the check
            // finds the conference ended.
            beforeConference: async (events) => {
              await until(() => events.includes('page 1 answered'));
              mock.completeConference(conference.sid);
            },
          }),
          async (fanout, updates, events) => {
            const handle = await confbulk.bulkAction({
              action: 'mute',
              target: { conferenceSid: conference.sid },
            });
            const since = Date.now();
            const result = await fanout.processor(fakeJob(handle.id));
            expect(events).toContain('page 1 answered');
            expect(events).toContain('conference answered completed');
            expect(result.state).toBe('failed');
            const batch = await confbulk.getBatch(handle.id);
            expect(batch?.error).toBe(
              `conference ${conference.sid} in space default has already ended`,
            );
            expect(batch?.counts.total).toBe(0);
            expect(await queued(updates)).toBe(0);
            expect(mock.requestLog(since).filter((e) => e.method === 'POST')).toEqual([]);
          },
        );
      },
      { withMock: true },
    );
  });
});
