/**
 * What the mock answers: resource JSON exactly as the Compatibility API shapes it, and
 * SignalWire error bodies (`code`, `message`, `more_info`, `status`).
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { Conference, Participant, ParticipantStatus } from '../signalwire/types.js';
import { API_PREFIX } from './options.js';
import type { AccountRecord, ConferenceRecord, ParticipantRecord } from './state.js';

/** An answer before it is written: handlers return these, the server writes them. */
export interface ApiAnswer {
  status: number;
  /** Omitted for 204. */
  body?: string;
  /** @defaultValue `application/json; charset=utf-8` when there is a body */
  contentType?: string;
  headers?: OutgoingHttpHeaders;
}

/**
 * SignalWire error codes the mock answers with, from SignalWire's published error-code
 * list (not Twilio's): the same code can name several causes there, as 10000 does.
 */
export const ErrorCode = {
  /**
   * An invalid argument, a required argument left blank, or an update of a completed call
   * or of a participant of a completed conference.
   */
  invalidArgument: 10000,
  /** Conference attributes invalid, or the participant to be coached is not in the conference. */
  conferenceAttributes: 16002,
  authentication: 20003,
  /** The resource does not exist (also answered, with status 405, for a method it does not have). */
  notFound: 20404,
  tooManyRequests: 20429,
  internal: 20504,
  /** The call is not in a state that allows the operation (e.g. not in progress). */
  invalidState: 21220,
} as const;

/** `more_info` of error answers: SignalWire's error-code page, anchored at the code. */
const MORE_INFO = 'https://developer.signalwire.com/rest/error-codes';

/** An API error with its `code` (SignalWire's) under the given HTTP `status`. */
export interface ApiError {
  status: number;
  code: number;
  message: string;
}

export function errorBody(error: ApiError): string {
  return JSON.stringify({
    code: error.code,
    message: error.message,
    more_info: `${MORE_INFO}#${error.code}`,
    status: error.status,
  });
}

export function errorAnswer(status: number, code: number, message: string): ApiAnswer {
  return { status, body: errorBody({ status, code, message }) };
}

export function jsonAnswer(status: number, value: unknown): ApiAnswer {
  return { status, body: JSON.stringify(value) };
}

export const unauthorized = (): ApiAnswer => ({
  ...errorAnswer(401, ErrorCode.authentication, 'Authentication Error - invalid username'),
  headers: { 'WWW-Authenticate': 'Basic realm="SignalWire"' },
});

export const notFound = (what: string): ApiAnswer =>
  errorAnswer(404, ErrorCode.notFound, `The requested resource ${what} was not found`);

/** SignalWire documents no 405 nor a code for it: 405 (HTTP's word) with 20404 (no such resource). */
export const methodNotAllowed = (method: string, allowed: string[]): ApiAnswer => ({
  ...errorAnswer(
    405,
    ErrorCode.notFound,
    `Method ${method} is not allowed here; allowed: ${allowed.join(', ')}`,
  ),
  headers: { Allow: allowed.join(', ') },
});

/** RFC 2822 date as the Compatibility API writes it: `Tue, 02 Jan 2024 15:04:05 +0000`. */
export function rfc2822(epochMs: number): string {
  return new Date(epochMs).toUTCString().replace('GMT', '+0000');
}

export function accountPath(accountSid: string): string {
  return `${API_PREFIX}/Accounts/${accountSid}`;
}

export function conferencePath(c: Pick<ConferenceRecord, 'accountSid' | 'sid'>): string {
  return `${accountPath(c.accountSid)}/Conferences/${c.sid}`;
}

/**
 * A participant's `status`: SignalWire's enum is `in-progress` / `completed` (Twilio's
 * `connected` is not among them); a participant who left, was removed or whose
 * conference ended is `completed`.
 */
export function participantStatus(
  p: ParticipantRecord,
  conference: ConferenceRecord,
): ParticipantStatus {
  return p.gone !== null || conference.status === 'completed' ? 'completed' : 'in-progress';
}

export function participantJson(p: ParticipantRecord, status: ParticipantStatus): Participant {
  return {
    account_sid: p.accountSid,
    call_sid: p.callSid,
    call_sid_to_coach: p.callSidToCoach,
    coaching: p.coaching,
    conference_sid: p.conferenceSid,
    date_created: rfc2822(p.dateCreated),
    date_updated: rfc2822(p.dateUpdated),
    end_conference_on_exit: p.endConferenceOnExit,
    muted: p.muted,
    hold: p.hold,
    start_conference_on_enter: p.startConferenceOnEnter,
    status,
    uri: `${API_PREFIX}/Accounts/${p.accountSid}/Conferences/${p.conferenceSid}/Participants/${p.callSid}.json`,
  };
}

/** Conference JSON with every field SignalWire's conference schema requires, and no other. */
export function conferenceJson(c: ConferenceRecord): Conference {
  const path = conferencePath(c);
  return {
    sid: c.sid,
    account_sid: c.accountSid,
    friendly_name: c.friendlyName,
    status: c.status,
    date_created: rfc2822(c.dateCreated),
    date_updated: rfc2822(c.dateUpdated),
    api_version: '2010-04-01',
    region: c.region,
    uri: `${path}.json`,
    subresource_uris: {
      participants: `${path}/Participants.json`,
      recordings: `${path}/Recordings.json`,
    },
  };
}

export function accountJson(a: AccountRecord): Record<string, unknown> {
  return {
    sid: a.sid,
    friendly_name: a.sid,
    status: 'active',
    type: 'Full',
    date_created: rfc2822(a.dateCreated),
    date_updated: rfc2822(a.dateCreated),
    uri: `${accountPath(a.sid)}.json`,
    subresource_uris: { conferences: `${accountPath(a.sid)}/Conferences.json` },
  };
}
