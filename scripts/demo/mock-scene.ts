/**
 * The demo's mock scene: one account, one conference, and realistic trouble during the
 * run: participants leaving, a short outage answered 503, a burst of 429s, and two
 * participants whose updates the API always rejects.
 */
import type { RateLimitSpec } from '../../src/config.js';
import type { MockAccount, MockServer } from '../../src/mock/index.js';
import { startMock } from '../../src/mock/index.js';

export interface MockScene {
  mock: MockServer;
  account: MockAccount;
  conferenceSid: string;
  /** Call SIDs in list order; the first is the host. */
  callSids: string[];
  host: string;
  /** Stops the trouble still scheduled and the mock. Idempotent. */
  stop(): Promise<void>;
}

export interface TroublePlan {
  /** Participants that leave during the run. */
  leavers: number;
  /** When the 503 outage starts, after the first applied update, and how long it lasts (ms). */
  outageAtMs: number;
  outageMs: number;
  /**
   * How long the 429 burst lasts (ms). It starts with the first update applied after the
   * outage, so that it meets requests whatever the outage left to send.
   */
  burstMs: number;
  /** Participants whose updates are rejected (400 and 422). */
  rejected: number;
}

/** Trouble spread over the run that `participants` at `rateLimit` should take. */
export function planTrouble(participants: number, rateLimit: RateLimitSpec): TroublePlan {
  const runMs = (participants / rateLimit.count) * rateLimit.durationMs;
  const outageAtMs = Math.round(Math.max(300, runMs * 0.2));
  const outageMs = 1500;
  return {
    leavers: Math.min(Math.max(1, Math.round(participants * 0.015)), Math.max(0, participants - 4)),
    outageAtMs,
    outageMs,
    burstMs: 1000,
    rejected: participants >= 4 ? 2 : 0,
  };
}

/** Starts the mock with a conference of `participants`; the first call SID is the host. */
export async function startMockScene(participants: number): Promise<MockScene> {
  // No account limit on the mock: the demo's own limiter keeps the pace.
  const mock = await startMock({ rateLimit: null });
  const account = mock.createAccount();
  const conference = mock.createConference(account.accountSid, { participants });
  const host = conference.callSids[0];
  if (!host) throw new TypeError('`participants` must be at least 1');
  let stopping: Promise<void> | undefined;
  return {
    mock,
    account,
    conferenceSid: conference.sid,
    callSids: conference.callSids,
    host,
    stop: () => (stopping ??= mock.stop()),
  };
}

export interface RunningTrouble {
  leavers: string[];
  rejected: string[];
  /** Cancels what has not started yet and ends faults in force. Idempotent. */
  stop(): void;
}

/**
 * Starts the trouble of `plan`: leavers are drawn first, so that the rejected participants
 * (never the host) are not among them and stay to be dead-lettered. Call it just before
 * the batch is created.
 */
export function startTrouble(
  scene: MockScene,
  plan: TroublePlan,
  note: (text: string) => void,
): RunningTrouble {
  const { mock } = scene;
  const spreadMs = Math.max(plan.outageAtMs + plan.outageMs + plan.burstMs, 1000);
  const leave = mock.leave({
    conferenceSid: scene.conferenceSid,
    count: plan.leavers,
    overMs: spreadMs,
    // The host stays: the demo shows everyone muted but them.
    stay: [scene.host],
  });
  const leaving = new Set(leave.callSids);
  const rejected = scene.callSids
    .filter((sid) => sid !== scene.host && !leaving.has(sid))
    .slice(-plan.rejected);
  const statuses = [400, 422] as const;
  mock.setFaults({
    rejectCalls: Object.fromEntries(
      rejected.map((sid, i) => [sid, { status: statuses[i % 2] ?? 400, code: 21220 }]),
    ),
  });
  note(
    `  trouble: ${plan.leavers} participants leave during the run; ${rejected.length} are in a state the API rejects`,
  );
  // The outage counts from the first applied update, so that it hits the updates however
  // long the fan-out took; the burst comes with the first update applied after the outage.
  const timers: NodeJS.Timeout[] = [];
  const watchers: NodeJS.Timeout[] = [];
  const onceApplied = (after: number, fn: () => void): void => {
    const watcher = setInterval(() => {
      if (mock.counters().appliedUpdates <= after) return;
      clearInterval(watcher);
      fn();
    }, 5);
    watchers.push(watcher);
  };
  onceApplied(0, () =>
    timers.push(
      setTimeout(() => {
        note(`  trouble: the API answers 503 to everything for ${plan.outageMs / 1000} s`);
        mock.outage(plan.outageMs);
        timers.push(
          setTimeout(
            () =>
              onceApplied(mock.counters().appliedUpdates, () => {
                note(
                  `  trouble: the API answers 429 (Too Many Requests) to every update for ${plan.burstMs / 1000} s`,
                );
                mock.force429(plan.burstMs);
              }),
            plan.outageMs,
          ),
        );
      }, plan.outageAtMs),
    ),
  );
  let stopped = false;
  return {
    leavers: leave.callSids,
    rejected,
    stop() {
      if (stopped) return;
      stopped = true;
      for (const watcher of watchers) clearInterval(watcher);
      for (const timer of timers) clearTimeout(timer);
      mock.clearFaults();
    },
  };
}
