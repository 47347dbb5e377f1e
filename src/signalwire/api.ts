/**
 * What the rest of confbulk needs from the Compatibility API. The worker pipeline, the
 * fan-out and the producers depend on this interface, not on the HTTP client, so tests and
 * benchmarks can measure the client against baselines.
 */
import type {
  Conference,
  ConferenceStatus,
  Participant,
  ResponseMeta,
  UpdateParticipantParams,
} from './types.js';

export interface RequestOptions {
  /** Aborts the request (shutdown). */
  signal?: AbortSignal;
  /**
   * Told once, synchronously, when the request was handed whole to its connection (its
   * bytes written to the socket); never for a request that did not leave, whose failure
   * then says `reachedServer: false`. A client that cannot tell never calls it. Must not throw.
   */
  onWritten?: () => void;
}

export interface ListParticipantsOptions extends RequestOptions {
  /** Only participants with this `muted` state. */
  muted?: boolean;
  /** Only participants with this `hold` state. */
  hold?: boolean;
  /** Page size, 1..1000. @defaultValue 1000 */
  pageSize?: number;
  /**
   * Size of the first page only, 1..1000, so that the first items arrive sooner (a fan-out
   * starts sending while the rest is listed). Later pages have `pageSize` when the server's
   * `next_page_uri` pages by token (a position, not an offset); otherwise they keep this
   * size. @defaultValue `pageSize`
   */
  firstPageSize?: number;
}

export interface ListConferencesOptions extends RequestOptions {
  friendlyName?: string;
  status?: ConferenceStatus;
  /** Page size, 1..1000. @defaultValue 1000 */
  pageSize?: number;
}

export interface ParticipantsApi {
  /** The space profile this client speaks for. */
  readonly space: string;
  /** `POST .../Conferences/{conferenceSid}/Participants/{callSid}`. Throws SignalWireError. */
  updateParticipant(
    conferenceSid: string,
    callSid: string,
    params: UpdateParticipantParams,
    options?: RequestOptions,
  ): Promise<{ participant: Participant; meta: ResponseMeta }>;
  /** `GET .../Participants/{callSid}`. Throws SignalWireError. */
  getParticipant(
    conferenceSid: string,
    callSid: string,
    options?: RequestOptions,
  ): Promise<{ participant: Participant; meta: ResponseMeta }>;
  /** `DELETE .../Participants/{callSid}` (204). Throws SignalWireError. */
  removeParticipant(
    conferenceSid: string,
    callSid: string,
    options?: RequestOptions,
  ): Promise<{ meta: ResponseMeta }>;
  /** Every page of `GET .../Participants`, following `next_page_uri` as given. */
  listParticipantPages(
    conferenceSid: string,
    options?: ListParticipantsOptions,
  ): AsyncIterable<Participant[]>;
  /** Every participant, page after page. */
  listParticipants(
    conferenceSid: string,
    options?: ListParticipantsOptions,
  ): AsyncIterable<Participant>;
  /** Every conference matching the filters, following `next_page_uri`. */
  listConferences(options?: ListConferencesOptions): AsyncIterable<Conference>;
  /** `GET .../Conferences/{sid}`. Throws SignalWireError (404 -> kind `gone`). */
  getConference(conferenceSid: string, options?: RequestOptions): Promise<Conference>;
  /** Closes pooled connections. Idempotent. */
  close(): Promise<void>;
}
