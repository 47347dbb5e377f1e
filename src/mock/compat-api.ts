/**
 * The Compatibility API's conference and participant resources: routing and handlers.
 * Handlers see an authenticated account and return an answer; transport concerns (auth,
 * rate limit, faults, latency) belong to the server.
 *
 * Leavers (participants who left or were removed, and every participant of a completed
 * conference) are never listed: the list holds active participants only. Updating one is
 * answered 422 with code 10000 (SignalWire's code for an update of a participant of a
 * completed conference) and retrieving one 200 with `status: completed`; the `leavers`
 * option switches either to Twilio's 404 (20404). Removing one is 404: nothing is left to
 * take out of the conference.
 *
 * Paths are served under both prefixes the API serves (`/api/laml/2010-04-01` and, as
 * SignalWire's Node SDK calls it, `/2010-04-01`), with or without `.json`; answers'
 * URIs always carry the documented `/api/laml/...json` form.
 */
import type { ConferenceStatus, UpdateParticipantParams } from '../signalwire/types.js';
import type { CallRejection, LeaverAnswers } from './options.js';
import { API_PREFIX, SDK_API_PREFIX } from './options.js';
import { listEnvelope, parsePageRequest, selectPage } from './paging.js';
import type { MockCounters } from './request-log.js';
import {
  ErrorCode,
  accountJson,
  accountPath,
  conferenceJson,
  conferencePath,
  errorAnswer,
  jsonAnswer,
  methodNotAllowed,
  notFound,
  participantJson,
  participantStatus,
  type ApiAnswer,
  type ApiError,
} from './responses.js';
import type { AccountRecord, ConferenceRecord, MockState, ParticipantRecord } from './state.js';
import { booleanParam, invalidParameter, parseUpdateForm, urlParam } from './validation.js';

export type Route =
  | { kind: 'account'; accountSid: string }
  | { kind: 'conferences'; accountSid: string }
  | { kind: 'conference'; accountSid: string; conferenceSid: string }
  | { kind: 'participants'; accountSid: string; conferenceSid: string }
  | { kind: 'participant'; accountSid: string; conferenceSid: string; callSid: string };

export interface ApiRequest {
  method: string;
  route: Route;
  account: AccountRecord;
  query: URLSearchParams;
  /** The parsed form body of a POST; empty otherwise. */
  form: URLSearchParams;
}

export interface ApiContext {
  state: MockState;
  counters: () => MockCounters;
  rejectionFor: (callSid: string) => CallRejection | undefined;
  leavers: Required<LeaverAnswers>;
  updateAnswerStatus: 'participant' | 'completed';
}

const ALLOWED: Record<Route['kind'], string[]> = {
  account: ['GET'],
  conferences: ['GET'],
  conference: ['GET', 'POST'],
  participants: ['GET'],
  participant: ['GET', 'POST', 'DELETE'],
};

const ACCOUNTS_PREFIXES = [`${API_PREFIX}/Accounts/`, `${SDK_API_PREFIX}/Accounts/`];

/** Resolves a path (either prefix, with or without a `.json` suffix) to a resource; undefined if none. */
export function parseRoute(path: string): Route | undefined {
  const prefix = ACCOUNTS_PREFIXES.find((p) => path.startsWith(p));
  if (prefix === undefined) return undefined;
  const parts = path.slice(prefix.length).split('/');
  const lastIndex = parts.length - 1;
  const last = parts[lastIndex] as string;
  if (last.endsWith('.json')) parts[lastIndex] = last.slice(0, -5);
  if (parts.some((p) => p.length === 0)) return undefined;
  const [accountSid, conferences, conferenceSid, participants, callSid] = parts as string[];
  if (!accountSid || parts.length > 5) return undefined;
  if (parts.length === 1) return { kind: 'account', accountSid };
  if (conferences !== 'Conferences') return undefined;
  if (!conferenceSid) return { kind: 'conferences', accountSid };
  if (!participants) return { kind: 'conference', accountSid, conferenceSid };
  if (participants !== 'Participants') return undefined;
  if (!callSid) return { kind: 'participants', accountSid, conferenceSid };
  return { kind: 'participant', accountSid, conferenceSid, callSid };
}

/** Answers an authenticated request for `request.route`. */
export function handleApiRequest(ctx: ApiContext, request: ApiRequest): ApiAnswer {
  const { route, method } = request;
  if (!ALLOWED[route.kind].includes(method)) return methodNotAllowed(method, ALLOWED[route.kind]);
  switch (route.kind) {
    case 'account':
      return jsonAnswer(200, accountJson(request.account));
    case 'conferences':
      return listConferences(ctx.state, request.account.sid, request.query);
    case 'conference':
      return conferenceRequest(ctx, route.accountSid, route.conferenceSid, request);
    case 'participants':
      return listParticipants(ctx.state, route.accountSid, route.conferenceSid, request.query);
    case 'participant':
      return participantRequest(ctx, route, request);
  }
}

const fail = (error: ApiError): ApiAnswer => errorAnswer(error.status, error.code, error.message);

function findConference(
  state: MockState,
  accountSid: string,
  conferenceSid: string,
): ConferenceRecord | undefined {
  const conference = state.conferences.get(conferenceSid);
  return conference?.accountSid === accountSid ? conference : undefined;
}

const STATUSES: readonly string[] = ['init', 'in-progress', 'completed'];

function listConferences(state: MockState, accountSid: string, query: URLSearchParams): ApiAnswer {
  const friendlyName = query.get('FriendlyName');
  if (friendlyName !== null && friendlyName.length > 64) {
    return fail(invalidParameter('FriendlyName', 'at most 64 characters', friendlyName).error);
  }
  const status = query.get('Status');
  if (status !== null && !STATUSES.includes(status)) {
    return fail(invalidParameter('Status', 'init, in-progress or completed', status).error);
  }
  const paging = parsePageRequest(query);
  if (!paging.ok) return fail(paging.error);
  const filters: [string, string][] = [];
  if (friendlyName !== null) filters.push(['FriendlyName', friendlyName]);
  if (status !== null) filters.push(['Status', status]);
  const match = (c: ConferenceRecord): boolean =>
    c.accountSid === accountSid &&
    (friendlyName === null || c.friendlyName === friendlyName) &&
    (status === null || c.status === status);
  const page = selectPage(state.conferences.values(), match, paging.value);
  const base = `${accountPath(accountSid)}/Conferences`;
  return jsonAnswer(
    200,
    listEnvelope(base, filters, paging.value, page, 'conferences', conferenceJson),
  );
}

function conferenceRequest(
  ctx: ApiContext,
  accountSid: string,
  conferenceSid: string,
  request: ApiRequest,
): ApiAnswer {
  const conference = findConference(ctx.state, accountSid, conferenceSid);
  if (!conference) return notFound(`Conference ${conferenceSid}`);
  if (request.method === 'POST') {
    const error = updateConference(conference, request.form);
    if (error) return fail(error);
  }
  return jsonAnswer(200, conferenceJson(conference));
}

/** `Status=completed` ends the conference; `AnnounceUrl` plays to everyone in it. */
function updateConference(conference: ConferenceRecord, form: URLSearchParams): ApiError | null {
  const status = form.get('Status');
  if (status !== null && status !== 'completed') {
    return invalidParameter('Status', 'completed', status).error;
  }
  const announceUrl = urlParam(form, 'AnnounceUrl');
  if (!announceUrl.ok) return announceUrl.error;
  if (conference.status === 'completed' && (status !== null || announceUrl.value !== undefined)) {
    return {
      status: 422,
      code: ErrorCode.invalidArgument,
      message: `Conference ${conference.sid} is completed`,
    };
  }
  if (status !== null) conference.status = status as ConferenceStatus;
  if (announceUrl.value !== undefined) conference.announcements++;
  conference.dateUpdated = Date.now();
  return null;
}

function listParticipants(
  state: MockState,
  accountSid: string,
  conferenceSid: string,
  query: URLSearchParams,
): ApiAnswer {
  const conference = findConference(state, accountSid, conferenceSid);
  if (!conference) return notFound(`Conference ${conferenceSid}`);
  const muted = booleanParam(query, 'Muted');
  if (!muted.ok) return fail(muted.error);
  const hold = booleanParam(query, 'Hold');
  if (!hold.ok) return fail(hold.error);
  const paging = parsePageRequest(query);
  if (!paging.ok) return fail(paging.error);
  const filters: [string, string][] = [];
  if (muted.value !== undefined) filters.push(['Muted', String(muted.value)]);
  if (hold.value !== undefined) filters.push(['Hold', String(hold.value)]);
  const match = (p: ParticipantRecord): boolean =>
    (muted.value === undefined || p.muted === muted.value) &&
    (hold.value === undefined || p.hold === hold.value);
  const items = conference.status === 'completed' ? [] : conference.participants.values();
  const page = selectPage(items, match, paging.value);
  const base = `${conferencePath(conference)}/Participants`;
  const toJson = (p: ParticipantRecord): unknown => participantJson(p, 'in-progress');
  return jsonAnswer(200, listEnvelope(base, filters, paging.value, page, 'participants', toJson));
}

function participantRequest(
  ctx: ApiContext,
  route: Extract<Route, { kind: 'participant' }>,
  request: ApiRequest,
): ApiAnswer {
  const conference = findConference(ctx.state, route.accountSid, route.conferenceSid);
  const participant = ctx.state.calls.get(route.callSid);
  if (!conference || participant?.conferenceSid !== conference.sid) {
    return notFound(`Participant ${route.callSid}`);
  }
  if (participantStatus(participant, conference) === 'completed') {
    return leaverAnswer(ctx.leavers, request.method, participant, conference);
  }
  if (request.method === 'POST') return updateParticipant(ctx, conference, participant, request);
  if (request.method === 'DELETE') {
    ctx.state.depart(participant, 'removed');
    ctx.counters().removals++;
    return { status: 204 };
  }
  return jsonAnswer(200, participantJson(participant, 'in-progress'));
}

/** A request for a participant who left, was removed or whose conference completed. */
function leaverAnswer(
  leavers: Required<LeaverAnswers>,
  method: string,
  participant: ParticipantRecord,
  conference: ConferenceRecord,
): ApiAnswer {
  const gone = notFound(`Participant ${participant.callSid}`);
  if (method === 'DELETE') return gone;
  if (method === 'GET') {
    return leavers.retrieve === 404
      ? gone
      : jsonAnswer(200, participantJson(participant, 'completed'));
  }
  if (leavers.update === 404) return gone;
  const why =
    conference.status === 'completed'
      ? `belongs to completed conference ${conference.sid}`
      : 'is completed (the call left the conference)';
  return errorAnswer(
    422,
    ErrorCode.invalidArgument,
    `Participant ${participant.callSid} ${why}; it cannot be updated`,
  );
}

function updateParticipant(
  ctx: ApiContext,
  conference: ConferenceRecord,
  participant: ParticipantRecord,
  request: ApiRequest,
): ApiAnswer {
  const rejection = ctx.rejectionFor(participant.callSid);
  if (rejection) {
    return errorAnswer(
      rejection.status,
      rejection.code,
      rejection.message ?? 'Call is not in a valid state for this update',
    );
  }
  const params = parseUpdateForm(request.form);
  if (!params.ok) return fail(params.error);
  const coach = params.value.CallSidToCoach;
  if (
    params.value.Coaching === true &&
    coach !== undefined &&
    !conference.participants.has(coach)
  ) {
    return errorAnswer(
      422,
      ErrorCode.conferenceAttributes,
      `The participant to be coached (${coach}) is not in conference ${conference.sid}`,
    );
  }
  applyUpdate(participant, params.value, ctx.counters());
  const status = ctx.updateAnswerStatus === 'completed' ? 'completed' : 'in-progress';
  return jsonAnswer(200, participantJson(participant, status));
}

/** Applies an update; a URL given without its method gets the documented default method. */
function applyUpdate(p: ParticipantRecord, u: UpdateParticipantParams, c: MockCounters): void {
  if (u.Muted !== undefined) p.muted = u.Muted;
  if (u.Hold !== undefined) p.hold = u.Hold;
  if (u.HoldUrl !== undefined) p.holdMethod = 'GET';
  if (u.WaitUrl !== undefined) p.waitMethod = 'POST';
  if (u.AnnounceUrl !== undefined) p.announceMethod = 'POST';
  p.holdUrl = u.HoldUrl ?? p.holdUrl;
  p.holdMethod = u.HoldMethod ?? p.holdMethod;
  p.waitUrl = u.WaitUrl ?? p.waitUrl;
  p.waitMethod = u.WaitMethod ?? p.waitMethod;
  p.announceUrl = u.AnnounceUrl ?? p.announceUrl;
  p.announceMethod = u.AnnounceMethod ?? p.announceMethod;
  if (u.AnnounceUrl !== undefined) {
    p.announcements++;
    c.announcements++;
  }
  if (u.Coaching === false) {
    p.coaching = false;
    p.callSidToCoach = null;
  } else {
    if (u.Coaching === true) p.coaching = true;
    if (u.CallSidToCoach !== undefined) p.callSidToCoach = u.CallSidToCoach;
  }
  p.updates++;
  p.dateUpdated = Date.now();
  c.appliedUpdates++;
}
