/**
 * The mock's HTTP server: a stateful stand-in for SignalWire's Compatibility API (see
 * api-pipeline.ts and compat-api.ts) plus its control routes under `/_mock` (see
 * control-http.ts).
 *
 * It is built on `node:http` rather than fastify on purpose: benchmarks drive it at a few
 * thousand requests per second on two cores, where a framework's routing, hooks and
 * serialisation would show up in the client's numbers; and connection-reset faults need
 * the raw socket, which a framework hides.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ApiRequestPipeline } from './api-pipeline.js';
import { createControl, type MockControl } from './control.js';
import { handleControlRequest } from './control-http.js';
import { Departures } from './departures.js';
import { FaultInjector } from './faults.js';
import { readBody, writeAnswer } from './http-io.js';
import {
  API_PREFIX,
  CONTROL_PREFIX,
  MOCK_DEFAULTS,
  checkInteger,
  checkOneOf,
  checkRateLimit,
  type LeaverAnswers,
  type MockOptions,
} from './options.js';
import type { LimitHeaderOptions } from './limit-headers.js';
import { RateLimitGate } from './rate-gate.js';
import { AccountRateLimits } from './rate-window.js';
import { RequestLog } from './request-log.js';
import { ErrorCode, errorAnswer, type ApiAnswer } from './responses.js';
import { MockState } from './state.js';

export interface MockServer extends MockControl {
  /** `http://127.0.0.1:PORT`: the space URL clients use. */
  readonly url: string;
  /** `${url}/api/laml/2010-04-01` */
  readonly apiUrl: string;
  readonly host: string;
  readonly port: number;
  /** Stops listening and closes every connection, keep-alive ones included. Idempotent. */
  stop(): Promise<void>;
}

const CONTROL_BODY_LIMIT = 16 * 1024 * 1024;

interface MockCore {
  control: MockControl;
  pipeline: ApiRequestPipeline;
  departures: Departures;
}

function limitHeaderOptions(options: MockOptions): LimitHeaderOptions {
  return {
    retryAfter: checkOneOf('retryAfter', options.retryAfter ?? MOCK_DEFAULTS.retryAfter, [
      'seconds',
      'http-date',
      'none',
    ] as const),
    rateLimitReset: checkOneOf(
      'rateLimitReset',
      options.rateLimitReset ?? MOCK_DEFAULTS.rateLimitReset,
      ['none', 'epoch-seconds'] as const,
    ),
    headersOn429: checkOneOf('headersOn429', options.headersOn429 ?? MOCK_DEFAULTS.headersOn429, [
      'rate-limit',
      'none',
    ] as const),
  };
}

function leaverAnswers(options: MockOptions): Required<LeaverAnswers> {
  const given = options.leavers ?? {};
  return {
    update: checkOneOf('leavers.update', given.update ?? MOCK_DEFAULTS.leavers.update, [
      422, 404,
    ] as const),
    retrieve: checkOneOf('leavers.retrieve', given.retrieve ?? MOCK_DEFAULTS.leavers.retrieve, [
      200, 404,
    ] as const),
  };
}

/** Checks the options and wires the mock's parts together. */
function buildCore(options: MockOptions): MockCore {
  const headerOptions = limitHeaderOptions(options);
  const leavers = leaverAnswers(options);
  const updateAnswerStatus = checkOneOf(
    'updateAnswerStatus',
    options.updateAnswerStatus ?? MOCK_DEFAULTS.updateAnswerStatus,
    ['participant', 'completed'] as const,
  );
  const random = options.random ?? Math.random;
  const state = new MockState();
  const limit = options.rateLimit === undefined ? MOCK_DEFAULTS.rateLimit : options.rateLimit;
  const rateLimits = new AccountRateLimits(checkRateLimit('rateLimit', limit));
  const faults = new FaultInjector(random);
  if (options.faults) faults.set(options.faults);
  const capacity = options.requestLogCapacity ?? MOCK_DEFAULTS.requestLogCapacity;
  const log = new RequestLog(checkInteger('requestLogCapacity', capacity, 0, 10_000_000));
  const departures = new Departures(state, random);
  const gate = new RateLimitGate(rateLimits, faults, headerOptions, () => log.counters);
  return {
    control: createControl({ state, rateLimits, faults, log, departures }),
    pipeline: new ApiRequestPipeline({ state, faults, log, gate, leavers, updateAnswerStatus }),
    departures,
  };
}

async function serveControl(
  control: MockControl,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  queryText: string,
): Promise<void> {
  const body = await readBody(req, CONTROL_BODY_LIMIT);
  const answer: ApiAnswer =
    body === null
      ? { status: 413, body: JSON.stringify({ error: `body exceeds ${CONTROL_BODY_LIMIT} bytes` }) }
      : handleControlRequest(
          control,
          req.method ?? 'GET',
          path,
          new URLSearchParams(queryText),
          body,
        );
  writeAnswer(res, answer, {});
}

function requestListener(core: MockCore) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const now = performance.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const queryText = q < 0 ? '' : url.slice(q + 1);
    const isControl = path === CONTROL_PREFIX || path.startsWith(`${CONTROL_PREFIX}/`);
    const served = isControl
      ? serveControl(core.control, req, res, path, queryText)
      : core.pipeline.serve(req, res, now, path, queryText);
    served.catch((err: unknown) => {
      if (res.headersSent || res.destroyed) return;
      const message = `mock failure: ${(err as Error).message}`;
      writeAnswer(res, errorAnswer(500, ErrorCode.internal, message), {});
    });
  };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** Starts a mock Compatibility API; `stop()` it when done. */
export async function startMock(options: MockOptions = {}): Promise<MockServer> {
  const port = checkInteger('port', options.port ?? MOCK_DEFAULTS.port, 0, 65_535);
  const host = options.host ?? MOCK_DEFAULTS.host;
  const core = buildCore(options);
  const server = createServer(requestListener(core));
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const boundPort = await listen(server, port, host);
  const url = `http://${displayHost(host)}:${boundPort}`;

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= new Promise<void>((resolve) => {
      core.departures.stop();
      core.pipeline.cancelDelayed();
      server.close(() => resolve());
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
    }));

  return { ...core.control, url, apiUrl: `${url}${API_PREFIX}`, host, port: boundPort, stop };
}
