/**
 * confbulk: rate-limited, crash-safe bulk actions on SignalWire conference participants.
 *
 * The producer (`createConfbulk`) submits bulk actions, follows batches and manages
 * schedules; `runWorkerProcess` runs the workers that carry them out. The mock
 * Compatibility API for tests is published separately as `confbulk/mock`.
 */

// Producer
export { createConfbulk, MAX_LIST_LIMIT, type ConfbulkOptions } from './producer/confbulk.js';
export {
  BULK_ACTION_NAMES,
  type Batch,
  type BatchCounts,
  type BatchHandle,
  type BatchState,
  type BulkActionName,
  type BulkActionRequest,
  type BulkTarget,
  type Confbulk,
  type Schedule,
  type Schedules,
  type ScheduleSpec,
  type WaitOptions,
} from './types.js';
export { BULK_ACTIONS, type BulkActionDefinition } from './bulk-actions/actions.js';
export {
  IDEMPOTENCY_KEY_PATTERN,
  REQUEST_LIMITS,
  validateBulkActionRequest,
  type ValidatedRequest,
} from './bulk-actions/request-schema.js';
export { SCHEDULE_NAME_PATTERN, validateScheduleSpec } from './schedules/schedules.js';
export {
  DELIVERY_HEADER,
  EVENT_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  DEFAULT_TOLERANCE_SECONDS,
  signWebhook,
  verifyWebhookSignature,
  type VerifyOptions,
} from './webhooks/signature.js';
export {
  WebhookGuard,
  forbiddenRange,
  systemResolve,
  type ResolveHost,
  type WebhookGuardOptions,
} from './webhooks/guard.js';
export { TokenStore, type CreatedToken, type NewToken, type TokenInfo } from './auth/tokens.js';
export { ROLES, type Principal, type Role } from './auth/access.js';
export { BatchNotFoundError, BatchWaitTimeoutError } from './producer/errors.js';

// Workers
export {
  runWorkerProcess,
  type WorkerProcess,
  type WorkerProcessOptions,
} from './worker/process.js';
export {
  startWorkerRuntime,
  type WorkerRuntime,
  type WorkerRuntimeOptions,
} from './worker/runtime.js';
export { startWorkerStack, type WorkerStack, type WorkerStackOptions } from './worker/stack.js';
export {
  batchWorkerParts,
  type BatchWorkerContext,
  type BatchWorkerParts,
} from './worker/parts.js';
export type { JobOutcome, PipelineHooks } from './worker/types.js';

// Dead letters
export { DeadLetters, type DeadLettersOptions } from './dead-letters/dead-letters.js';
export type {
  DeadLetterEntry,
  ListDeadLettersOptions,
  ReplayOptions,
  ReplayResult,
} from './dead-letters/types.js';

// Configuration, logging, metrics, errors
export {
  getSpace,
  loadConfig,
  type ConfbulkConfig,
  type RateLimitSpec,
  type SpaceConfig,
} from './config.js';
export { createLogger, silentLogger, type Logger } from './logger.js';
export { createMetrics, type Metrics } from './metrics.js';
export { ConfbulkError, ConfigError, ValidationError } from './errors.js';
export { SignalWireError, isSignalWireError } from './signalwire/errors.js';
export type { Participant, SpaceProfile, UpdateParticipantParams } from './signalwire/types.js';
