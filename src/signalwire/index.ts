/**
 * SignalWire Compatibility API access: the `ParticipantsApi` contract, its undici client,
 * the per-space client registry, typed failures and the header parsers they use.
 */
export type {
  ListConferencesOptions,
  ListParticipantsOptions,
  ParticipantsApi,
  RequestOptions,
} from './api.js';
export { COMPATIBILITY_API_ROOT, createSignalWireClient } from './client.js';
export { CLIENT_DEFAULTS, DEFAULT_USER_AGENT, type ClientOptions } from './client-options.js';
export {
  CLIENTS_CLOSED_MESSAGE,
  SignalWireClients,
  type SignalWireClientsOptions,
} from './clients.js';
export { classifyNetworkError, kindOfStatus, type NetworkFailure } from './classify.js';
export { parseErrorBody, type ErrorBody } from './error-body.js';
export { SignalWireError, isSignalWireError, type SignalWireErrorDetails } from './errors.js';
export { parseRateLimitHeaders } from './rate-limit-headers.js';
export { MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE } from './request-params.js';
export { parseRetryAfter } from './retry-after.js';
export * from './types.js';
