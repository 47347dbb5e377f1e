import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../src/signalwire/retry-after.js';

const NOW = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');

describe('parseRetryAfter', () => {
  it('reads delta-seconds as milliseconds', () => {
    expect(parseRetryAfter('2', NOW)).toBe(2000);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
  });

  it('tolerates fractional seconds and numeric header values', () => {
    expect(parseRetryAfter('1.5', NOW)).toBe(1500);
    expect(parseRetryAfter(3, NOW)).toBe(3000);
  });

  it('reads an IMF-fixdate as the delay until then', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:05 GMT', NOW)).toBe(5000);
  });

  it('reads the obsolete RFC 850 and asctime date forms', () => {
    expect(parseRetryAfter('Wednesday, 21-Oct-15 07:28:03 GMT', NOW)).toBe(3000);
    // asctime carries no zone; compare with the same clock reading rather than assume UTC.
    expect(
      parseRetryAfter('Wed Oct 21 07:28:04 2015', Date.parse('Wed Oct 21 07:28:00 2015')),
    ).toBe(4000);
  });

  it('gives 0 for a date in the past', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:00:00 GMT', NOW)).toBe(0);
  });

  it('uses the first of repeated headers', () => {
    expect(parseRetryAfter(['4', '9'], NOW)).toBe(4000);
  });

  it('returns undefined for absent or unreadable values', () => {
    for (const value of [undefined, null, '', '   ', 'soon', '-5', '5 seconds', '12:00:00', []]) {
      expect(parseRetryAfter(value as string | undefined, NOW), String(value)).toBeUndefined();
    }
  });
});
