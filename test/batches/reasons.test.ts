/**
 * Every batch explains why it waits or failed, read the way users read it: `confbulk
 * status --json` and `GET /v1/batches/:id`. Each reason is staged for real: no worker, a
 * listing answered 401, a refused connection while listing, a space paused by 401s
 * mid-batch, an open circuit during an outage, and the rate window.
 */
import { describe, expect, it } from 'vitest';
import type { Batch, BatchReason } from '../../src/types.js';
import { freePort } from '../../scripts/redis.js';
import { confbulk } from '../cli/run-cli.js';
import { until } from '../worker/support/stack.js';
import { API_TOKEN, withScene, type Scene } from './scene.js';

async function mute(scene: Scene, ...extra: string[]): Promise<{ id: string; stderr: string }> {
  const r = await confbulk(scene.env, 'mute', '--conference', scene.conferenceSid, ...extra);
  expect(r.code, r.stderr).toBe(0);
  return { id: r.stdout.trim(), stderr: r.stderr };
}

async function untilSucceeded(scene: Scene, id: string, n: number): Promise<void> {
  await until(
    async () => (await scene.status(id)).counts.succeeded >= n,
    15_000,
    `${n} participants muted`,
  );
}

describe('the reason of a batch', () => {
  it('no worker: mute warns at once, and the batch says it waits for one', () =>
    withScene({ worker: false }, async (scene) => {
      const { id, stderr } = await mute(scene);
      expect(stderr).toMatch(
        /^confbulk: warning: no worker serves space default: the batch waits until a worker with that space profile connects \(start one: (npx )?confbulk worker\)/,
      );
      const reason = await scene.untilReason(id, 'no-worker');
      expect(reason.command).toMatch(/confbulk worker$/);
      expect((await scene.status(id)).state).toBe('listing');

      const posted = await scene.app.inject({
        method: 'POST',
        url: '/v1/bulk-actions',
        headers: { authorization: `Bearer ${API_TOKEN}` },
        payload: { action: 'unmute', target: { conferenceSid: scene.conferenceSid } },
      });
      expect(posted.json<{ batch: Batch }>().batch.reason?.code).toBe('no-worker');
    }));

  it('listing answered 401: the error, the attempt and when the next one is', () =>
    withScene({ token: 'not-the-token' }, async (scene) => {
      const { id, stderr } = await mute(scene);
      expect(stderr).toBe('');
      const reason = await scene.untilReason(id, 'listing-retry');
      expect(reason.message).toMatch(/^listing participants failed \(attempt 1 of 8\): .*401/);
      expect(reason.message).not.toContain('not-the-token');
      await until(
        async () => (await scene.status(id)).reason?.nextAt !== undefined,
        5000,
        'nextAt',
      );
      const later = (await scene.status(id)).reason as BatchReason;
      expect(later.message).toMatch(/; next attempt at \d\d:\d\d:\d\d UTC$/);
      expect(Date.parse(later.nextAt ?? '')).toBeGreaterThan(Date.parse(later.lastTrueAt));
      expect(later.since).toBeDefined();
    }));

  it('a refused connection while listing: named, with the next attempt', async () => {
    const port = await freePort();
    await withScene({ spaceUrl: `http://127.0.0.1:${port}` }, async (scene) => {
      const { id } = await mute(scene);
      const reason = await scene.untilReason(id, 'listing-retry');
      expect(reason.message).toMatch(
        /^listing participants failed \(attempt 1 of 8\): .*ECONNREFUSED/,
      );
      const http = await scene.http(id);
      expect(http.reason?.message).toMatch(/ECONNREFUSED/);
    });
  });

  it('a space paused by 401s mid-batch names the resume command, and resume clears it', () =>
    withScene(
      { participants: 200, env: { CONFBULK_RATE_LIMIT: '40/1s', CONFBULK_CONCURRENCY: '5' } },
      async (scene) => {
        const { id } = await mute(scene);
        await untilSucceeded(scene, id, 5);
        scene.mock.setToken(scene.account.accountSid, 'rotated-token-0123456789');
        const reason = await scene.untilReason(id, 'space-paused');
        expect(reason.message).toMatch(
          /^space default is paused: the API rejected its credentials.*; fix them, then run: (npx )?confbulk resume --space default$/,
        );
        expect(reason.command).toMatch(/confbulk resume --space default$/);
        expect(reason.nextAt).toBeDefined();
        const progress = await confbulk(scene.env, 'status', id);
        expect(progress.stdout).toMatch(/running; .*; waiting: space default is paused/);

        scene.mock.setToken(scene.account.accountSid, scene.account.token);
        expect((await confbulk(scene.env, 'resume')).stdout).toMatch(/space default resumed/);
        await until(
          async () => (await scene.status(id)).reason?.code !== 'space-paused',
          10_000,
          'the pause to clear',
        );
      },
    ));

  it('an outage opens the circuit: since when and the next probe', () =>
    withScene(
      {
        participants: 200,
        env: {
          CONFBULK_RATE_LIMIT: '40/1s',
          CONFBULK_CONCURRENCY: '5',
          CONFBULK_CIRCUIT_THRESHOLD: '3',
          CONFBULK_CIRCUIT_COOLDOWN_MS: '3000',
          CONFBULK_BACKOFF_BASE_MS: '50',
          CONFBULK_BACKOFF_MAX_MS: '200',
        },
      },
      async (scene) => {
        const { id } = await mute(scene);
        await untilSucceeded(scene, id, 5);
        scene.mock.outage(20_000, '503');
        const reason = await scene.untilReason(id, 'circuit-open');
        expect(reason.message).toMatch(
          /^the circuit of space default is (open|half-open) after failed requests in a row since \d\d:\d\d:\d\d UTC/,
        );
        expect(reason.since).toBeDefined();
        expect(Date.parse(reason.since ?? '')).toBeLessThanOrEqual(Date.parse(reason.lastTrueAt));
        scene.mock.clearFaults();
      },
    ));

  it('a tight rate window: the batch says it waits for it', () =>
    withScene(
      { participants: 60, env: { CONFBULK_RATE_LIMIT: '4/1s', CONFBULK_CONCURRENCY: '20' } },
      async (scene) => {
        const { id } = await mute(scene);
        const reason = await scene.untilReason(id, 'rate-limited');
        expect(reason.message).toMatch(
          /^waiting for the rate window of space default \(4\/1s used up\): the next permit frees in \d+\.\d s$/,
        );
        expect(Date.parse(reason.nextAt ?? '')).toBeGreaterThan(Date.parse(reason.lastTrueAt));
      },
    ));

  it('a failed batch says why', () =>
    withScene({}, async (scene) => {
      const r = await confbulk(
        scene.env,
        'mute',
        '--conference',
        '4f1b6e6a-9999-4000-8000-000000000009',
      );
      const id = r.stdout.trim();
      const reason = await scene.untilReason(id, 'failed');
      expect(reason.message).toMatch(/^failed: conference .* not found in space default$/);
    }));
});
