import { describe, expect, it } from 'vitest';
import {
  classifyNetworkError,
  kindOfStatus,
  networkCodeOf,
  reachedServerForStatus,
} from '../../src/signalwire/classify.js';

function codeError(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

describe('kindOfStatus', () => {
  it('classifies every documented and observed status', () => {
    const expected: [number, string][] = [
      [429, 'rate_limited'],
      [500, 'transient'],
      [502, 'transient'],
      [503, 'transient'],
      [504, 'transient'],
      [408, 'transient'],
      [404, 'gone'],
      [400, 'invalid'],
      [422, 'invalid'],
      [405, 'invalid'],
      [409, 'invalid'],
      [302, 'invalid'],
      [401, 'unauthorized'],
      [403, 'unauthorized'],
    ];
    for (const [status, kind] of expected) expect(kindOfStatus(status), String(status)).toBe(kind);
  });

  it('counts every answer but 429 as having reached the server', () => {
    expect(reachedServerForStatus(429)).toBe(false);
    for (const status of [400, 401, 404, 408, 422, 500, 502])
      expect(reachedServerForStatus(status)).toBe(true);
  });
});

describe('classifyNetworkError', () => {
  it('marks failures before sending as not having reached the server', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']) {
      expect(classifyNetworkError(codeError(code)), code).toMatchObject({
        kind: 'transient',
        reachedServer: false,
        networkCode: code,
      });
    }
  });

  it('treats resets and timeouts after connecting as ambiguous (may have reached the server)', () => {
    for (const code of [
      'ECONNRESET',
      'EPIPE',
      'UND_ERR_SOCKET',
      'UND_ERR_HEADERS_TIMEOUT',
      'UND_ERR_BODY_TIMEOUT',
    ]) {
      expect(classifyNetworkError(codeError(code)), code).toMatchObject({
        kind: 'transient',
        reachedServer: true,
        networkCode: code,
      });
    }
  });

  it('finds the code in a cause or an AggregateError', () => {
    const wrapped = new Error('fetch failed', { cause: codeError('ENOTFOUND') });
    expect(classifyNetworkError(wrapped)).toMatchObject({
      reachedServer: false,
      networkCode: 'ENOTFOUND',
    });
    const aggregate = new AggregateError(
      [codeError('ECONNREFUSED'), codeError('ECONNREFUSED')],
      'connect failed',
    );
    expect(networkCodeOf(aggregate)).toBe('ECONNREFUSED');
  });

  it('recognises an AbortError', () => {
    const abort = new DOMException('This operation was aborted', 'AbortError');
    expect(classifyNetworkError(abort)).toMatchObject({
      kind: 'transient',
      networkCode: 'ABORT_ERR',
    });
  });

  it('treats unknown failures as transient and possibly sent', () => {
    expect(classifyNetworkError(new Error('weird'))).toEqual({
      kind: 'transient',
      reachedServer: true,
      networkCode: 'UNKNOWN',
      description: 'request failed',
    });
    expect(classifyNetworkError(codeError('ESOMETHING')).networkCode).toBe('ESOMETHING');
    expect(classifyNetworkError('a string').networkCode).toBe('UNKNOWN');
  });
});
