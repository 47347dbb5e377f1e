/**
 * Faults on demand: random server errors (with the malformed bodies real gateways send),
 * latency, outages (503 or reset sockets), forced 429s, calls whose updates are always
 * rejected and calls whose next few updates fail with a server error. Time windows use
 * `performance.now()` so wall-clock jumps cannot end them.
 */
import {
  MOCK_DEFAULTS,
  checkInteger,
  checkShare,
  type CallFailure,
  type CallRejection,
  type FaultConfig,
  type OutageMode,
  type ServerErrorStatus,
} from './options.js';
import { ErrorCode, errorBody, type ApiAnswer } from './responses.js';

/** The faults in force, as the control API reports them. */
export interface FaultSnapshot extends Required<Omit<FaultConfig, 'rejectCalls' | 'failCalls'>> {
  rejectCalls: Record<string, CallRejection>;
  /** Failures still to come per call. */
  failCalls: Record<string, CallFailure>;
  /** Active outage and the ms it has left; null when none. */
  outage: { mode: OutageMode; remainingMs: number } | null;
  /** Ms left of forced 429s; 0 when none. */
  force429RemainingMs: number;
}

const SERVER_ERROR_STATUSES: readonly ServerErrorStatus[] = [500, 502, 503];

function checkRejection(callSid: string, r: CallRejection): CallRejection {
  if (r?.status !== 400 && r?.status !== 422) {
    throw new TypeError(`\`rejectCalls.${callSid}.status\` must be 400 or 422`);
  }
  checkInteger(`rejectCalls.${callSid}.code`, r.code, 1, 99_999);
  return { status: r.status, code: r.code, ...(r.message ? { message: r.message } : {}) };
}

function checkFailure(callSid: string, f: CallFailure): CallFailure {
  if (!SERVER_ERROR_STATUSES.includes(f?.status)) {
    throw new TypeError(`\`failCalls.${callSid}.status\` must be 500, 502 or 503`);
  }
  return { status: f.status, times: checkInteger(`failCalls.${callSid}.times`, f.times, 1, 1e6) };
}

function checkStatuses(statuses: unknown): ServerErrorStatus[] {
  if (
    !Array.isArray(statuses) ||
    statuses.length === 0 ||
    !statuses.every((s) => SERVER_ERROR_STATUSES.includes(s as ServerErrorStatus))
  ) {
    throw new TypeError('`errorStatuses` must be a non-empty array of 500, 502 and/or 503');
  }
  return [...statuses] as ServerErrorStatus[];
}

export class FaultInjector {
  private errorRate = 0;
  private errorStatuses: ServerErrorStatus[] = [...MOCK_DEFAULTS.errorStatuses];
  private errorAfterApplyRate = 0;
  private latencyMs = 0;
  private jitterMs = 0;
  private arrivalJitterMs = 0;
  private readonly rejections = new Map<string, CallRejection>();
  private readonly failures = new Map<string, CallFailure>();
  private outageMode: OutageMode | undefined;
  private outageUntil = 0;
  private force429Until = 0;

  constructor(private readonly random: () => number) {}

  /** Merges `config` into the faults in force; fields left out keep their value. */
  set(config: FaultConfig): void {
    if (config.errorRate !== undefined) this.errorRate = checkShare('errorRate', config.errorRate);
    if (config.errorStatuses !== undefined)
      this.errorStatuses = checkStatuses(config.errorStatuses);
    if (config.errorAfterApplyRate !== undefined) {
      this.errorAfterApplyRate = checkShare('errorAfterApplyRate', config.errorAfterApplyRate);
    }
    if (config.latencyMs !== undefined) {
      this.latencyMs = checkInteger('latencyMs', config.latencyMs, 0, 600_000);
    }
    if (config.jitterMs !== undefined) {
      this.jitterMs = checkInteger('jitterMs', config.jitterMs, 0, 600_000);
    }
    if (config.arrivalJitterMs !== undefined) {
      this.arrivalJitterMs = checkInteger('arrivalJitterMs', config.arrivalJitterMs, 0, 60_000);
    }
    for (const [callSid, rejection] of Object.entries(config.rejectCalls ?? {})) {
      if (rejection === null) this.rejections.delete(callSid);
      else this.rejections.set(callSid, checkRejection(callSid, rejection));
    }
    for (const [callSid, failure] of Object.entries(config.failCalls ?? {})) {
      if (failure === null) this.failures.delete(callSid);
      else this.failures.set(callSid, checkFailure(callSid, failure));
    }
  }

  /** Ends every fault, outages and forced 429s included. */
  clear(): void {
    this.errorRate = 0;
    this.errorStatuses = [...MOCK_DEFAULTS.errorStatuses];
    this.errorAfterApplyRate = 0;
    this.latencyMs = 0;
    this.jitterMs = 0;
    this.arrivalJitterMs = 0;
    this.rejections.clear();
    this.failures.clear();
    this.outageMode = undefined;
    this.force429Until = 0;
  }

  /** Every API request fails in `mode` for the next `ms` milliseconds. */
  startOutage(ms: number, mode: OutageMode): void {
    checkInteger('ms', ms, 0, 86_400_000);
    if (mode !== '503' && mode !== 'reset') {
      throw new TypeError(`\`mode\` must be '503' or 'reset'; got ${String(mode)}`);
    }
    this.outageMode = mode;
    this.outageUntil = performance.now() + ms;
  }

  /** Every POST is answered 429 for the next `ms` milliseconds. */
  startForce429(ms: number): void {
    this.force429Until = performance.now() + checkInteger('ms', ms, 0, 86_400_000);
  }

  outage(now: number): OutageMode | undefined {
    return this.outageMode !== undefined && now < this.outageUntil ? this.outageMode : undefined;
  }

  force429RemainingMs(now: number): number {
    return Math.max(0, this.force429Until - now);
  }

  /** Draws whether this request fails with a server error, and with which status. */
  drawServerError(): ServerErrorStatus | undefined {
    if (this.errorRate === 0 || this.random() >= this.errorRate) return undefined;
    return this.errorStatuses[Math.floor(this.random() * this.errorStatuses.length)];
  }

  /** Draws whether a failing POST/DELETE is applied before its error is answered. */
  drawAppliedBeforeError(): boolean {
    return this.errorAfterApplyRate > 0 && this.random() < this.errorAfterApplyRate;
  }

  /** How long after its arrival the next request is taken in, in ms (delivery jitter). */
  drawArrivalDelayMs(): number {
    return this.arrivalJitterMs > 0 ? this.random() * this.arrivalJitterMs : 0;
  }

  /** Delay of the next response in ms. */
  drawDelayMs(): number {
    return this.latencyMs + (this.jitterMs > 0 ? this.random() * this.jitterMs : 0);
  }

  /** The server error a POST/DELETE of `callSid` gets now, if it is to fail (counted down). */
  takeCallFailure(callSid: string): ServerErrorStatus | undefined {
    const failure = this.failures.size === 0 ? undefined : this.failures.get(callSid);
    if (!failure) return undefined;
    if (failure.times <= 1) this.failures.delete(callSid);
    else this.failures.set(callSid, { ...failure, times: failure.times - 1 });
    return failure.status;
  }

  rejection(callSid: string): CallRejection | undefined {
    return this.rejections.size === 0 ? undefined : this.rejections.get(callSid);
  }

  snapshot(): FaultSnapshot {
    const now = performance.now();
    const mode = this.outage(now);
    return {
      errorRate: this.errorRate,
      errorStatuses: [...this.errorStatuses],
      errorAfterApplyRate: this.errorAfterApplyRate,
      latencyMs: this.latencyMs,
      jitterMs: this.jitterMs,
      arrivalJitterMs: this.arrivalJitterMs,
      rejectCalls: Object.fromEntries(this.rejections),
      failCalls: Object.fromEntries(this.failures),
      outage: mode ? { mode, remainingMs: this.outageUntil - now } : null,
      force429RemainingMs: this.force429RemainingMs(now),
    };
  }

  /**
   * A server error as gateways and backends send them: 502 is an HTML page; 500 and 503
   * are a full SignalWire body, a body missing fields, or JSON cut off mid-way.
   */
  serverErrorAnswer(status: ServerErrorStatus): ApiAnswer {
    if (status === 502) {
      return {
        status,
        contentType: 'text/html',
        body: '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n',
      };
    }
    const message = status === 500 ? 'Internal Server Error' : 'Service Unavailable';
    const full = errorBody({ status, code: ErrorCode.internal, message });
    const variant = Math.floor(this.random() * 3);
    if (variant === 0) return { status, body: full };
    if (variant === 1) return { status, body: JSON.stringify({ message }) };
    return { status, body: full.slice(0, Math.floor(full.length / 2)) };
  }
}

/** The answer of every API request during a `503` outage. */
export function outageAnswer(): ApiAnswer {
  return {
    status: 503,
    body: errorBody({ status: 503, code: ErrorCode.internal, message: 'Service Unavailable' }),
  };
}
