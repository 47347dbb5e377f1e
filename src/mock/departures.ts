/**
 * Participants leaving on their own while a bulk action runs, as happens in large
 * conferences: `count` random present participants leave at evenly spaced moments over
 * `overMs`. One ticking timer serves a whole departure schedule, however many leave.
 */
import { checkInteger } from './options.js';
import type { MockState, ParticipantRecord } from './state.js';

export interface LeaveOptions {
  conferenceSid: string;
  /** Participants that leave; at most the number present. */
  count: number;
  /** Period over which they leave; 0 = all at once, before `leave()` returns. @defaultValue 0 */
  overMs?: number;
  /** Call SIDs that never leave (a host, say); `count` is at most the others present. */
  stay?: readonly string[];
}

export interface LeaveHandle {
  /** Call SIDs of the leavers, in the order they leave. */
  callSids: string[];
  /** Resolves when the last one has left (or the mock stopped). */
  done: Promise<void>;
}

const MIN_TICK_MS = 5;
const MAX_TICK_MS = 50;

/** `k` distinct random items of `items` (partial Fisher-Yates). */
function sample<T>(items: T[], k: number, random: () => number): T[] {
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (items.length - i));
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items.slice(0, k);
}

export class Departures {
  private readonly schedules = new Set<{ timer: NodeJS.Timeout; finish: () => void }>();

  constructor(
    private readonly state: MockState,
    private readonly random: () => number,
  ) {}

  leave(options: LeaveOptions): LeaveHandle {
    const conference = this.state.requireConference(options.conferenceSid);
    const stay = new Set(options.stay ?? []);
    const candidates = [...conference.participants.values()].filter((p) => !stay.has(p.callSid));
    const count = checkInteger('count', options.count, 0, candidates.length);
    const overMs = checkInteger('overMs', options.overMs ?? 0, 0, 86_400_000);
    const leavers = sample(candidates, count, this.random);
    const callSids = leavers.map((p) => p.callSid);
    if (overMs === 0 || count === 0) {
      for (const p of leavers) this.state.depart(p, 'left');
      return { callSids, done: Promise.resolve() };
    }
    return { callSids, done: this.schedule(leavers, overMs) };
  }

  /** Ends every schedule; participants not yet gone stay. */
  stop(): void {
    for (const schedule of this.schedules) schedule.finish();
  }

  private schedule(leavers: ParticipantRecord[], overMs: number): Promise<void> {
    const started = performance.now();
    const step = overMs / leavers.length;
    const tickMs = Math.min(MAX_TICK_MS, Math.max(MIN_TICK_MS, step));
    let next = 0;
    return new Promise<void>((resolve) => {
      const schedule = {
        timer: setInterval(() => {
          const elapsed = performance.now() - started;
          while (next < leavers.length && (next + 1) * step <= elapsed) {
            this.state.depart(leavers[next++] as ParticipantRecord, 'left');
          }
          if (next >= leavers.length) schedule.finish();
        }, tickMs),
        finish: () => {
          clearInterval(schedule.timer);
          this.schedules.delete(schedule);
          resolve();
        },
      };
      this.schedules.add(schedule);
    });
  }
}
