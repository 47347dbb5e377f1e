/**
 * No silent mis-targeting: an ambiguous conference name is refused at submission (CLI exit
 * 2, HTTP 400, with the candidates) unless --newest, and again when the fan-out runs; a
 * worker without a space's profile leaves its batches to a worker that has it (they wait
 * with that reason, never fail); a worker without the webhook secret says so at start and
 * at delivery, and the batch shows the webhook waiting.
 */
import { createServer, type AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { queuePrefix } from '../../src/keys.js';
import { QUEUE_NAMES } from '../../src/queues.js';
import type { Batch } from '../../src/types.js';
import { confbulk } from '../cli/run-cli.js';
import { testRedis } from '../helpers/redis.js';
import { until } from '../worker/support/stack.js';
import { API_TOKEN, withScene } from './scene.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('a conference named by its friendly name', () => {
  it('is refused when several are in progress, listing them, unless --newest', () =>
    withScene({ participants: 2 }, async (scene) => {
      const big = scene.mock.createConference(scene.account.accountSid, {
        participants: 5,
        friendlyName: 'town-hall',
      });
      await sleep(1100); // the API's times have whole seconds: make the second one newer
      const small = scene.mock.createConference(scene.account.accountSid, {
        participants: 3,
        friendlyName: 'town-hall',
      });

      const refused = await confbulk(scene.env, 'mute', '--conference-name', 'town-hall');
      expect(refused.code).toBe(2);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toMatch(
        /^confbulk: target\.conferenceName: 2 in-progress conferences are named 'town-hall' in space default: /,
      );
      expect(refused.stderr).toContain(`${big.sid} (5 participants, started `);
      expect(refused.stderr).toContain(`${small.sid} (3 participants, started `);
      expect(refused.stderr).toMatch(/--newest/);
      const listed = await confbulk(scene.env, 'batches', '--json');
      expect(JSON.parse(listed.stdout)).toEqual([]);

      const http = await scene.app.inject({
        method: 'POST',
        url: '/v1/bulk-actions',
        headers: { authorization: `Bearer ${API_TOKEN}` },
        payload: { action: 'mute', target: { conferenceName: 'town-hall' } },
      });
      expect(http.statusCode).toBe(400);
      expect(http.json()).toMatchObject({
        error: 'ValidationError',
        field: 'target.conferenceName',
        message: expect.stringContaining(`${big.sid} (5 participants`),
      });

      const newest = await confbulk(
        scene.env,
        'mute',
        '--conference-name',
        'town-hall',
        '--newest',
        '--wait',
        '--json',
      );
      expect(newest.code, newest.stderr).toBe(0);
      const { batch } = JSON.parse(newest.stdout) as { batch: Batch };
      expect(batch).toMatchObject({ conferenceSid: small.sid, state: 'completed' });
      expect(batch.counts.total).toBe(3);
      expect(scene.mock.participants(big.sid).every((p) => !p.muted)).toBe(true);

      const flagAlone = await confbulk(scene.env, 'mute', '--conference', big.sid, '--newest');
      expect(flagAlone.code).toBe(2);
      expect(flagAlone.stderr).toMatch(/target\.newest: applies to target\.conferenceName only/);
    }));

  it('is refused again when the fan-out runs (a second conference started meanwhile)', () =>
    withScene({ participants: 2, worker: false }, async (scene) => {
      scene.mock.createConference(scene.account.accountSid, {
        participants: 4,
        friendlyName: 'retro',
      });
      const submitted = await confbulk(scene.env, 'mute', '--conference-name', 'retro');
      expect(submitted.code, submitted.stderr).toBe(0);
      const id = submitted.stdout.trim();
      scene.mock.createConference(scene.account.accountSid, {
        participants: 6,
        friendlyName: 'retro',
      });
      await scene.startWorker();
      const reason = await scene.untilReason(id, 'failed');
      expect(reason.message).toMatch(
        /^failed: target\.conferenceName: 2 in-progress conferences are named 'retro' in space default: .*\(4 participants, .*\(6 participants, /,
      );
      expect(scene.mock.counters().byMethod.POST ?? 0).toBe(0);
    }));
});

describe('a worker without the profile of a space', () => {
  it('leaves that space to a worker that has it: the batch waits with the reason, then runs', () =>
    withScene({ participants: 2, worker: false }, async (scene) => {
      const eu = scene.mock.createAccount();
      const euConference = scene.mock.createConference(eu.accountSid, { participants: 4 });
      const euProfile = {
        SIGNALWIRE_EU_SPACE_URL: scene.mock.url,
        SIGNALWIRE_EU_PROJECT_ID: eu.accountSid,
        SIGNALWIRE_EU_API_TOKEN: eu.token,
      };
      const cli = { ...scene.env, ...euProfile };
      // A worker of the rolling restart that does not know space eu yet.
      await scene.startWorker();
      const r = await confbulk(cli, 'mute', '--space', 'eu', '--conference', euConference.sid);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/warning: no worker serves space eu/);
      const id = r.stdout.trim();
      const statusOf = async (): Promise<Batch> =>
        JSON.parse((await confbulk(cli, 'status', id, '--json')).stdout) as Batch;
      await until(async () => (await statusOf()).reason?.code === 'no-worker', 10_000, 'no-worker');
      await sleep(2500); // longer than a hand-back: the fan-out was taken and given back
      const waiting = await statusOf();
      expect(waiting.state).toBe('listing');
      expect(waiting.reason?.message).toMatch(/^no worker serves space eu/);

      await scene.startWorker(euProfile);
      await until(async () => (await statusOf()).state === 'completed', 20_000, 'completion');
      expect((await statusOf()).counts.succeeded).toBe(4);
    }));
});

describe('a worker without the webhook secret', () => {
  it('warns at start and at delivery, never sends unsigned, and the batch shows the webhook waiting', async () => {
    // A listener that counts connections: nothing may reach it, signed or not.
    const received: string[] = [];
    const receiver = createServer((socket) => {
      received.push('connection');
      socket.destroy();
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    try {
      await withScene(
        {
          participants: 2,
          worker: false,
          env: {
            CONFBULK_WEBHOOK_SECRET: 'webhook-secret-0123456789',
            CONFBULK_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
          },
        },
        async (scene) => {
          let logs = '';
          const logger = createLogger({
            level: 'info',
            destination: { write: (s: string) => (logs += s) },
          });
          await scene.startWorker({ CONFBULK_WEBHOOK_SECRET: undefined }, logger);
          expect(logs).toMatch(/CONFBULK_WEBHOOK_SECRET is not set: this worker cannot sign/);

          const r = await confbulk(
            scene.env,
            'mute',
            '--conference',
            scene.conferenceSid,
            '--webhook-url',
            url,
          );
          expect(r.code, r.stderr).toBe(0);
          const id = r.stdout.trim();
          let batch: Batch | undefined;
          await until(
            async () => (batch = await scene.status(id)).webhook?.state === 'pending',
            15_000,
            'the webhook state',
          );
          expect(batch?.state).toBe('completed');
          expect(batch?.webhook?.message).toMatch(/CONFBULK_WEBHOOK_SECRET is not set/);
          expect((await scene.http(id)).webhook?.state).toBe('pending');
          expect(logs).toMatch(/completion webhook not sent: CONFBULK_WEBHOOK_SECRET is not set/);
          expect(received).toEqual([]);
          const redis = testRedis();
          const queue = new Queue(QUEUE_NAMES.webhooks, {
            connection: redis,
            prefix: queuePrefix(scene.env.CONFBULK_PREFIX as string, QUEUE_NAMES.webhooks),
          });
          expect(await queue.getJobState(`webhook.${id}`)).toBe('delayed');
          await queue.close();
          redis.disconnect();
        },
      );
    } finally {
      await new Promise((r) => receiver.close(r));
    }
  });
});
