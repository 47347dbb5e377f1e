/**
 * What the demo reports: the batch's outcome, what the API went through, and whether the
 * conference ended as intended, checked against the participants' actual state.
 */
import type { Metrics } from '../../src/metrics.js';
import type { Batch } from '../../src/types.js';

export interface DemoSummary {
  /** `mock`: the mock API with injected trouble; `real`: a real SignalWire space. */
  mode: 'mock' | 'real';
  batchId: string;
  conferenceSid: string;
  /** The participant left unmuted (the first call SID). */
  host: string;
  /** Participants when the batch started. */
  participants: number;
  /** Participants the batch covered (everyone but the host). */
  total: number;
  succeeded: number;
  gone: number;
  deadLettered: number;
  superseded: number;
  /** Call SIDs in the dead-letter queue for this batch. */
  deadLetteredCallSids: string[];
  /** Quick (in-process) and queue retries of transient failures. */
  retries: number;
  /** 429 answers the API gave. */
  rateLimited: number;
  /** Update requests sent, whatever their answer. */
  requests: number;
  /** Updates applied per second over the batch's life. */
  requestRate: number;
  /** From the batch's creation to its end, in ms. */
  elapsedMs: number;
  /** Participants present at the end. */
  remaining: number;
  /** Of those, how many are muted. */
  mutedRemaining: number;
  /** Present at the end, not the host, not dead-lettered, and still unmuted: should be none. */
  notMuted: string[];
  /** Whether the host is still unmuted (undefined when the host left). */
  hostUnmuted: boolean | undefined;
  /** Every participant but the host and the dead-lettered ones is muted, and the host is not. */
  verified: boolean;
  /** The trouble the mock made (mock mode with trouble only). */
  trouble?: {
    /** Participants that were to leave during the run (some may leave after their update). */
    leavers: string[];
    /** Participants whose updates the mock rejected. */
    rejected: string[];
  };
}

/** The sum of every sample of a counter (all label sets). */
export async function counterTotal(
  metric: Metrics['retries'] | Metrics['rateLimited'] | Metrics['requests'],
  filter: (labels: Record<string, unknown>) => boolean = () => true,
): Promise<number> {
  const { values } = await metric.get();
  return values.filter((v) => filter(v.labels)).reduce((sum, v) => sum + v.value, 0);
}

/** The participants' state at the end, as the verification needs it. */
export interface FinalState {
  /** Present participants: call SID and whether muted. */
  present: { callSid: string; muted: boolean }[];
}

/** Checks the final state: who is muted, who is not, and whether that is what was asked. */
export function verify(
  state: FinalState,
  host: string,
  deadLettered: readonly string[],
): Pick<DemoSummary, 'remaining' | 'mutedRemaining' | 'notMuted' | 'hostUnmuted' | 'verified'> {
  const dead = new Set(deadLettered);
  const hostState = state.present.find((p) => p.callSid === host);
  const notMuted = state.present
    .filter((p) => p.callSid !== host && !dead.has(p.callSid) && !p.muted)
    .map((p) => p.callSid);
  const hostUnmuted = hostState ? !hostState.muted : undefined;
  return {
    remaining: state.present.length,
    mutedRemaining: state.present.filter((p) => p.muted).length,
    notMuted,
    hostUnmuted,
    verified: notMuted.length === 0 && hostUnmuted !== false,
  };
}

/** Batch counts as the summary carries them. */
export function countsOf(
  batch: Batch,
): Pick<DemoSummary, 'total' | 'succeeded' | 'gone' | 'deadLettered' | 'superseded' | 'elapsedMs'> {
  const end = batch.finishedAt ? Date.parse(batch.finishedAt) : Date.now();
  return {
    total: batch.counts.total,
    succeeded: batch.counts.succeeded,
    gone: batch.counts.gone,
    deadLettered: batch.counts.deadLettered,
    superseded: batch.counts.superseded,
    elapsedMs: Math.max(0, end - Date.parse(batch.createdAt)),
  };
}

function table(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`).join('\n');
}

/** The summary as printed at the end of the demo. */
export function formatSummary(s: DemoSummary): string {
  const rows: [string, string][] = [
    ['participants', `${s.participants} (host ${s.host} left unmuted)`],
    ['muted (succeeded)', String(s.succeeded)],
    ['gone (left first)', String(s.gone)],
    [
      'dead-lettered',
      `${s.deadLettered}${s.deadLetteredCallSids.length ? ` (${s.deadLetteredCallSids.join(', ')})` : ''}`,
    ],
    ['superseded', String(s.superseded)],
    ['retries', String(s.retries)],
    ['429s answered', String(s.rateLimited)],
    ['requests sent', String(s.requests)],
    ['achieved rate', `${s.requestRate.toFixed(0)} updates/s`],
    ['elapsed', `${(s.elapsedMs / 1000).toFixed(1)} s`],
  ];
  const unmuted = s.remaining - s.mutedRemaining;
  const check = s.verified
    ? `OK: ${s.mutedRemaining} of the ${s.remaining} remaining participants are muted; the ${unmuted} ` +
      `unmuted are the host${s.hostUnmuted === undefined ? ' (who left)' : ''} and dead-lettered participants.`
    : `FAILED: ${s.notMuted.length} participant(s) that should be muted are not` +
      `${s.hostUnmuted === false ? ', and the host was muted' : ''}: ${s.notMuted.slice(0, 5).join(', ')}`;
  return `\nBatch ${s.batchId} on conference ${s.conferenceSid} (${s.mode === 'mock' ? 'mock API' : 'real space'})\n${table(rows)}\n\nCheck: ${check}\n`;
}
