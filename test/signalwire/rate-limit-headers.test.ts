import { describe, expect, it } from 'vitest';
import {
  parseRateLimitHeaders,
  rateLimitFieldOf,
} from '../../src/signalwire/rate-limit-headers.js';

const NOW = 1_700_000_000_000;

describe('parseRateLimitHeaders', () => {
  it('reads the common X-RateLimit-* spelling', () => {
    const info = parseRateLimitHeaders(
      { 'x-ratelimit-limit': '13800', 'x-ratelimit-remaining': '13750', 'x-ratelimit-reset': '7' },
      NOW,
    );
    expect(info).toEqual({ limit: 13800, remaining: 13750, resetAt: NOW + 7000 });
  });

  it('matches names in any case, with rate-limit or ratelimit anywhere in them', () => {
    const info = parseRateLimitHeaders(
      {
        'X-Rate-Limit-Limit': '100',
        'X-SignalWire-RateLimit-Remaining': '5',
        'RateLimit-Reset': '1',
      },
      NOW,
    );
    expect(info).toEqual({ limit: 100, remaining: 5, resetAt: NOW + 1000 });
  });

  it('normalises resets given as epoch seconds, epoch milliseconds or seconds from now', () => {
    expect(parseRateLimitHeaders({ 'x-ratelimit-reset': '1700000010' }, NOW).resetAt).toBe(
      NOW + 10_000,
    );
    expect(parseRateLimitHeaders({ 'x-ratelimit-reset': '1700000012345' }, NOW).resetAt).toBe(
      NOW + 12_345,
    );
    expect(parseRateLimitHeaders({ 'x-ratelimit-reset': '2.5' }, NOW).resetAt).toBe(NOW + 2500);
    expect(parseRateLimitHeaders({ 'x-ratelimit-reset': '0' }, NOW).resetAt).toBe(NOW);
  });

  it('accepts a reset given as an HTTP date', () => {
    const at = new Date(NOW + 30_000).toUTCString();
    expect(parseRateLimitHeaders({ 'x-ratelimit-reset': at }, NOW).resetAt).toBe(
      Math.floor((NOW + 30_000) / 1000) * 1000,
    );
  });

  it('reads the leading number of list-valued headers and the first of repeated ones', () => {
    const info = parseRateLimitHeaders(
      { 'x-ratelimit-limit': '100, 100;w=10', 'x-ratelimit-remaining': ['7', '9'] },
      NOW,
    );
    expect(info).toEqual({ limit: 100, remaining: 7 });
  });

  it('keeps the most cautious value when several headers say the same thing', () => {
    const info = parseRateLimitHeaders(
      {
        'x-ratelimit-remaining': '50',
        'x-rate-limit-remaining': '3',
        'x-ratelimit-reset': '1',
        'x-rate-limit-reset': '4',
        'x-ratelimit-limit': '200',
        'ratelimit-limit': '100',
      },
      NOW,
    );
    expect(info).toEqual({ limit: 100, remaining: 3, resetAt: NOW + 4000 });
  });

  it('ignores unreadable values and unrelated headers', () => {
    const info = parseRateLimitHeaders(
      {
        'x-ratelimit-remaining': 'lots',
        'x-ratelimit-reset': 'later',
        'x-ratelimit-limit': undefined,
        'x-ratelimit': '10',
        'x-ratelimit-remaining-minute': '10',
        'content-length': '10',
        'retry-after': '10',
      },
      NOW,
    );
    expect(info).toEqual({});
  });
});

describe('rateLimitFieldOf', () => {
  it('looks at the suffix after the ratelimit token only', () => {
    expect(rateLimitFieldOf('x-ratelimit-limit')).toBe('limit');
    expect(rateLimitFieldOf('x-ratelimit')).toBeUndefined();
    expect(rateLimitFieldOf('x-limit')).toBeUndefined();
    expect(rateLimitFieldOf('X_RATELIMIT_RESET')).toBe('resetAt');
  });
});
