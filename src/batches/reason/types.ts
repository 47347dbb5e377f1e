/**
 * Why a batch waits or failed, as the batch JSON, `status`, `--wait` and the dashboard show
 * it. Computed when a batch is read (src/batches/reason/explainer.ts) from what the
 * workers leave in Redis: the batch's own notes (a listing error, the webhook), the space's
 * circuit and rate-limiter state, and the workers connected to the space's queues.
 */

export const BATCH_REASON_CODES = [
  /** The batch failed; `message` is its error. */
  'failed',
  /** No worker serves the batch's space (none connected, or none with its profile). */
  'no-worker',
  /** Listing the participants failed; the fan-out retries at `nextAt`. */
  'listing-retry',
  /** The API rejected the space's credentials (401/403); `command` resumes it once fixed. */
  'space-paused',
  /** Requests of the space failed in a row; the circuit probes again at `nextAt`. */
  'circuit-open',
  /** The space waits for its rate window (or a pause after a 429) until `nextAt`. */
  'rate-limited',
] as const;

export type BatchReasonCode = (typeof BATCH_REASON_CODES)[number];

export interface BatchReason {
  code: BatchReasonCode;
  /** One sentence for a person, with what to do when there is something to do. */
  message: string;
  /** When this became true, when known (ISO 8601). */
  since?: string;
  /** When this was last seen true (ISO 8601): the read for live state, else the last failure. */
  lastTrueAt: string;
  /** When it may change: the next retry, probe or free slot (ISO 8601). */
  nextAt?: string;
  /** The command that clears it, e.g. `npx confbulk resume --space default`. */
  command?: string;
}

/** What the workers say about a batch's completion webhook. */
export interface WebhookState {
  state: 'pending' | 'delivered' | 'failed' | 'unsigned';
  /** Why it failed or was sent unsigned. */
  message?: string;
  at: string;
}
