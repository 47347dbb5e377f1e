/**
 * Types of SignalWire's Compatibility API for conference participants, named exactly as
 * the API names them. See docs/signalwire-participants.md for the contract.
 */

/** A SignalWire space profile: where to send requests and with which credentials. */
export interface SpaceProfile {
  /** Profile name used in jobs and flags (`default`, `eu`, ...). Never the credentials. */
  name: string;
  /** `https://example.signalwire.com` (`http://` only for loopback hosts, i.e. mocks). */
  spaceUrl: string;
  /** Project ID: the Basic-auth user and the `AccountSid` in paths. */
  projectId: string;
  /** API token: the Basic-auth password. Never logged, never stored in Redis. */
  apiToken: string;
}

/** Form parameters of `POST .../Participants/{CallSid}`. All optional. */
export interface UpdateParticipantParams {
  Muted?: boolean;
  Hold?: boolean;
  HoldUrl?: string;
  HoldMethod?: 'GET' | 'POST';
  AnnounceUrl?: string;
  AnnounceMethod?: 'GET' | 'POST';
  WaitUrl?: string;
  WaitMethod?: 'GET' | 'POST';
  Coaching?: boolean;
  CallSidToCoach?: string;
}

/** Names of the documented update parameters, in the API's spelling. */
export const UPDATE_PARAM_NAMES = [
  'Muted',
  'Hold',
  'HoldUrl',
  'HoldMethod',
  'AnnounceUrl',
  'AnnounceMethod',
  'WaitUrl',
  'WaitMethod',
  'Coaching',
  'CallSidToCoach',
] as const satisfies readonly (keyof UpdateParticipantParams)[];

/** SignalWire's participant statuses (Twilio's `connected` etc. are not among them). */
export type ParticipantStatus = 'in-progress' | 'completed';

/** Participant resource (retrieve, update and list items). */
export interface Participant {
  account_sid: string;
  call_sid: string;
  call_sid_to_coach: string | null;
  coaching: boolean;
  conference_sid: string;
  date_created: string;
  date_updated: string;
  end_conference_on_exit: boolean;
  muted: boolean;
  hold: boolean;
  start_conference_on_enter: boolean;
  /** `in-progress` or `completed`; read as text, since an API may add a value. */
  status: ParticipantStatus | (string & {});
  uri: string;
}

export type ConferenceStatus = 'init' | 'in-progress' | 'completed';

/** Conference resource, every field SignalWire's conference schema requires. */
export interface Conference {
  sid: string;
  account_sid: string;
  friendly_name: string;
  status: ConferenceStatus;
  date_created: string;
  date_updated: string;
  api_version: string;
  /** Where the conference audio was mixed (`us1`). */
  region: string;
  uri: string;
  subresource_uris: { participants: string; recordings: string };
}

/** One page of a list response. */
export interface ListPage<K extends string, T> {
  uri: string;
  first_page_uri: string;
  next_page_uri: string | null;
  previous_page_uri: string | null;
  page: number;
  page_size: number;
  /** The items, under the list key (`participants`, `conferences`). */
  items: T[];
  /** Present only to keep the list key in the type. */
  readonly _key?: K;
}

/** How a failed request is to be treated by the worker pipeline. */
export type FailureKind = 'rate_limited' | 'transient' | 'gone' | 'invalid' | 'unauthorized';

/** Rate-limit state read tolerantly from a response's `X-...` headers. */
export interface RateLimitInfo {
  /** Requests allowed in the server's window, when a header says so. */
  limit?: number;
  /** Requests left in the current window, when a header says so. */
  remaining?: number;
  /** Epoch milliseconds at which the window resets, when a header says so. */
  resetAt?: number;
}

/** What every answered request reports besides its body. */
export interface ResponseMeta {
  status: number;
  rateLimit: RateLimitInfo;
  /** Wall time of the request in milliseconds. */
  durationMs: number;
}
