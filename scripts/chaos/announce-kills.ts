/**
 * `kill -9` of worker processes during an announcement, where a repeat is audible: three
 * workers, a mock that takes 300 ms to answer (so that many announcements are in flight at
 * each kill), five kills, each of a busy worker, replaced at once. Promises: no participant
 * hears it twice, every participant is accounted for (succeeded + gone + dead letters =
 * total), and the `unsafe-retry` dead letters (announcements that may have played, never
 * sent again) are no more than the requests the mock had in flight at the kills.
 */
import { DeadLetters } from '../../src/dead-letters/dead-letters.js';
import { fmt, seconds } from '../bench/support/table.js';
import { wallNow } from '../bench/support/window.js';
import { check, type ChaosScenario } from './support/scenario.js';
import { RECOVERY_ARGS, secretChecks, waitForBatch, withScene } from './support/scene.js';

const LATENCY_MS = 300;
const KILLS = 5;
const WORKERS = 3;

/** Dead letters by reason. */
async function deadLettersOf(
  scene: Parameters<Parameters<typeof withScene>[1]>[0],
): Promise<{ byReason: Record<string, number>; callSids: string[] }> {
  const { stack } = scene;
  const deadLetters = new DeadLetters({ connection: stack.client, prefix: stack.prefix });
  try {
    const entries = await deadLetters.list({ limit: 100_000 });
    const byReason: Record<string, number> = {};
    for (const e of entries) byReason[e.reason] = (byReason[e.reason] ?? 0) + 1;
    return { byReason, callSids: entries.map((e) => e.job.callSid) };
  } finally {
    await deadLetters.close();
  }
}

export const announceKills: ChaosScenario = {
  name: 'announce-kills',
  title: 'kill -9 of worker processes five times during an announcement (300 ms answers)',
  async run({ quick, log }) {
    const n = quick ? 800 : 2000;
    const rate = quick ? 150 : 250;
    const options = {
      participants: n,
      workers: WORKERS,
      rateLimit: `${rate}/1s`,
      latencyMs: LATENCY_MS,
    };
    return withScene(options, async (scene) => {
      const { stack } = scene;
      const started = wallNow();
      const handle = await scene.confbulk.bulkAction({
        action: 'announce',
        target: { conferenceSid: stack.conference.sid },
        params: { AnnounceUrl: 'https://example.com/announcement.xml' },
      });
      const live = [...scene.workers];
      const inFlightAtKills: number[] = [];
      for (let k = 0; k < KILLS; k++) {
        const slot = k % live.length;
        const target = live[slot];
        if (!target) break;
        await scene.waitApplied(Math.floor((n * (k + 1)) / (KILLS + 2)));
        await target.ready();
        if (scene.applied() >= n) break;
        // What the API has received and not answered yet, the instant before the kill.
        const inFlight = stack.mock
          .requestLog()
          .filter((e) => e.method === 'POST' && e.status === 0).length;
        await target.kill('SIGKILL');
        inFlightAtKills.push(inFlight);
        log(
          `announce-kills: killed ${target.name} at ${scene.applied()}/${n} played, ${inFlight} in flight`,
        );
        live[slot] = scene.spawnWorker();
      }
      const { batch, ended } = await waitForBatch(scene, handle.id, (n / rate) * 3000 + 90_000);
      const doneAt = wallNow();
      const participants = stack.mock.participants(stack.conference.sid);
      const twice = participants.filter((p) => p.announcements > 1).length;
      const played = participants.filter((p) => p.announcements === 1).length;
      const { byReason, callSids: deadSids } = await deadLettersOf(scene);
      const heard = new Map(participants.map((p) => [p.callSid, p.announcements]));
      // A dead letter that was played reached the API before the kill; one that was not
      // had left the worker or was about to: the send record cannot tell them apart.
      const deadPlayed = deadSids.filter((sid) => heard.get(sid) === 1).length;
      const unsafe = byReason['unsafe-retry'] ?? 0;
      const deadLetters = Object.values(byReason).reduce((s, x) => s + x, 0);
      const c = batch.counts;
      const accounted = c.succeeded + c.gone + c.deadLettered;
      const inFlight = inFlightAtKills.reduce((s, x) => s + x, 0);
      // Every participant the batch counts as succeeded heard it exactly once.
      const silentSucceeded = Math.max(0, c.succeeded - played);
      const secrets = await secretChecks(scene);
      return {
        figures: {
          participants: n,
          kills: inFlightAtKills.length,
          'in flight at the kills': `${inFlight} (${inFlightAtKills.join(', ')})`,
          'heard twice': twice,
          played,
          succeeded: c.succeeded,
          gone: c.gone,
          'unsafe-retry dead letters': unsafe,
          'unsafe-retry played / not played': `${deadPlayed} / ${deadSids.length - deadPlayed}`,
          'other dead letters': deadLetters - unsafe,
          'batch time': seconds(doneAt - started),
          'unsafe-retry share of in-flight': inFlight ? fmt(unsafe / inFlight, 2) : '-',
        },
        checks: [
          check(
            `${KILLS} kill -9 during the batch`,
            inFlightAtKills.length === KILLS,
            `${inFlightAtKills.length} kills`,
          ),
          check(
            'no participant hears the announcement twice',
            twice === 0,
            `${twice} heard it twice`,
          ),
          check(
            'every participant accounted for: succeeded + gone + dead letters = total',
            ended && batch.state === 'completed' && c.total === n && accounted === n,
            `state ${batch.state}: ${c.succeeded} + ${c.gone} + ${c.deadLettered} = ${accounted} of ${c.total}/${n}, pending ${c.pending}`,
          ),
          check(
            'each dead letter is in the dead-letter queue, each success was played',
            deadLetters === c.deadLettered && silentSucceeded === 0,
            `${deadLetters} entries for ${c.deadLettered} counted; ${played} played for ${c.succeeded} succeeded`,
          ),
          check(
            'unsafe-retry dead letters <= requests in flight at the kills',
            unsafe <= inFlight,
            `${unsafe} <= ${inFlight}`,
          ),
          ...secrets.checks,
        ],
        notes: [
          `${WORKERS} worker processes x ${scene.concurrency} in flight, ${rate}/s, mock answers after ${LATENCY_MS}-${LATENCY_MS + 10} ms; workers started with ${RECOVERY_ARGS.join(' ')}.`,
          'In flight: POSTs the mock had received and not answered the instant before each kill, all workers together (only the killed one\'s can become dead letters). A killed worker\'s announcements that had left it were played (the mock applies on arrival) whether or not their answer came back; their jobs return as stalled, find their send record and become unsafe-retry dead letters instead of playing again. "Played / not played" says how many of those participants did hear it.',
        ],
      };
    });
  },
};
