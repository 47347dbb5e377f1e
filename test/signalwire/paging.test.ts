import { describe, expect, it } from 'vitest';
import { nextPagePath, type PagingContext } from '../../src/signalwire/paging.js';
import { SignalWireError } from '../../src/signalwire/errors.js';

const context: PagingContext = {
  transport: { send: () => Promise.reject(new Error('not used')) },
  origin: 'https://example.signalwire.com',
  redact: (text) => text,
};
const answered = {
  exchange: {
    method: 'GET' as const,
    path: '/api/laml/2010-04-01/Accounts/a/Conferences.json?PageSize=50',
  },
  meta: { status: 200, rateLimit: {}, durationMs: 1 },
};

function next(uri: string | null, visited: string[] = []): string | undefined {
  return nextPagePath(context, answered, uri, new Set(visited));
}

describe('nextPagePath', () => {
  it('ends the walk on a null next_page_uri', () => {
    expect(next(null)).toBeUndefined();
  });

  it('keeps a relative path and its query exactly as given', () => {
    const uri =
      '/api/laml/2010-04-01/Accounts/a/Conferences.json?PageSize=50&Page=1&PageToken=PA%2Bx';
    expect(next(uri)).toBe(uri);
  });

  it('accepts an absolute URI on the space origin', () => {
    expect(next('https://example.signalwire.com/api/x.json?Page=2')).toBe('/api/x.json?Page=2');
  });

  it('refuses another host, another port or a downgrade to http', () => {
    for (const uri of [
      'https://evil.example.com/api/x.json',
      'https://example.signalwire.com:8443/api/x.json',
      'http://example.signalwire.com/api/x.json',
      '//evil.example.com/api/x.json',
    ]) {
      let err: unknown;
      try {
        next(uri);
      } catch (e) {
        err = e;
      }
      expect(err, uri).toBeInstanceOf(SignalWireError);
      expect(err).toMatchObject({ kind: 'invalid', status: 200 });
    }
  });

  it('refuses an unreadable URI and a page already visited', () => {
    expect(() => next('http://[oops')).toThrow(/unreadable next_page_uri/);
    expect(() => next('/api/x.json?Page=1', ['/api/x.json?Page=1'])).toThrow(
      /repeats an earlier page/,
    );
  });
});
