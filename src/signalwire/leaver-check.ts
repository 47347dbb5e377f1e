/**
 * Tells a participant who left from a request the API rejected. SignalWire answers an
 * update of a participant whose call completed with 422 and code 10000, the same code as
 * an invalid argument, so neither the status nor the code can tell a leaver from a wrong
 * request; a 200 whose participant says `status: completed` is as ambiguous (SignalWire's
 * own update example answers that way). A follow-up `GET` of the participant can: 404 or
 * `status: completed` means the participant left, `in-progress` means it is still there.
 *
 * The GETs are paced in-process with `bottleneck`: SignalWire does not rate-limit GETs, so
 * they cost no POST budget, but a mass departure in a large conference would otherwise turn
 * every worker's in-flight jobs into one burst of GETs at once. A local Bottleneck (no
 * Redis) bounds both the GETs in flight and their rate per process, which is what is
 * wanted here: no cross-process accounting, nothing to clean up.
 */
import Bottleneck from 'bottleneck';
import type { ParticipantsApi } from './api.js';
import { isSignalWireError } from './errors.js';

/** `left`: 404 or `completed`; `present`: the participant is in progress; `unknown`: the GET failed. */
export type LeaverVerdict =
  | { verdict: 'left'; how: 'not-found' | 'completed' }
  | { verdict: 'present'; status: string }
  | { verdict: 'unknown'; error: unknown };

export interface LeaverCheckOptions {
  /** Follow-up GETs in flight at once in this process. @defaultValue 8 */
  maxConcurrent?: number;
  /** Least time between two GETs started by this process, in ms. @defaultValue 5 (at most 200/s) */
  minTimeMs?: number;
}

export const LEAVER_CHECK_DEFAULTS = { maxConcurrent: 8, minTimeMs: 5 } as const;

export class LeaverCheck {
  readonly #client: Pick<ParticipantsApi, 'getParticipant'>;
  readonly #limiter: Bottleneck;
  #checks = 0;

  constructor(client: Pick<ParticipantsApi, 'getParticipant'>, options: LeaverCheckOptions = {}) {
    this.#client = client;
    this.#limiter = new Bottleneck({
      maxConcurrent: options.maxConcurrent ?? LEAVER_CHECK_DEFAULTS.maxConcurrent,
      minTime: options.minTimeMs ?? LEAVER_CHECK_DEFAULTS.minTimeMs,
    });
  }

  /** Follow-up GETs started so far. */
  get checks(): number {
    return this.#checks;
  }

  /** Whether the participant left, by one paced `GET`. Never throws. */
  verdict(conferenceSid: string, callSid: string, signal?: AbortSignal): Promise<LeaverVerdict> {
    return this.#limiter.schedule(async (): Promise<LeaverVerdict> => {
      this.#checks++;
      try {
        const { participant } = await this.#client.getParticipant(conferenceSid, callSid, {
          signal,
        });
        return participant.status === 'completed'
          ? { verdict: 'left', how: 'completed' }
          : { verdict: 'present', status: String(participant.status) };
      } catch (error) {
        if (isSignalWireError(error) && error.status === 404) {
          return { verdict: 'left', how: 'not-found' };
        }
        return { verdict: 'unknown', error };
      }
    });
  }
}
