/**
 * The Compatibility API client for conference participants: `ParticipantsApi` over one
 * keep-alive undici Pool per space (transport.ts). Paths carry the `.json` suffix, lists
 * follow `next_page_uri` exactly as the API gives it (paging.ts), and every failure is a SignalWireError that
 * says what to do about it.
 */
import { checkSpaceUrl } from '../config.js';
import { ConfigError, ValidationError } from '../errors.js';
import type {
  ListConferencesOptions,
  ListParticipantsOptions,
  ParticipantsApi,
  RequestOptions,
} from './api.js';
import { readResource } from './answers.js';
import { resolveClientOptions, type ClientOptions } from './client-options.js';
import { malformedAnswer } from './failures.js';
import { flatten, listPages, type PagingContext } from './paging.js';
import { createRedactor, credentialForms } from './redact.js';
import { conferencesQuery, encodeUpdateParams, participantsQuery } from './request-params.js';
import { HttpTransport, type Exchange } from './transport.js';
import type {
  Conference,
  Participant,
  ResponseMeta,
  SpaceProfile,
  UpdateParticipantParams,
} from './types.js';

export type { ClientOptions } from './client-options.js';
export { parseRateLimitHeaders } from './rate-limit-headers.js';
export { parseRetryAfter } from './retry-after.js';

/** Root of the Compatibility ("LaML") REST API under a space URL. */
export const COMPATIBILITY_API_ROOT = '/api/laml/2010-04-01';

interface SpaceLocation {
  origin: string;
  /** Path prefix of the space URL (empty for a bare host). */
  basePath: string;
}

/** Checks a profile as config.ts does (https, or http for loopback only) and more. Never echoes the token. */
function locate(profile: SpaceProfile): SpaceLocation {
  const where = `space profile '${profile.name}'`;
  const url = new URL(checkSpaceUrl(profile.spaceUrl, `${where} spaceUrl`));
  if (url.username || url.password || url.search || url.hash) {
    throw new ConfigError(
      `${where} spaceUrl must not carry credentials, a query or a fragment (the token belongs in apiToken)`,
      `${where} spaceUrl`,
    );
  }
  for (const field of ['projectId', 'apiToken'] as const) {
    const value = profile[field];
    if (typeof value !== 'string' || value.trim() === '') {
      throw new ConfigError(`${where} ${field} must be a non-empty string`, `${where} ${field}`);
    }
  }
  return { origin: url.origin, basePath: url.pathname.replace(/\/+$/, '') };
}

function segment(name: string, value: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ValidationError(`${name} must be a non-empty string`, name);
  }
  return encodeURIComponent(value);
}

class SignalWireClient implements ParticipantsApi {
  readonly space: string;
  readonly #transport: HttpTransport;
  readonly #accountPath: string;
  readonly #paging: PagingContext;

  constructor(profile: SpaceProfile, options: ClientOptions) {
    const { origin, basePath } = locate(profile);
    const resolved = resolveClientOptions(options);
    this.space = profile.name;
    this.#accountPath = `${basePath}${COMPATIBILITY_API_ROOT}/Accounts/${encodeURIComponent(profile.projectId)}`;
    const redact = createRedactor(credentialForms(profile.projectId, profile.apiToken));
    this.#transport = new HttpTransport({
      origin,
      authorization: `Basic ${Buffer.from(`${profile.projectId}:${profile.apiToken}`).toString('base64')}`,
      userAgent: resolved.userAgent,
      connectTimeoutMs: resolved.connectTimeoutMs,
      requestTimeoutMs: resolved.requestTimeoutMs,
      connections: resolved.connections,
      logger: resolved.logger.child({ component: 'signalwire', space: profile.name }),
      redact,
    });
    this.#paging = { transport: this.#transport, origin, redact };
  }

  async updateParticipant(
    conferenceSid: string,
    callSid: string,
    params: UpdateParticipantParams,
    options: RequestOptions = {},
  ): Promise<{ participant: Participant; meta: ResponseMeta }> {
    const exchange: Exchange = {
      method: 'POST',
      path: `${this.#participantPath(conferenceSid, callSid)}.json`,
      form: encodeUpdateParams(params),
      signal: options.signal,
      onWritten: options.onWritten,
    };
    return this.#participant(exchange);
  }

  async getParticipant(
    conferenceSid: string,
    callSid: string,
    options: RequestOptions = {},
  ): Promise<{ participant: Participant; meta: ResponseMeta }> {
    return this.#participant({
      method: 'GET',
      path: `${this.#participantPath(conferenceSid, callSid)}.json`,
      signal: options.signal,
    });
  }

  async removeParticipant(
    conferenceSid: string,
    callSid: string,
    options: RequestOptions = {},
  ): Promise<{ meta: ResponseMeta }> {
    const path = `${this.#participantPath(conferenceSid, callSid)}.json`;
    const { signal, onWritten } = options;
    const { meta } = await this.#transport.send({ method: 'DELETE', path, signal, onWritten });
    return { meta };
  }

  listParticipantPages(
    conferenceSid: string,
    options: ListParticipantsOptions = {},
  ): AsyncIterable<Participant[]> {
    const path = `${this.#conferencePath(conferenceSid)}/Participants.json?${participantsQuery(options)}`;
    const later = options.firstPageSize === undefined ? undefined : (options.pageSize ?? 1000);
    return listPages<Participant>(this.#paging, path, 'participants', options.signal, later);
  }

  listParticipants(
    conferenceSid: string,
    options: ListParticipantsOptions = {},
  ): AsyncIterable<Participant> {
    return flatten(this.listParticipantPages(conferenceSid, options));
  }

  listConferences(options: ListConferencesOptions = {}): AsyncIterable<Conference> {
    const path = `${this.#accountPath}/Conferences.json?${conferencesQuery(options)}`;
    return flatten(listPages<Conference>(this.#paging, path, 'conferences', options.signal));
  }

  async getConference(conferenceSid: string, options: RequestOptions = {}): Promise<Conference> {
    const exchange: Exchange = {
      method: 'GET',
      path: `${this.#conferencePath(conferenceSid)}.json`,
      signal: options.signal,
    };
    const { body, meta } = await this.#transport.send(exchange);
    const conference = readResource<Conference>(body, 'sid');
    if (!conference) {
      const problem = 'no conference object (no string sid)';
      throw malformedAnswer(exchange, meta, problem, this.#paging.redact);
    }
    return conference;
  }

  close(): Promise<void> {
    return this.#transport.close();
  }

  #conferencePath(conferenceSid: string): string {
    return `${this.#accountPath}/Conferences/${segment('conferenceSid', conferenceSid)}`;
  }

  #participantPath(conferenceSid: string, callSid: string): string {
    return `${this.#conferencePath(conferenceSid)}/Participants/${segment('callSid', callSid)}`;
  }

  async #participant(
    exchange: Exchange,
  ): Promise<{ participant: Participant; meta: ResponseMeta }> {
    const { body, meta } = await this.#transport.send(exchange);
    const participant = readResource<Participant>(body, 'call_sid');
    if (!participant) {
      const problem = 'no participant object (no string call_sid)';
      throw malformedAnswer(exchange, meta, problem, this.#paging.redact);
    }
    return { participant, meta };
  }
}

/**
 * A Compatibility API client for one space profile.
 * @throws ConfigError when the profile cannot be used (URL scheme, missing credentials).
 * @throws ValidationError when an option is out of range.
 */
export function createSignalWireClient(
  profile: SpaceProfile,
  options: ClientOptions = {},
): ParticipantsApi {
  return new SignalWireClient(profile, options);
}
