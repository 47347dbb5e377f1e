/**
 * Mass mute: "mute everyone but the host" on a 10,000-participant conference at 1,380/s,
 * through the producer library (`createConfbulk().bulkAction`), two worker processes and
 * the mock (80 ms +- 10 ms, enforcing 1,380 per sliding second). Measures, from the
 * producer call: the first POST at the mock, the batch fully enqueued (listing done), the
 * last POST at the mock and the batch seen completed; against the lower bound N / limit.
 */
import { createConfbulk } from '../../src/producer/confbulk.js';
import type { Batch } from '../../src/types.js';
import type { Scenario } from './support/scenario.js';
import { withStack } from './support/stack.js';
import { seconds, type Row } from './support/table.js';
import { maxInWindow, postTimes, sleep, wallNow } from './support/window.js';

const LIMIT = { count: 1380, durationMs: 1000 };
const PROCESSES = 2;
const CONCURRENCY = 200;

export const massMute: Scenario = {
  name: 'mass-mute',
  title: 'Mass mute: everyone but the host, at 1,380/s, from the producer call to the last update',
  async run({ quick, log }) {
    const n = quick ? 2000 : 10_000;
    return withStack({ participants: n + 1, mock: { rateLimit: LIMIT } }, async (stack) => {
      stack.mock.setFaults({ latencyMs: 70, jitterMs: 20 });
      const env = {
        CONFBULK_CONCURRENCY: String(CONCURRENCY),
        CONFBULK_RATE_LIMIT: `${LIMIT.count}/${LIMIT.durationMs}ms`,
      };
      const workers = Array.from({ length: PROCESSES }, () => stack.spawnWorker({ env }));
      await Promise.all(workers.map((w) => w.ready()));
      const confbulk = await createConfbulk({ config: stack.config(env), pollMs: 100 });
      const [host, ...others] = stack.conference.callSids;
      let enqueuedAt: number | undefined;
      let batch: Batch;
      const t0 = wallNow();
      try {
        const handle = await confbulk.bulkAction({
          action: 'mute',
          target: { conferenceSid: stack.conference.sid, except: [host as string] },
        });
        const accepted = wallNow();
        const watchListing = (async () => {
          for (;;) {
            const b = await confbulk.getBatch(handle.id);
            if (b && b.state !== 'listing') return wallNow();
            await sleep(20);
          }
        })();
        batch = await handle.completed({ timeoutMs: 120_000 });
        const completedAt = wallNow();
        enqueuedAt = await watchListing;
        const times = postTimes(stack.mock.requestLog());
        const first = (times[0] ?? NaN) - t0;
        const last = (times[times.length - 1] ?? NaN) - t0;
        const lowerBound = (n / LIMIT.count) * 1000;
        const muted = stack.mock.participants(stack.conference.sid).filter((p) => p.muted);
        const hostMuted = muted.some((p) => p.callSid === host);
        log(`mass-mute: last update after ${seconds(last)} (lower bound ${seconds(lowerBound)})`);
        const rows: Row[] = [
          {
            measure: 'producer call returned (batch accepted)',
            time: seconds(accepted - t0),
            'x lower bound': '-',
          },
          { measure: 'first POST at the mock', time: seconds(first), 'x lower bound': '-' },
          {
            measure: 'batch fully enqueued (listing done)',
            time: seconds(enqueuedAt - t0),
            'x lower bound': '-',
          },
          {
            measure: 'last POST at the mock',
            time: seconds(last),
            'x lower bound': `${(last / lowerBound).toFixed(3)}x`,
          },
          {
            measure: 'batch seen completed by the producer',
            time: seconds(completedAt - t0),
            'x lower bound': `${((completedAt - t0) / lowerBound).toFixed(3)}x`,
          },
          {
            measure: `lower bound N / limit (${n} / ${LIMIT.count}/s)`,
            time: seconds(lowerBound),
            'x lower bound': '1.000x',
          },
        ];
        const budget = 1.05 * lowerBound + 1000;
        return {
          redis: stack.redis.version,
          rows,
          targets: [
            {
              what: 'producer call to last update at the mock',
              target: `<= 1.05 x N/limit + 1 s = ${seconds(budget)}`,
              got: seconds(last),
              met: last <= budget,
            },
            {
              what: 'participants muted (host left alone)',
              target: `${others.length}, host unmuted`,
              got: `${muted.length}${hostMuted ? ', host MUTED' : ', host unmuted'}`,
              met: muted.length === others.length && !hostMuted,
            },
            {
              what: '429s received',
              target: '0',
              got: String(stack.mock.counters().rateLimited),
              met: stack.mock.counters().rateLimited === 0,
            },
          ],
          notes: [
            `${PROCESSES} worker processes x ${CONCURRENCY} in flight; mock latency 80 ms +- 10 ms, limit ${LIMIT.count} per sliding ${LIMIT.durationMs} ms (confbulk configured the same).`,
            `Batch counts: ${JSON.stringify(batch.counts)}; busiest 1 s window ${maxInWindow(times, LIMIT.durationMs)} POSTs.`,
          ],
          data: {
            participants: n,
            processes: PROCESSES,
            concurrency: CONCURRENCY,
            limit: LIMIT,
            ms: {
              accepted: accepted - t0,
              firstPost: first,
              enqueued: enqueuedAt - t0,
              lastPost: last,
              completed: completedAt - t0,
              lowerBound,
            },
            batch,
            busiestWindow: maxInWindow(times, LIMIT.durationMs),
            rateLimited: stack.mock.counters().rateLimited,
          },
        };
      } finally {
        await confbulk.close();
      }
    });
  },
};
