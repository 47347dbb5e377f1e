/**
 * The way of one Compatibility API request through the mock:
 * (delivery jitter, when set) -> logged at arrival -> outage -> authentication -> rate limit (counted at arrival,
 * before the body is read or any latency) -> body -> random server error -> handler ->
 * latency -> answer.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import {
  handleApiRequest,
  parseRoute,
  type ApiContext,
  type ApiRequest,
  type Route,
} from './compat-api.js';
import { outageAnswer, type FaultInjector } from './faults.js';
import { readBody, writeAnswer } from './http-io.js';
import { MOCK_DEFAULTS, type LeaverAnswers } from './options.js';
import { isCounted, type RateLimitGate } from './rate-gate.js';
import type { RequestLog, RequestLogEntry } from './request-log.js';
import { ErrorCode, errorAnswer, notFound, unauthorized, type ApiAnswer } from './responses.js';
import type { AccountRecord, MockState } from './state.js';

const FORM_TYPE = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

export interface PipelineParts {
  state: MockState;
  faults: FaultInjector;
  log: RequestLog;
  gate: RateLimitGate;
  leavers: Required<LeaverAnswers>;
  updateAnswerStatus: 'participant' | 'completed';
}

export class ApiRequestPipeline {
  private readonly delayed = new Set<NodeJS.Timeout>();
  private readonly ctx: ApiContext;

  constructor(private readonly parts: PipelineParts) {
    this.ctx = {
      state: parts.state,
      counters: () => parts.log.counters,
      rejectionFor: (callSid) => parts.faults.rejection(callSid),
      leavers: parts.leavers,
      updateAnswerStatus: parts.updateAnswerStatus,
    };
  }

  /** Serves a request that arrived at `now` (`performance.now()`). */
  async serve(
    req: IncomingMessage,
    res: ServerResponse,
    now: number,
    path: string,
    queryText: string,
  ): Promise<void> {
    const { faults, log, gate } = this.parts;
    const arrivalDelayMs = faults.drawArrivalDelayMs();
    if (arrivalDelayMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, arrivalDelayMs));
      now = performance.now();
    }
    const method = req.method ?? 'GET';
    const route = parseRoute(path);
    const entry = log.add({
      t: performance.timeOrigin + now,
      method,
      path,
      status: 0,
      accountSid: null,
      callSid: route?.kind === 'participant' ? route.callSid : null,
      params: null,
    });
    const outage = faults.outage(now);
    if (outage === 'reset') {
      log.answered(entry, 0);
      req.socket.resetAndDestroy();
      return;
    }
    if (outage === '503') return this.answerLater(res, outageAnswer(), {}, entry);
    const account = this.authenticate(req, route);
    if (!account) return this.answerLater(res, unauthorized(), {}, entry);
    entry.accountSid = account.sid;
    const admission = gate.admit(account.sid, method, now);
    const query = new URLSearchParams(queryText);
    if (queryText.length > 0) entry.params = Object.fromEntries(query);
    const form = isCounted(method) ? await this.readForm(req) : new URLSearchParams();
    if (form instanceof URLSearchParams && form.size > 0) entry.params = Object.fromEntries(form);
    let answer: ApiAnswer;
    if (admission.reject) answer = admission.reject;
    else if (!(form instanceof URLSearchParams)) answer = form;
    else if (!route) answer = notFound(path);
    else answer = this.respond({ method, route, account, query, form });
    this.answerLater(res, answer, admission.headers, entry);
  }

  /** Drops the answers still waiting out their latency (the server is stopping). */
  cancelDelayed(): void {
    for (const timer of this.delayed) clearTimeout(timer);
    this.delayed.clear();
  }

  /** The account a request is made for, if its credentials are right for the path's account. */
  private authenticate(req: IncomingMessage, route: Route | undefined): AccountRecord | undefined {
    const account = this.parts.state.authenticate(req.headers.authorization);
    return account && (!route || route.accountSid === account.sid) ? account : undefined;
  }

  /**
   * The body of a counted request as form parameters: a form, as the documented API and
   * twilio-style SDKs send it, or a JSON object of the same parameter names, as newer SDKs
   * send it. An error answer when it can be neither.
   */
  private async readForm(req: IncomingMessage): Promise<URLSearchParams | ApiAnswer> {
    const limit = MOCK_DEFAULTS.maxBodyBytes;
    const text = await readBody(req, limit);
    if (text === null) {
      return errorAnswer(413, ErrorCode.invalidArgument, `Request body exceeds ${limit} bytes`);
    }
    const type = req.headers['content-type']?.toLowerCase();
    if (text.length === 0 || type === undefined || type.startsWith(FORM_TYPE)) {
      return new URLSearchParams(text);
    }
    if (type.startsWith(JSON_TYPE)) return jsonForm(text);
    return errorAnswer(
      400,
      ErrorCode.invalidArgument,
      `Invalid Content-Type: must be ${FORM_TYPE} or ${JSON_TYPE}; got '${type}'`,
    );
  }

  private respond(request: ApiRequest): ApiAnswer {
    const { faults } = this.parts;
    const { route, method } = request;
    const failure =
      (route.kind === 'participant' && (method === 'POST' || method === 'DELETE')
        ? faults.takeCallFailure(route.callSid)
        : undefined) ?? faults.drawServerError();
    if (failure === undefined) return handleApiRequest(this.ctx, request);
    if (
      (request.method === 'POST' || request.method === 'DELETE') &&
      faults.drawAppliedBeforeError()
    ) {
      handleApiRequest(this.ctx, request);
    }
    return faults.serverErrorAnswer(failure);
  }

  private answerLater(
    res: ServerResponse,
    answer: ApiAnswer,
    headers: OutgoingHttpHeaders,
    entry: RequestLogEntry,
  ): void {
    const write = (): void => {
      writeAnswer(res, answer, headers);
      this.parts.log.answered(entry, answer.status);
    };
    const delayMs = this.parts.faults.drawDelayMs();
    if (delayMs <= 0) return write();
    const timer = setTimeout(() => {
      this.delayed.delete(timer);
      write();
    }, delayMs);
    this.delayed.add(timer);
  }
}

/** A JSON body as form parameters: an object whose values are strings, numbers or booleans. */
function jsonForm(text: string): URLSearchParams | ApiAnswer {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const scalar = (v: unknown): boolean => ['string', 'number', 'boolean'].includes(typeof v);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return errorAnswer(400, ErrorCode.invalidArgument, 'Invalid JSON body: must be an object');
  }
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(body)) {
    if (value === null || value === undefined) continue;
    if (!scalar(value)) {
      return errorAnswer(
        400,
        ErrorCode.invalidArgument,
        `Invalid parameter ${name}: must be a string, number or boolean`,
      );
    }
    form.append(name, String(value));
  }
  return form;
}
