/**
 * Latest intent wins under any wait: jobs held at an open circuit for longer than an
 * in-flight claim lives, then the opposite action, then recovery. Every participant must
 * end in the newer state, and no older update may reach the API after a newer one.
 */
import { describe, expect, it } from 'vitest';
import type { ConfbulkConfig } from '../../src/config.js';
import { readCircuitState } from '../../src/worker/circuit-breaker.js';
import { startWorkerStack } from '../../src/worker/stack.js';
import { eventually, withScene, type Scene } from '../producer/support.js';

/** Claim TTL = max(lock 1000 ms, request timeout 500 ms + 1000 ms) = 1500 ms. */
const CLAIM_TTL_MS = 1500;
const COOLDOWN_MS = 4000;

function workerConfig(scene: Scene): ConfbulkConfig {
  const spaces = new Map(scene.config.spaces);
  const space = spaces.get('default');
  if (space) spaces.set('default', { ...space, rateLimits: [{ count: 200, durationMs: 1000 }] });
  return {
    ...scene.config,
    spaces,
    requestTimeoutMs: 500,
    circuit: {
      ...scene.config.circuit,
      failureThreshold: 3,
      probeIntervalMs: COOLDOWN_MS,
    },
  };
}

describe('latest intent wins under a long wait', () => {
  it('ends everyone unmuted when unmute arrives while mute jobs wait at an open circuit longer than a claim lives', async () => {
    await withScene(
      async (scene) => {
        const { mock, account, confbulk, redis, prefix } = scene as Required<Scene>;
        const conference = mock.createConference(account.accountSid, { participants: 200 });
        mock.setFaults({ latencyMs: 20 });
        // Two worker processes. The first takes every mute job at once (concurrency 200), so
        // the unmute jobs all go to the second, which is started once the mute jobs wait:
        // two processes each with its own queue at the gate, as in production.
        const connections = [redis.duplicate(), redis.duplicate()];
        const start = (i: 0 | 1, concurrency: number) =>
          startWorkerStack({
            config: workerConfig(scene),
            connection: connections[i] as typeof redis,
            concurrency,
            stalled: { lockDurationMs: 1000, stalledIntervalMs: 500 },
          });
        const stacks = [await start(0, 200)];
        try {
          const mute = await confbulk.bulkAction({
            action: 'mute',
            target: { conferenceSid: conference.sid },
          });
          await eventually(() => mock.counters().appliedUpdates >= 20);
          mock.outage(600, '503');
          await eventually(
            async () => (await readCircuitState(redis, prefix, 'default')) === 'open',
          );
          const openedAt = Date.now();
          stacks.push(await start(1, 400));
          // The mute jobs wait at the circuit for longer than their claims live.
          await new Promise((r) => setTimeout(r, CLAIM_TTL_MS + 300));
          const unmute = await confbulk.bulkAction({
            action: 'unmute',
            target: { conferenceSid: conference.sid },
          });
          await eventually(async () => (await confbulk.getBatch(unmute.id))?.state === 'running');
          // Both batches were held: the circuit is still open after the unmute's fan-out.
          expect(await readCircuitState(redis, prefix, 'default')).toBe('open');
          expect(Date.now() - openedAt).toBeGreaterThan(CLAIM_TTL_MS);

          const [muted, unmuted] = await Promise.all([
            mute.completed({ timeoutMs: 30_000 }),
            unmute.completed({ timeoutMs: 30_000 }),
          ]);
          expect(mock.participants(conference.sid).filter((p) => p.muted)).toEqual([]);
          expect(unmuted.counts).toMatchObject({ total: 200, succeeded: 200, deadLettered: 0 });
          expect(muted.counts.succeeded + muted.counts.superseded).toBe(200);

          // In arrival order at the API, no Muted=true after a Muted=false for anyone.
          const seenUnmute = new Set<string>();
          const stale: string[] = [];
          for (const r of mock.requestLog()) {
            if (r.method !== 'POST' || !r.callSid || !r.params) continue;
            if (r.params.Muted === 'false') seenUnmute.add(r.callSid);
            else if (r.params.Muted === 'true' && seenUnmute.has(r.callSid)) stale.push(r.callSid);
          }
          expect(stale).toEqual([]);
          expect(seenUnmute.size).toBe(200);
          expect(muted.counts.superseded).toBeGreaterThan(0);
        } finally {
          for (const stack of stacks) await stack.close(3000).catch(() => {});
          for (const c of connections) await c.quit().catch(() => c.disconnect());
        }
      },
      { withMock: true },
    );
  });
});
