/**
 * What the mock answers: resource JSON exactly as the Compatibility API shapes it, and
 * SignalWire error bodies (`code`, `message`, `more_info`, `status`).
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { Conference, Participant } from '../signalwire/types.js';
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

/** SignalWire error codes the mock answers with. */
export const ErrorCode = {
  /** Update of a participant of a completed conference. */
  conferenceCompleted: 10000,
  /** A parameter has a value the API does not accept. */
  invalidParameter: 20001,
  authentication: 20003,
  methodNotAllowed: 20004,
  notFound: 20404,
  /** A combination of parameters the API refuses (Coaching without CallSidToCoach). */
  unprocessable: 20422,
  tooManyRequests: 20429,
  internal: 20504,
  /** The call is not in a state that allows the update. */
  invalidState: 21220,
} as const;

const MORE_INFO = 'https://developer.signalwire.com/compatibility-api/reference/error-codes';

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

export const methodNotAllowed = (method: string, allowed: string[]): ApiAnswer => ({
  ...errorAnswer(
    405,
    ErrorCode.methodNotAllowed,
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

export function participantJson(p: ParticipantRecord): Participant {
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
    status: 'connected',
    uri: `${API_PREFIX}/Accounts/${p.accountSid}/Conferences/${p.conferenceSid}/Participants/${p.callSid}.json`,
  };
}

/** Conference JSON; like the real API it carries more than confbulk reads. */
export function conferenceJson(c: ConferenceRecord): Conference & Record<string, unknown> {
  const path = conferencePath(c);
  return {
    sid: c.sid,
    account_sid: c.accountSid,
    friendly_name: c.friendlyName,
    status: c.status,
    date_created: rfc2822(c.dateCreated),
    date_updated: rfc2822(c.dateUpdated),
    api_version: '2010-04-01',
    ...(c.region === undefined ? {} : { region: c.region }),
    uri: `${path}.json`,
    subresource_uris: { participants: `${path}/Participants.json` },
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
