/**
 * A stateful, fast mock of SignalWire's Compatibility API for conference participants,
 * with a control API, fault injection and a request log. Published as `confbulk/mock`.
 */
export { startMock, type MockServer } from './server.js';
export { mockSpaceProfile } from './space-profile.js';
export { withMock } from './with-mock.js';
export { runMockCli, type MockCliOptions, type RunningMock } from './main.js';
export type {
  ConferenceState,
  MockAccount,
  MockConference,
  MockControl,
  ParticipantState,
  RateLimitSnapshot,
} from './control.js';
export type { LeaveHandle, LeaveOptions } from './departures.js';
export type { FaultSnapshot } from './faults.js';
export {
  API_PREFIX,
  CONTROL_PREFIX,
  MOCK_DEFAULTS,
  SDK_API_PREFIX,
  type CallFailure,
  type CallRejection,
  type FaultConfig,
  type HeadersOn429,
  type LeaverAnswers,
  type RateLimitResetFormat,
  type MockOptions,
  type OutageMode,
  type RetryAfterFormat,
  type ServerErrorStatus,
} from './options.js';
export { encodePageToken } from './paging.js';
export type { MockCounters, RequestLogEntry } from './request-log.js';
export { ErrorCode } from './responses.js';
export { SlidingWindow, type WindowState } from './rate-window.js';
export type { CreateAccountOptions, CreateConferenceOptions, DepartureReason } from './state.js';
