/**
 * The webhook guard against SSRF, through the real producer, HTTP API and delivery
 * processor, on a real Redis and real https listeners on loopback. DNS is a resolver
 * injected into the guard (the tests have no DNS, and a name must resolve one way at
 * submission and another at delivery); the connection itself is the production one.
 */
import type { LookupAddress } from 'node:dns';
import { UnrecoverableError, type Job } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { BatchStore } from '../../src/batches/store.js';
import { ProducerKeys } from '../../src/keys.js';
import { silentLogger } from '../../src/logger.js';
import { createConfbulk } from '../../src/producer/confbulk.js';
import { WebhookGuard, forbiddenRange, type ResolveHost } from '../../src/webhooks/guard.js';
import { verifyWebhookSignature } from '../../src/webhooks/signature.js';
import { createWebhookProcessor, type WebhookJobData } from '../../src/webhooks/webhooks.js';
import { testConfig, WEBHOOK_SECRET } from '../producer/support.js';
import { startHttpsReceiver } from '../helpers/https-receiver.js';
import { deleteKeys, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { auth, CONFERENCE_SID, withApi } from '../http/fixture.js';

const PUBLIC = '93.184.216.34';

const v4 = (address: string): LookupAddress => ({ address, family: 4 });
const v6 = (address: string): LookupAddress => ({ address, family: 6 });

/** A resolver of fixed names; any other name does not resolve. */
function resolver(names: Record<string, LookupAddress[] | (() => LookupAddress[])>): ResolveHost {
  return async (hostname) => {
    const entry = names[hostname];
    if (!entry)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return typeof entry === 'function' ? entry() : entry;
  };
}

const NAMES = {
  'public.test': [v4(PUBLIC)],
  'metadata.google.internal': [v4('169.254.169.254')],
  'internal.test': [v4('10.0.0.5')],
  'ula.test': [v6('fd12:3456::1')],
  'dual.test': [v4(PUBLIC), v4('127.0.0.1')],
};

/** Every spelling of a place a webhook must not go, as a caller might write it. */
const REFUSED = [
  'http://public.test/hook',
  'https://localhost/hook',
  'https://LOCALHOST./hook',
  'https://api.localhost/hook',
  'https://127.0.0.1/hook',
  'https://127.0.0.1./hook',
  'https://127.1/hook',
  'https://0x7f000001/hook',
  'https://0x7f.0.0.1/hook',
  'https://2130706433/hook',
  'https://0177.0.0.1/hook',
  'https://[::1]/hook',
  'https://[0:0:0:0:0:0:0:1]/hook',
  'https://[::ffff:127.0.0.1]/hook',
  'https://[::ffff:7f00:1]/hook',
  'https://[64:ff9b::7f00:1]/hook',
  'https://0.0.0.0/hook',
  'https://0/hook',
  'https://[::]/hook',
  'https://10.0.0.1/hook',
  'https://172.16.5.4/hook',
  'https://192.168.1.1/hook',
  'https://100.100.100.200/hook',
  'https://[fd00::1]/hook',
  'https://[fd00:ec2::254]/hook',
  'https://[fe80::1]/hook',
  'https://169.254.169.254/latest/meta-data/',
  'https://[::ffff:169.254.169.254]/latest/meta-data/',
  'https://0xa9fea9fe/latest/meta-data/',
  'https://224.0.0.1/hook',
  'https://255.255.255.255/hook',
  'https://public.test@127.0.0.1/hook',
  'https://metadata.google.internal/computeMetadata/v1/',
  'https://internal.test/hook',
  'https://ula.test/hook',
  'https://dual.test/hook',
  'https://nowhere.test/hook',
];

/** POST /v1/bulk-actions of a mute with `webhookUrl`. */
function submit(app: FastifyInstance, webhookUrl: string) {
  return app.inject({
    method: 'POST',
    url: '/v1/bulk-actions',
    headers: auth,
    payload: { action: 'mute', target: { conferenceSid: CONFERENCE_SID }, webhookUrl },
  });
}

describe('forbiddenRange', () => {
  it('passes public unicast only', () => {
    expect(forbiddenRange(PUBLIC)).toBeUndefined();
    expect(forbiddenRange('2606:4700::1111')).toBeUndefined();
    expect(forbiddenRange('127.0.0.1')).toBe('loopback');
    expect(forbiddenRange('::ffff:10.1.2.3')).toBe('private');
    expect(forbiddenRange('169.254.169.254')).toBe('linkLocal');
    expect(forbiddenRange('fd00::1')).toBe('uniqueLocal');
    expect(forbiddenRange('::')).toBe('unspecified');
  });
});

describe('webhookUrl at submission', () => {
  it('refuses every spelling of loopback, private, link-local, metadata and unspecified with 400 naming webhookUrl, and writes nothing', () =>
    withApi(
      async ({ app, workKeys }) => {
        const answers: string[] = [];
        for (const webhookUrl of REFUSED) {
          const res = await submit(app, webhookUrl);
          const body = res.json<{ field?: string; message: string }>();
          answers.push(`${webhookUrl} -> ${res.statusCode} ${body.field}: ${body.message}`);
          expect({ webhookUrl, status: res.statusCode, field: body.field }).toEqual({
            webhookUrl,
            status: 400,
            field: 'webhookUrl',
          });
          // The open answer names what the caller wrote, never what a name resolved to.
          expect(body.message).not.toMatch(/10\.0\.0\.5|fd12:3456|169\.254\.169\.254.*resolves/);
        }
        expect(answers.length).toBe(REFUSED.length);
        expect(await workKeys()).toEqual([]);

        const ok = await submit(app, 'https://public.test/hook');
        expect(ok.statusCode).toBe(202);
      },
      { resolve: resolver(NAMES) },
    ));

  it('refuses the same in a schedule, naming request.webhookUrl', () =>
    withApi(
      async ({ app }) => {
        const res = await app.inject({
          method: 'POST',
          url: '/v1/schedules',
          headers: auth,
          payload: {
            name: 'nightly',
            cron: '0 3 * * *',
            request: {
              action: 'mute',
              target: { conferenceSid: CONFERENCE_SID },
              webhookUrl: 'https://[::1]/hook',
            },
          },
        });
        expect(res.statusCode).toBe(400);
        expect(res.json()).toMatchObject({ field: 'request.webhookUrl' });
      },
      { resolve: resolver(NAMES) },
    ));

  it('lets through a host named in CONFBULK_WEBHOOK_ALLOW_HOSTS', () =>
    withApi(
      async ({ app }) => {
        const res = await submit(app, 'https://internal.test/hook');
        expect(res.statusCode).toBe(202);
      },
      { resolve: resolver(NAMES), env: { CONFBULK_WEBHOOK_ALLOW_HOSTS: 'internal.test' } },
    ));
});

interface DeliveryScene {
  submit(webhookUrl: string): Promise<string>;
  deliver(batchId: string, guard: WebhookGuard, ca: string): Promise<unknown>;
}

/** A producer whose guard uses `resolve`, and the production delivery processor. */
async function withDelivery(
  resolve: ResolveHost,
  fn: (scene: DeliveryScene) => Promise<void>,
  allowHosts: string[] = [],
): Promise<void> {
  const prefix = uniquePrefix();
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const config = { ...testConfig(prefix), webhookAllowHosts: allowHosts };
  const confbulk = await createConfbulk({
    config,
    connection: redis,
    webhookGuard: new WebhookGuard({ allowHosts, resolve }),
  });
  const batches = new BatchStore({ redis, keys: new ProducerKeys(prefix) });
  try {
    await fn({
      async submit(webhookUrl) {
        const handle = await confbulk.bulkAction({
          action: 'mute',
          target: { conferenceSid: CONFERENCE_SID },
          webhookUrl,
        });
        return handle.id;
      },
      deliver(batchId, guard, ca) {
        const processor = createWebhookProcessor({
          batches,
          secret: WEBHOOK_SECRET,
          logger: silentLogger,
          guard,
          ca: [ca],
          timeoutMs: 5000,
        });
        return processor({ id: `webhook.${batchId}`, data: { batchId } } as Job<WebhookJobData>);
      },
    });
  } finally {
    await confbulk.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  }
}

describe('webhook delivery', () => {
  it('delivers to an allow-listed receiver, signed', async () => {
    const receiver = await startHttpsReceiver();
    const resolve = resolver({ 'hooks.test': [v4('127.0.0.1')] });
    try {
      await withDelivery(
        resolve,
        async ({ submit, deliver }) => {
          const id = await submit(`https://hooks.test:${receiver.port}/hook`);
          const guard = new WebhookGuard({ allowHosts: ['hooks.test'], resolve });
          expect(await deliver(id, guard, receiver.ca)).toEqual({ status: 204 });
          const [got] = receiver.received;
          expect(verifyWebhookSignature(WEBHOOK_SECRET, got!.body, got!.headers)).toBe(true);
        },
        ['hooks.test'],
      );
    } finally {
      await receiver.close();
    }
  });

  it('refuses at delivery a host that resolved publicly at submission and to loopback now, and nothing reaches the listener', async () => {
    const receiver = await startHttpsReceiver();
    let calls = 0;
    // Public when submitted; loopback afterwards (DNS rebinding).
    const resolve = resolver({
      'rebind.test': () => [v4(calls++ === 0 ? PUBLIC : '127.0.0.1')],
    });
    try {
      await withDelivery(resolve, async ({ submit, deliver }) => {
        const id = await submit(`https://rebind.test:${receiver.port}/hook`);
        expect(calls).toBe(1);
        await expect(deliver(id, new WebhookGuard({ resolve }), receiver.ca)).rejects.toThrow(
          /webhookUrl: host 'rebind.test' resolves to a loopback address/,
        );
        expect(receiver.connections()).toBe(0);
      });
    } finally {
      await receiver.close();
    }
  });

  it('refuses when the name turns to loopback between the check and the connection, and nothing reaches the listener', async () => {
    const receiver = await startHttpsReceiver();
    let calls = 0;
    // Public for the submission and the delivery's own check; loopback for the connection.
    const resolve = resolver({
      'rebind.test': () => [v4(calls++ < 2 ? PUBLIC : '127.0.0.1')],
    });
    try {
      await withDelivery(resolve, async ({ submit, deliver }) => {
        const id = await submit(`https://rebind.test:${receiver.port}/hook`);
        const error = await deliver(id, new WebhookGuard({ resolve }), receiver.ca).then(
          () => undefined,
          (err: Error & { cause?: Error }) => err,
        );
        expect(calls).toBe(3);
        expect(error?.cause?.name).toBe('WebhookAddressError');
        expect(error?.cause?.message).toMatch(/resolved to a loopback address at delivery/);
        expect(receiver.connections()).toBe(0);
      });
    } finally {
      await receiver.close();
    }
  });

  it('retries (does not give up on) a host that does not resolve at delivery', async () => {
    let calls = 0;
    const resolve: ResolveHost = async () => {
      if (calls++ === 0) return [v4(PUBLIC)];
      throw Object.assign(new Error('getaddrinfo EAI_AGAIN flaky.test'), { code: 'EAI_AGAIN' });
    };
    await withDelivery(resolve, async ({ submit, deliver }) => {
      const id = await submit('https://flaky.test/hook');
      const error = await deliver(id, new WebhookGuard({ resolve }), '').then(
        () => undefined,
        (err: Error) => err,
      );
      expect(error?.message).toMatch(/host 'flaky.test' does not resolve/);
      // BullMQ retries any error but UnrecoverableError.
      expect(error).not.toBeInstanceOf(UnrecoverableError);
    });
  });

  it('does not follow a redirect to loopback: the delivery fails and the loopback listener sees no connection', async () => {
    const target = await startHttpsReceiver();
    const receiver = await startHttpsReceiver(() => ({
      status: 302,
      headers: { location: `https://127.0.0.1:${target.port}/stolen` },
    }));
    const resolve = resolver({ 'hooks.test': [v4('127.0.0.1')] });
    try {
      await withDelivery(
        resolve,
        async ({ submit, deliver }) => {
          const id = await submit(`https://hooks.test:${receiver.port}/hook`);
          const guard = new WebhookGuard({ allowHosts: ['hooks.test'], resolve });
          await expect(deliver(id, guard, receiver.ca)).rejects.toThrow(/answered 302/);
          expect(receiver.received).toHaveLength(1);
          expect(target.connections()).toBe(0);
        },
        ['hooks.test'],
      );
    } finally {
      await receiver.close();
      await target.close();
    }
  });
});
