/**
 * Mass mute at SignalWire's documented limit: "mute everyone but the host" on a
 * 10,000-participant conference at `13800/10s`, through the producer library
 * (`createConfbulk().bulkAction`), two worker processes with their default concurrency,
 * the mock enforcing the same sliding 10 s window and answering in 80 ms +- 10 ms. Then
 * "unmute everyone but the host" right after: that batch must wait for the window to free
 * up, exactly. Measured from each producer call: the first and the last POST at the mock,
 * the 429s, and the busiest 10 s window over the whole log.
 *
 * Baseline, same run, same mock: two bare BullMQ workers with BullMQ's own limiter
 * `{ max: 13800, duration: 10000 }` (a fixed window) and the same concurrency, fed the same
 * two batches of pre-enqueued jobs, one right after the other.
 */
import type { RateLimitSpec } from '../../src/config.js';
import { createConfbulk } from '../../src/producer/confbulk.js';
import type { Scenario, Target } from './support/scenario.js';
import { withStack, type Stack } from './support/stack.js';
import { seconds, type Row } from './support/table.js';
import { maxInWindow, postTimes, until, wallNow } from './support/window.js';

const LIMIT: RateLimitSpec = { count: 13_800, durationMs: 10_000 };
const PROCESSES = 2;
/** confbulk's default (config.ts); the baseline gets the same. */
const CONCURRENCY = 500;

interface Round {
  implementation: 'confbulk' | 'BullMQ limiter';
  batch: 'mute (window empty)' | 'unmute right after';
  participants: number;
  /** From the producer call (or the enqueue, baseline). */
  firstPostMs: number;
  lastPostMs: number;
  rateLimited: number;
  /** Arrivals at the mock before the first POST (confbulk): its conference and list GETs. */
  before?: { conferenceGetMs: number; firstListGetMs: number };
}

/** When the fan-out's conference check and first list page arrived at the mock, from `t0`. */
function gets(stack: Stack, t0: number, sid: string): Round['before'] {
  const log = stack.mock.requestLog().filter((e) => e.method === 'GET' && e.t >= t0);
  const at = (suffix: string): number => (log.find((e) => e.path.endsWith(suffix))?.t ?? NaN) - t0;
  return {
    conferenceGetMs: at(`/Conferences/${sid}.json`),
    firstListGetMs: at(`/Conferences/${sid}/Participants.json`),
  };
}

/** POSTs of the log after `since` (wall ms), and how many of them were answered 429. */
function postsSince(stack: Stack, since: number): { times: number[]; rateLimited: number } {
  const log = stack.mock.requestLog().filter((e) => e.method === 'POST' && e.t >= since);
  return {
    times: log.map((e) => e.t).sort((a, b) => a - b),
    rateLimited: log.filter((e) => e.status === 429).length,
  };
}

async function confbulkRounds(
  stack: Stack,
  n: number,
): Promise<{ rounds: Round[]; busiest: number }> {
  const env = { CONFBULK_RATE_LIMIT: `${LIMIT.count}/${LIMIT.durationMs}ms` };
  const workers = Array.from({ length: PROCESSES }, () => stack.spawnWorker({ env }));
  await Promise.all(workers.map((w) => w.ready()));
  const confbulk = await createConfbulk({ config: stack.config(env), pollMs: 50 });
  const [host] = stack.conference.callSids;
  const rounds: Round[] = [];
  try {
    for (const action of ['mute', 'unmute'] as const) {
      const t0 = wallNow();
      const handle = await confbulk.bulkAction({
        action,
        target: { conferenceSid: stack.conference.sid, except: [host as string] },
      });
      await handle.completed({ timeoutMs: 120_000 });
      const { times, rateLimited } = postsSince(stack, t0);
      rounds.push({
        implementation: 'confbulk',
        batch: action === 'mute' ? 'mute (window empty)' : 'unmute right after',
        participants: n,
        firstPostMs: (times[0] ?? NaN) - t0,
        lastPostMs: (times[times.length - 1] ?? NaN) - t0,
        rateLimited,
        before: gets(stack, t0, stack.conference.sid),
      });
    }
  } finally {
    await confbulk.close();
    await Promise.all(workers.map((w) => w.stop()));
  }
  return { rounds, busiest: maxInWindow(postTimes(stack.mock.requestLog()), LIMIT.durationMs) };
}

async function baselineRounds(
  stack: Stack,
  n: number,
): Promise<{ rounds: Round[]; busiest: number }> {
  await stack.reset();
  stack.mock.setRateLimit(LIMIT); // an empty window again
  stack.mock.setFaults({ latencyMs: 70, jitterMs: 20 });
  const workers = Array.from({ length: PROCESSES }, () =>
    stack.spawnBareWorker({
      env: {
        BENCH_CONCURRENCY: String(CONCURRENCY),
        BENCH_LIMIT: `${LIMIT.count}/${LIMIT.durationMs}`,
      },
    }),
  );
  await Promise.all(workers.map((w) => w.ready()));
  const queue = stack.queues().queue('default');
  const rounds: Round[] = [];
  const others = stack.conference.callSids.slice(1);
  for (const [i, batch] of (['mute (window empty)', 'unmute right after'] as const).entries()) {
    const t0 = wallNow();
    await stack.queues().addJobs(stack.jobs(`baseline-${i}`, others));
    await until(
      async () => (await queue.getJobCountByTypes('completed')) >= n * (i + 1),
      120_000,
      `baseline batch ${i + 1}`,
      50,
    );
    const { times, rateLimited } = postsSince(stack, t0);
    rounds.push({
      implementation: 'BullMQ limiter',
      batch,
      participants: n,
      firstPostMs: (times[0] ?? NaN) - t0,
      lastPostMs: (times[times.length - 1] ?? NaN) - t0,
      rateLimited,
    });
  }
  await Promise.all(workers.map((w) => w.stop()));
  return { rounds, busiest: maxInWindow(postTimes(stack.mock.requestLog()), LIMIT.durationMs) };
}

export const massMute: Scenario = {
  name: 'mass-mute',
  title: 'Mass mute at 13800/10s: a whole room from an empty window, then a second one right after',
  async run({ quick, log }) {
    const n = quick ? 3000 : 10_000;
    return withStack({ participants: n + 1, mock: { rateLimit: LIMIT } }, async (stack) => {
      stack.mock.setFaults({ latencyMs: 70, jitterMs: 20 });
      const ours = await confbulkRounds(stack, n);
      for (const r of ours.rounds) {
        log(
          `mass-mute: confbulk ${r.batch}: last update ${seconds(r.lastPostMs)}, 429s ${r.rateLimited}`,
        );
      }
      const mutedOk = stack.mock.participants(stack.conference.sid).filter((p) => p.muted).length;
      const base = await baselineRounds(stack, n);
      const rows: Row[] = [...ours.rounds, ...base.rounds].map((r) => ({
        implementation: r.implementation,
        batch: r.batch,
        participants: r.participants,
        'first POST': seconds(r.firstPostMs),
        'last POST': seconds(r.lastPostMs),
        '429s': r.rateLimited,
      }));
      const [first, second] = ours.rounds as [Round, Round];
      const ms = (v: number | undefined): string => `${Math.round(v ?? NaN)} ms`;
      const timeline = ours.rounds.map(
        (r) =>
          `${r.batch}: conference GET ${ms(r.before?.conferenceGetMs)}, first page GET ${ms(r.before?.firstListGetMs)}, first POST ${ms(r.firstPostMs)}`,
      );
      const targets: Target[] = [
        {
          what: 'first batch: producer call to last update',
          target: '<= 3.0 s',
          got: seconds(first.lastPostMs),
          met: first.lastPostMs <= 3000,
        },
        {
          what: 'first batch: producer call to first update',
          target: '<= 150 ms',
          got: `${Math.round(first.firstPostMs)} ms`,
          met: first.firstPostMs <= 150,
        },
        {
          what: '429s, first batch / second batch',
          target: '0 / 0',
          got: `${first.rateLimited} / ${second.rateLimited}`,
          met: first.rateLimited === 0 && second.rateLimited === 0,
        },
        {
          what: 'busiest 10 s window at the mock (both batches)',
          target: `<= ${LIMIT.count}`,
          got: String(ours.busiest),
          met: ours.busiest <= LIMIT.count,
        },
        {
          what: 'participants unmuted again after the second batch (host untouched)',
          target: '0 muted',
          got: `${mutedOk} muted`,
          met: mutedOk === 0,
        },
      ];
      return {
        redis: stack.redis.version,
        rows,
        targets,
        notes: [
          `${PROCESSES} worker processes, ${CONCURRENCY} in flight each (confbulk's default); mock: sliding ${LIMIT.count} per ${LIMIT.durationMs / 1000} s, 80 ms +- 10 ms. Times from the producer call (confbulk) or from the start of the enqueue (baseline).`,
          n > LIMIT.count - n
            ? `The second batch can only use what the first left in the window (${LIMIT.count - n} of ${LIMIT.count}) until the first batch's grants leave it 10 s (+ margin) after they were made, so its last update comes about 10 s after the first batch's.`
            : `Both batches fit in one window (${2 * n} of ${LIMIT.count}): quick sizes do not make the second one wait.`,
          `Arrivals at the mock from the producer call (confbulk): ${timeline.join('; ')}. The mock answers each after 80 ms +- 10 ms.`,
          `Busiest 10 s window over the baseline's log: ${base.busiest} (BullMQ's limiter counts fixed windows, so a second batch starting in a new one goes over the sliding limit).`,
        ],
        data: {
          participants: n,
          processes: PROCESSES,
          concurrency: CONCURRENCY,
          limit: LIMIT,
          ours,
          base,
        },
      };
    });
  },
};
