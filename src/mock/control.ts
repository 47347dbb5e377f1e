/**
 * The mock's control surface: what tests, the demo, benchmarks and chaos runs use to set
 * the scene (accounts, conferences), inject faults and read what happened. The same
 * operations are served over HTTP under `/_mock` (see control-http.ts).
 */
import type { RateLimitSpec } from '../config.js';
import type { Departures, LeaveHandle, LeaveOptions } from './departures.js';
import type { FaultInjector, FaultSnapshot } from './faults.js';
import { checkRateLimit, type FaultConfig, type OutageMode } from './options.js';
import type { AccountRateLimits } from './rate-window.js';
import type { MockCounters, RequestLog, RequestLogEntry } from './request-log.js';
import type {
  ConferenceRecord,
  CreateAccountOptions,
  CreateConferenceOptions,
  MockState,
  ParticipantRecord,
} from './state.js';

export interface MockAccount {
  accountSid: string;
  token: string;
}

export interface MockConference {
  sid: string;
  /** Call SIDs of its participants, in list order. */
  callSids: string[];
}

/** A participant as the mock holds it, including what the API does not return. */
export type ParticipantState = Omit<ParticipantRecord, 'seq'>;

export interface ConferenceState {
  sid: string;
  accountSid: string;
  friendlyName: string;
  status: ConferenceRecord['status'];
  region: string;
  /** Participants present now. */
  participants: number;
  /** Conference-wide announcements played. */
  announcements: number;
  dateCreated: number;
  dateUpdated: number;
}

export interface RateLimitSnapshot {
  default: RateLimitSpec | RateLimitSpec[] | null;
  accounts: Record<string, RateLimitSpec | RateLimitSpec[] | null>;
}

export interface MockControl {
  /** Creates an account; a random UUID and token unless given. */
  createAccount(options?: CreateAccountOptions): MockAccount;
  /** Rotates an account's token; the old one answers 401 from now on. */
  setToken(accountSid: string, token: string): void;
  createConference(accountSid: string, options: CreateConferenceOptions): MockConference;
  /** Ends a conference (see compat-api.ts for what its participants then answer). */
  completeConference(conferenceSid: string): void;
  conference(conferenceSid: string): ConferenceState | undefined;
  /** Participants present in a conference (and, with `includeGone`, those that left or were removed). */
  participants(conferenceSid: string, options?: { includeGone?: boolean }): ParticipantState[];
  /** Any participant ever created, present or gone. */
  participant(callSid: string): ParticipantState | undefined;
  /** Random participants leave over a period; later requests for them answer as a leaver's (see `leavers`). */
  leave(options: LeaveOptions): LeaveHandle;
  /** Merges faults into those in force. */
  setFaults(faults: FaultConfig): void;
  /** Ends every fault, outages and forced 429s included. */
  clearFaults(): void;
  faults(): FaultSnapshot;
  /** Every API request fails for `ms`: answered 503, or its socket reset. @defaultValue mode `503` */
  outage(ms: number, mode?: OutageMode): void;
  /** Every POST is answered 429 (with Retry-After) for `ms`. */
  force429(ms: number): void;
  /** Sets the default limit, or one account's; `null` removes the limit. Windows restart empty. */
  setRateLimit(limit: RateLimitSpec | RateLimitSpec[] | null, accountSid?: string): void;
  rateLimits(): RateLimitSnapshot;
  counters(): MockCounters;
  /** Logged requests that arrived after `since` (epoch ms), oldest first. */
  requestLog(since?: number): RequestLogEntry[];
  /** Empties the request log and zeroes the counters. */
  resetLog(): void;
}

export interface MockParts {
  state: MockState;
  rateLimits: AccountRateLimits;
  faults: FaultInjector;
  log: RequestLog;
  departures: Departures;
}

function participantState(p: ParticipantRecord): ParticipantState {
  const { seq: _seq, ...rest } = p;
  return rest;
}

function conferenceState(c: ConferenceRecord): ConferenceState {
  return {
    sid: c.sid,
    accountSid: c.accountSid,
    friendlyName: c.friendlyName,
    status: c.status,
    region: c.region,
    participants: c.participants.size,
    announcements: c.announcements,
    dateCreated: c.dateCreated,
    dateUpdated: c.dateUpdated,
  };
}

function cloneCounters(c: MockCounters): MockCounters {
  return { ...c, byMethod: { ...c.byMethod }, byStatus: { ...c.byStatus } };
}

export function createControl({
  state,
  rateLimits,
  faults,
  log,
  departures,
}: MockParts): MockControl {
  return {
    createAccount(options) {
      const account = state.createAccount(options);
      return { accountSid: account.sid, token: account.token };
    },
    setToken: (accountSid, token) => state.setToken(accountSid, token),
    createConference(accountSid, options) {
      const conference = state.createConference(accountSid, options);
      return { sid: conference.sid, callSids: [...conference.participants.keys()] };
    },
    completeConference: (sid) => void state.completeConference(sid),
    conference(sid) {
      const conference = state.conferences.get(sid);
      return conference && conferenceState(conference);
    },
    participants(sid, options = {}) {
      const conference = state.requireConference(sid);
      if (!options.includeGone) return [...conference.participants.values()].map(participantState);
      const all: ParticipantState[] = [];
      for (const p of state.calls.values()) {
        if (p.conferenceSid === sid) all.push(participantState(p));
      }
      return all;
    },
    participant(callSid) {
      const p = state.calls.get(callSid);
      return p && participantState(p);
    },
    leave: (options) => departures.leave(options),
    setFaults: (config) => faults.set(config),
    clearFaults: () => faults.clear(),
    faults: () => faults.snapshot(),
    outage: (ms, mode = '503') => faults.startOutage(ms, mode),
    force429: (ms) => faults.startForce429(ms),
    setRateLimit(limit, accountSid) {
      if (accountSid !== undefined) state.requireAccount(accountSid);
      rateLimits.set(checkRateLimit('limit', limit), accountSid);
    },
    rateLimits: () => rateLimits.snapshot(),
    counters: () => cloneCounters(log.counters),
    requestLog: (since) => log.list(since),
    resetLog: () => log.reset(),
  };
}
