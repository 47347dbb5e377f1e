/**
 * Accounts, conferences and participants of the mock, in memory.
 *
 * Records are plain mutable objects kept lean (a 10,000-participant conference is
 * normal): a conference holds its present participants in insertion order, which is the
 * paging order, and a global index by call SID keeps every participant ever created,
 * including those that left or were removed, so tests can read their final state.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { ConferenceStatus } from '../signalwire/types.js';
import { MOCK_DEFAULTS, checkInteger } from './options.js';

export interface AccountRecord {
  sid: string;
  token: string;
  /** `Basic base64(sid:token)`, so the usual header is matched without decoding. */
  authHeader: string;
  dateCreated: number;
}

export interface ConferenceRecord {
  sid: string;
  accountSid: string;
  friendlyName: string;
  status: ConferenceStatus;
  region: string;
  /** Paging order among conferences. */
  seq: number;
  dateCreated: number;
  dateUpdated: number;
  /** Present participants, in paging order. */
  participants: Map<string, ParticipantRecord>;
  nextParticipantSeq: number;
  /** Conference-wide announcements played (`POST .../Conferences/{sid}` with AnnounceUrl). */
  announcements: number;
}

export type DepartureReason = 'left' | 'removed';

export interface ParticipantRecord {
  callSid: string;
  conferenceSid: string;
  accountSid: string;
  /** Paging order within the conference. */
  seq: number;
  muted: boolean;
  hold: boolean;
  coaching: boolean;
  callSidToCoach: string | null;
  endConferenceOnExit: boolean;
  startConferenceOnEnter: boolean;
  holdUrl: string | null;
  holdMethod: 'GET' | 'POST' | null;
  waitUrl: string | null;
  waitMethod: 'GET' | 'POST' | null;
  announceUrl: string | null;
  announceMethod: 'GET' | 'POST' | null;
  /** Announcements played to this participant (each accepted POST with AnnounceUrl). */
  announcements: number;
  /** Accepted updates (POST) of this participant. */
  updates: number;
  dateCreated: number;
  dateUpdated: number;
  /** Set when the participant left on its own (`leave()`) or was removed (DELETE). */
  gone: DepartureReason | null;
  goneAt: number | null;
}

export interface CreateAccountOptions {
  /** @defaultValue a random UUID */
  accountSid?: string;
  /** @defaultValue a random token */
  token?: string;
}

export interface CreateConferenceOptions {
  /** Participants joined from the start. */
  participants: number;
  /** @defaultValue `mock-conference-<n>` */
  friendlyName?: string;
  /** @defaultValue `in-progress` */
  status?: ConferenceStatus;
  /** Reported as `region`. @defaultValue `us1` */
  region?: string;
  /** How many participants start muted, spread evenly over the list. @defaultValue 0 */
  muted?: number;
  /** How many participants start on hold, spread evenly over the list. @defaultValue 0 */
  hold?: number;
}

const CONFERENCE_STATUSES: readonly ConferenceStatus[] = ['init', 'in-progress', 'completed'];

/** Whether index `i` of `n` is one of `k` spread evenly: exactly k of the n indexes are. */
function spreadPick(i: number, n: number, k: number): boolean {
  return Math.floor(((i + 1) * k) / n) > Math.floor((i * k) / n);
}

export function basicAuthHeader(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

export class MockState {
  readonly accounts = new Map<string, AccountRecord>();
  readonly conferences = new Map<string, ConferenceRecord>();
  /** Every participant ever created, present or gone. */
  readonly calls = new Map<string, ParticipantRecord>();
  private readonly byAuthHeader = new Map<string, AccountRecord>();
  private nextConferenceSeq = 0;

  createAccount(options: CreateAccountOptions = {}): AccountRecord {
    const sid = options.accountSid ?? randomUUID();
    const token = options.token ?? `PT${randomBytes(24).toString('hex')}`;
    if (typeof sid !== 'string' || sid.length === 0 || sid.includes('/') || sid.includes(':')) {
      throw new TypeError('`accountSid` must be a non-empty string without `/` or `:`');
    }
    if (typeof token !== 'string' || token.length === 0) {
      throw new TypeError('`token` must be a non-empty string');
    }
    if (this.accounts.has(sid)) throw new TypeError(`account ${sid} already exists`);
    const account: AccountRecord = {
      sid,
      token,
      authHeader: basicAuthHeader(sid, token),
      dateCreated: Date.now(),
    };
    this.accounts.set(sid, account);
    this.byAuthHeader.set(account.authHeader, account);
    return account;
  }

  /** Rotates an account's token; the old one answers 401 from now on. */
  setToken(accountSid: string, token: string): void {
    const account = this.requireAccount(accountSid);
    if (typeof token !== 'string' || token.length === 0) {
      throw new TypeError('`token` must be a non-empty string');
    }
    this.byAuthHeader.delete(account.authHeader);
    account.token = token;
    account.authHeader = basicAuthHeader(accountSid, token);
    this.byAuthHeader.set(account.authHeader, account);
  }

  /** The account whose Basic credentials `header` carries, if they are right. */
  authenticate(header: string | undefined): AccountRecord | undefined {
    if (!header) return undefined;
    const fast = this.byAuthHeader.get(header);
    if (fast) return fast;
    const m = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!m?.[1]) return undefined;
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const account = this.accounts.get(decoded.slice(0, colon));
    return account && account.token === decoded.slice(colon + 1) ? account : undefined;
  }

  createConference(accountSid: string, options: CreateConferenceOptions): ConferenceRecord {
    this.requireAccount(accountSid);
    const n = checkInteger('participants', options.participants, 0, 1_000_000);
    const muted = checkInteger('muted', options.muted ?? 0, 0, n);
    const hold = checkInteger('hold', options.hold ?? 0, 0, n);
    const status = options.status ?? 'in-progress';
    if (!CONFERENCE_STATUSES.includes(status)) {
      throw new TypeError(
        `\`status\` must be one of ${CONFERENCE_STATUSES.join(', ')}; got ${String(status)}`,
      );
    }
    const seq = this.nextConferenceSeq++;
    const now = Date.now();
    const conference: ConferenceRecord = {
      sid: randomUUID(),
      accountSid,
      friendlyName: options.friendlyName ?? `mock-conference-${seq + 1}`,
      status,
      region: options.region ?? MOCK_DEFAULTS.region,
      seq,
      dateCreated: now,
      dateUpdated: now,
      participants: new Map(),
      nextParticipantSeq: 0,
      announcements: 0,
    };
    this.conferences.set(conference.sid, conference);
    for (let i = 0; i < n; i++) {
      this.addParticipant(conference, spreadPick(i, n, muted), spreadPick(i, n, hold), now);
    }
    return conference;
  }

  /** Ends a conference: its participants are no longer listed nor updatable. */
  completeConference(conferenceSid: string): ConferenceRecord {
    const conference = this.requireConference(conferenceSid);
    conference.status = 'completed';
    conference.dateUpdated = Date.now();
    return conference;
  }

  /** Takes a participant out of its conference; later requests for it answer as a leaver's. */
  depart(participant: ParticipantRecord, reason: DepartureReason): void {
    if (participant.gone) return;
    participant.gone = reason;
    participant.goneAt = Date.now();
    this.conferences.get(participant.conferenceSid)?.participants.delete(participant.callSid);
  }

  requireAccount(accountSid: string): AccountRecord {
    const account = this.accounts.get(accountSid);
    if (!account) throw new TypeError(`unknown account ${accountSid}`);
    return account;
  }

  requireConference(conferenceSid: string): ConferenceRecord {
    const conference = this.conferences.get(conferenceSid);
    if (!conference) throw new TypeError(`unknown conference ${conferenceSid}`);
    return conference;
  }

  private addParticipant(
    conference: ConferenceRecord,
    muted: boolean,
    hold: boolean,
    now: number,
  ): void {
    const participant: ParticipantRecord = {
      callSid: randomUUID(),
      conferenceSid: conference.sid,
      accountSid: conference.accountSid,
      seq: conference.nextParticipantSeq++,
      muted,
      hold,
      coaching: false,
      callSidToCoach: null,
      endConferenceOnExit: false,
      startConferenceOnEnter: true,
      holdUrl: null,
      holdMethod: null,
      waitUrl: null,
      waitMethod: null,
      announceUrl: null,
      announceMethod: null,
      announcements: 0,
      updates: 0,
      dateCreated: now,
      dateUpdated: now,
      gone: null,
      goneAt: null,
    };
    conference.participants.set(participant.callSid, participant);
    this.calls.set(participant.callSid, participant);
  }
}
