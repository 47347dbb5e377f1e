/**
 * CallBatcher: the calls made in one turn of the event loop, and those made while a round
 * trip is pending, share the next round trip; each caller gets its own reply or error.
 */
import { describe, expect, it } from 'vitest';
import { CallBatcher } from '../../src/batches/call-batcher.js';

/** A batcher doubling numbers, recording the batches it was sent. */
function doubler(options: { maxBatch?: number; failOn?: number } = {}) {
  const batches: number[][] = [];
  let release: (() => void) | undefined;
  let hold = false;
  const batcher = new CallBatcher<number, number>({
    ...(options.maxBatch !== undefined && { maxBatch: options.maxBatch }),
    async send(calls) {
      batches.push([...calls]);
      if (hold) await new Promise<void>((resolve) => (release = resolve));
      return calls.map((n) => (n === options.failOn ? new Error(`no ${n}`) : n * 2));
    },
  });
  return {
    batcher,
    batches,
    holdReplies: () => void (hold = true),
    releaseReplies: () => {
      hold = false;
      release?.();
    },
  };
}

describe('CallBatcher', () => {
  it('sends the calls of one turn of the event loop in one round trip, each with its reply', async () => {
    const { batcher, batches } = doubler();
    expect(await Promise.all([1, 2, 3].map((n) => batcher.run(n)))).toEqual([2, 4, 6]);
    expect(batches).toEqual([[1, 2, 3]]);
    expect(batcher.stats()).toEqual({ calls: 3, roundTrips: 1 });
  });

  it('gathers the calls made while a round trip is pending into the next one', async () => {
    const { batcher, batches, holdReplies, releaseReplies } = doubler();
    holdReplies();
    const first = batcher.run(1);
    await new Promise((resolve) => setImmediate(resolve));
    const later = [batcher.run(2), batcher.run(3)];
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(batches).toEqual([[1]]);
    releaseReplies();
    expect(await Promise.all([first, ...later])).toEqual([2, 4, 6]);
    expect(batches).toEqual([[1], [2, 3]]);
  });

  it('splits a turn with more calls than maxBatch', async () => {
    const { batcher, batches } = doubler({ maxBatch: 2 });
    expect(await Promise.all([1, 2, 3, 4, 5].map((n) => batcher.run(n)))).toEqual([2, 4, 6, 8, 10]);
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('fails only the call whose reply is an error', async () => {
    const { batcher } = doubler({ failOn: 2 });
    const results = await Promise.allSettled([1, 2, 3].map((n) => batcher.run(n)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toEqual(new Error('no 2'));
  });

  it('fails every call of a round trip that failed, and goes on with the next', async () => {
    let fail = true;
    const batcher = new CallBatcher<number, number>({
      send: async (calls) => {
        if (fail) throw new Error('connection lost');
        return calls.map((n) => n + 1);
      },
    });
    const failed = await Promise.allSettled([batcher.run(1), batcher.run(2)]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await batcher.run(3)).toBe(4);
  });

  it('rejects a reply list shorter than the batch for the calls left without one', async () => {
    const batcher = new CallBatcher<number, number>({ send: async () => [1] });
    const results = await Promise.allSettled([batcher.run(1), batcher.run(2)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
  });

  it('names the option and the constraint it broke', () => {
    const send = async (): Promise<number[]> => [];
    expect(() => new CallBatcher({ send, maxBatch: 0 })).toThrow(
      new TypeError('`maxBatch` must be a whole number >= 1; got 0'),
    );
    expect(() => new CallBatcher({ send, maxInFlight: 1.5 })).toThrow(
      new TypeError('`maxInFlight` must be a whole number >= 1; got 1.5'),
    );
  });
});
