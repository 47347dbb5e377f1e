import { describe, expect, it } from 'vitest';
import { PermitBook } from '../../src/worker/rate-limiter/permit-book.js';

describe('PermitBook (a process’s reserved permits)', () => {
  // Five permits 10 ms apart; Redis slots from 1000, usable locally from 100 to 104 (+ 10 i).
  const book = (): PermitBook => {
    const b = new PermitBook();
    b.add(1000, 100, 104, 10, 5);
    return b;
  };

  it('never hands a permit out before its slot', () => {
    const b = book();
    expect(b.take(99.9)).toBe(false);
    expect(b.take(100)).toBe(true);
    expect(b.take(105)).toBe(false);
    expect(b.nextAt()).toBe(110);
    expect(b.size).toBe(4);
  });

  it('drops permits later than their bound instead of saving them up', () => {
    const b = book();
    expect(b.take(123)).toBe(true); // permits 0 and 1 were late: dropped; 2 is in time
    expect(b.dropped).toBe(2);
    expect(b.take(123.5)).toBe(false); // permit 3 is not due before 130
    b.dropLate(1000);
    expect(b.size).toBe(0);
    expect(b.dropped).toBe(4);
  });

  it('voids the permits whose Redis slot falls inside a pause', () => {
    const b = book();
    b.add(2000, 300, 304, 10, 3);
    b.dropBefore(1025); // slots 1000, 1010, 1020
    expect(b.dropped).toBe(3);
    expect(b.nextAt()).toBe(130);
    expect(b.lastAt()).toBe(320);
    b.dropBefore(2010); // the rest of the first batch and slot 2000
    expect(b.nextAt()).toBe(310);
    expect(b.size).toBe(2);
  });
});
