/**
 * One HTTP exchange with a space: a keep-alive undici Pool, Basic auth, timeouts, the
 * rate-limit headers of every answer, and every failure turned into a SignalWireError.
 * The Authorization header lives only in a private field and in the request itself.
 */
import { performance } from 'node:perf_hooks';
import { Pool, type Dispatcher } from 'undici';
import type { Logger } from '../logger.js';
import { networkCodeOf } from './classify.js';
import {
  answeredError,
  malformedAnswer,
  networkError,
  type Redact,
  type RequestIdentity,
} from './failures.js';
import { parseRateLimitHeaders } from './rate-limit-headers.js';
import type { ResponseMeta } from './types.js';
import { WriteWatchingDispatcher, type WriteWatch } from './write-signal.js';

/** Most of an error body kept for parsing; SignalWire's are a few hundred bytes, proxies' HTML pages a few KiB. */
export const ERROR_BODY_LIMIT = 64 * 1024;

export interface TransportSetup {
  /** `https://example.signalwire.com` */
  origin: string;
  /** The whole `Authorization` header value. */
  authorization: string;
  userAgent: string;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  connections: number;
  logger: Logger;
  redact: Redact;
}

export interface Exchange extends RequestIdentity {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path and query, e.g. `/api/laml/2010-04-01/Accounts/.../Participants.json?PageSize=1000`. */
  path: string;
  /** `application/x-www-form-urlencoded` body. */
  form?: string;
  signal?: AbortSignal;
  /** Told once, synchronously, when the request was written to its connection (write-signal.ts). Must not throw. */
  onWritten?: () => void;
}

export interface Answer {
  /** Parsed JSON body; undefined for an empty body (204). */
  body: unknown;
  meta: ResponseMeta;
}

type ResponseHeaders = Record<string, string | string[] | undefined>;

/** Reads at most `limit` bytes; a body that fails half-way still yields what arrived. */
async function readPartial(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= limit) break;
    }
  } catch {
    // A cut-off error body (a proxy's 502 page) still tells the status; keep what came.
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

export class HttpTransport {
  readonly #pool: Pool;
  readonly #dispatcher: WriteWatchingDispatcher;
  readonly #setup: TransportSetup;
  #closing: Promise<void> | undefined;

  constructor(setup: TransportSetup) {
    this.#setup = setup;
    this.#pool = new Pool(setup.origin, {
      connections: setup.connections,
      connectTimeout: setup.connectTimeoutMs,
      headersTimeout: setup.requestTimeoutMs,
      bodyTimeout: setup.requestTimeoutMs,
    });
    this.#dispatcher = new WriteWatchingDispatcher(this.#pool);
  }

  /**
   * Sends one request and reads its JSON answer.
   * @throws SignalWireError for a non-2xx answer, no answer, or an unreadable 2xx body.
   */
  async send(exchange: Exchange): Promise<Answer> {
    const started = performance.now();
    const { redact } = this.#setup;
    const refusal = this.#refusal(exchange);
    if (refusal) throw networkError(exchange, refusal, redact, { notSent: true });
    let response: Dispatcher.ResponseData;
    const options = this.#options(exchange);
    let written = false;
    const watch: WriteWatch = {
      watched: false,
      onWritten: () => {
        written = true;
        exchange.onWritten?.();
      },
    };
    this.#dispatcher.watch(options, watch);
    try {
      response = await this.#dispatcher.request(options);
    } catch (err) {
      this.#log(exchange, started, undefined, err);
      // Watched and never written: it never left, whatever the error says.
      throw networkError(exchange, err, redact, {
        aborted: exchange.signal?.aborted,
        notSent: watch.watched && !written,
      });
    }
    return this.#read(exchange, response, started);
  }

  /** Closes pooled connections after in-flight requests end. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#dispatcher.close();
    return this.#closing;
  }

  /** Why a request is not even handed to the pool: the client is closing, or the caller already aborted. */
  #refusal(exchange: Exchange): Error | undefined {
    const closed = this.#closing !== undefined;
    if (!closed && !exchange.signal?.aborted) return undefined;
    const [message, code] = closed
      ? ['client is closed', 'UND_ERR_CLOSED']
      : ['aborted before sending', 'ABORT_ERR'];
    return Object.assign(new Error(message), { code });
  }

  #options(exchange: Exchange): Dispatcher.RequestOptions {
    const headers: Record<string, string> = {
      authorization: this.#setup.authorization,
      accept: 'application/json',
      'user-agent': this.#setup.userAgent,
    };
    if (exchange.form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    return {
      method: exchange.method,
      path: exchange.path,
      headers,
      body: exchange.form ?? null,
      signal: exchange.signal ?? null,
    };
  }

  async #read(
    exchange: Exchange,
    response: Dispatcher.ResponseData,
    started: number,
  ): Promise<Answer> {
    const { redact } = this.#setup;
    const status = response.statusCode;
    const headers = response.headers as ResponseHeaders;
    const rateLimit = parseRateLimitHeaders(headers);
    if (status < 200 || status > 299) {
      const body = await readPartial(response.body, ERROR_BODY_LIMIT);
      this.#log(exchange, started, status);
      throw answeredError(exchange, { status, headers, body, rateLimit }, redact);
    }
    let text: string;
    try {
      text = await response.body.text();
    } catch (err) {
      this.#log(exchange, started, status, err);
      throw networkError(exchange, err, redact, {
        status,
        rateLimit,
        aborted: exchange.signal?.aborted,
      });
    }
    const meta: ResponseMeta = {
      status,
      rateLimit,
      durationMs: Math.round(performance.now() - started),
    };
    this.#log(exchange, started, status);
    if (text.trim() === '') return { body: undefined, meta };
    try {
      return { body: JSON.parse(text) as unknown, meta };
    } catch {
      throw malformedAnswer(exchange, { status, rateLimit }, 'a body that is not JSON', redact);
    }
  }

  /** One debug line per request: method, path, status or network code, duration. Never headers. */
  #log(exchange: Exchange, started: number, status: number | undefined, err?: unknown): void {
    const { logger, redact } = this.#setup;
    if (!logger.isLevelEnabled('debug')) return;
    const networkCode = err === undefined ? undefined : networkCodeOf(err);
    logger.debug(
      {
        method: exchange.method,
        path: redact(exchange.path),
        status,
        networkCode,
        durationMs: Math.round(performance.now() - started),
      },
      'signalwire request',
    );
  }
}
