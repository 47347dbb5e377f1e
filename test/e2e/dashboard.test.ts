/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core): log in with
 * the API token, see a batch's jobs in the updates queue and its dead letter in the
 * dead-letters queue. Everything is real: the mock API, a worker stack, the producer, the
 * HTTP API with the operations plugins. The first run may install Chromium (minutes).
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureChromium, launchChromium } from '../../scripts/browser.js';
import { startWorkerStack } from '../../src/worker/stack.js';
import { loadConfig, type ConfbulkConfig } from '../../src/config.js';
import { buildApp } from '../../src/http/app.js';
import { openDeadLetters } from '../../src/http/dependencies.js';
import { silentLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { startMock, type MockServer } from '../../src/mock/index.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import { apiOps } from '../../src/ops/api-plugins.js';
import { SESSION_COOKIE } from '../../src/ops/dashboard/session.js';
import { createConfbulk } from '../../src/producer/confbulk.js';
import type { Batch } from '../../src/types.js';
import { deleteKeys, testRedis, testRedisEnv, uniquePrefix } from '../helpers/redis.js';

const TOKEN = 'dashboard-e2e-token-0123456789';
/** Screenshots of the run (gitignored; CI keeps the directory as an artefact). */
const ARTIFACTS = 'test-artifacts';
const INSTALL_TIMEOUT_MS = 600_000;

const cleanups: (() => Promise<unknown>)[] = [];
let browser: Browser;
let baseUrl: string;
let batch: Batch;
let rejectedJobId: string;

async function runBatchWithOneDeadLetter(
  config: ConfbulkConfig,
  mock: MockServer,
  accountSid: string,
): Promise<void> {
  const connection = testRedis({ maxRetriesPerRequest: null });
  cleanups.unshift(async () => connection.disconnect());
  const conference = mock.createConference(accountSid, { participants: 12 });
  const rejected = conference.callSids.at(-1) as string;
  mock.setFaults({ rejectCalls: { [rejected]: { status: 422, code: 21220 } } });
  const workers = await startWorkerStack({ config, connection, metrics: createMetrics() });
  const confbulk = await createConfbulk({ config, connection, pollMs: 50 });
  try {
    const handle = await confbulk.bulkAction({
      action: 'mute',
      target: { conferenceSid: conference.sid, except: [conference.callSids[0] as string] },
    });
    batch = await handle.completed({ timeoutMs: 30_000 });
    rejectedJobId = `${batch.id}.${rejected}`;
  } finally {
    await confbulk.close();
    await workers.close();
  }
}

beforeAll(async () => {
  // Fails (never skips) with a message saying how to provide Chromium.
  ensureChromium();
  const prefix = uniquePrefix();
  cleanups.unshift(async () => {
    const redis = testRedis();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });
  const mock = await startMock({ rateLimit: null });
  cleanups.unshift(() => mock.stop());
  const account = mock.createAccount();
  const config = loadConfig({
    ...testRedisEnv(),
    CONFBULK_PREFIX: prefix,
    CONFBULK_API_TOKEN: TOKEN,
    SIGNALWIRE_SPACE_URL: mock.url,
    SIGNALWIRE_PROJECT_ID: account.accountSid,
    SIGNALWIRE_API_TOKEN: account.token,
  }) as ConfbulkConfig & { redisUrl: string };
  await runBatchWithOneDeadLetter(config, mock, account.accountSid);

  const metrics = createMetrics();
  const confbulk = await createConfbulk({ config });
  const dlq = await openDeadLetters(config);
  const ops = apiOps({
    config,
    metrics,
    authenticator: new Authenticator({ bootstrapToken: config.apiToken }),
    batchView: { confbulk, deadLetters: dlq.deadLetters },
  });
  cleanups.unshift(
    () => ops.close(),
    () => confbulk.close(),
    () => dlq.close(),
  );
  const app = await buildApp({
    config,
    confbulk,
    deadLetters: dlq.deadLetters,
    metrics,
    logger: silentLogger,
    extraPlugins: ops.plugins,
  });
  cleanups.unshift(() => app.close());
  await app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  browser = await launchChromium();
  cleanups.unshift(() => browser.close());
}, INSTALL_TIMEOUT_MS);

/** Logs in with the API token through the form; lands on the queues. */
async function logIn(page: Page): Promise<void> {
  await page.goto(`${baseUrl}/admin/login`);
  await page.fill('input[name=token]', TOKEN);
  await page.click('button[type=submit]');
  await page.waitForURL(`${baseUrl}/admin/queues`);
}

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => {});
});

describe('the dashboard in a browser', () => {
  it('sends a visitor to the login form and refuses a wrong token', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${baseUrl}/admin/queues`);
      expect(new URL(page.url()).pathname).toBe('/admin/login');
      await page.fill('input[name=token]', 'not-the-token');
      await page.click('button[type=submit]');
      await page.getByRole('alert').waitFor();
      expect(await page.getByRole('alert').innerText()).toContain(
        'not an admin token of every space',
      );
      expect(await page.context().cookies()).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it("logs in, shows the batch's jobs and its dead letter; the session opens /admin only", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await logIn(page);
      await page.getByText('updates.default').first().waitFor();
      await page.getByText('dead-letters').first().waitFor();

      const [cookie] = await context.cookies();
      expect(cookie).toMatchObject({
        name: SESSION_COOKIE,
        httpOnly: true,
        sameSite: 'Strict',
        path: '/admin',
      });
      expect(cookie?.value).not.toContain(TOKEN);

      await page.goto(`${baseUrl}/admin/queues/queue/updates.default?status=completed`);
      await page
        .getByText(new RegExp(`^${batch.id}\\.`))
        .first()
        .waitFor();

      await page.goto(`${baseUrl}/admin/queues/queue/dead-letters?status=waiting`);
      await page.getByText(rejectedJobId).first().waitFor();
      expect(await page.locator('body').innerText()).toContain('invalid');

      const v1 = await page.request.get(`${baseUrl}/v1/batches`);
      expect(v1.status()).toBe(401);
    } finally {
      await context.close();
    }
  });

  it('shows the batch with its counts and dead letter; replaying it changes the counts', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    try {
      await logIn(page);

      await page.goto(`${baseUrl}/admin/batches`);
      const row = page.locator(`tr[data-batch="${batch.id}"]`);
      await row.waitFor();
      expect(await row.innerText()).toMatch(/mute\s+default\s+completed/);
      expect(await row.locator('progress').getAttribute('value')).toBe('11');
      expect(await page.locator('tr[data-space="default"]').innerText()).toMatch(
        /^default\s+closed/,
      );

      await row.getByRole('link', { name: batch.id }).click();
      await page.waitForURL(`${baseUrl}/admin/batches/${batch.id}`);
      const counts = page.locator('[data-counts]');
      expect(await counts.innerText()).toBe(
        'succeeded 10, gone 0, superseded 0, dead-lettered 1, pending 0',
      );
      const entry = page.locator(`tr[data-dead-letter="${rejectedJobId}"]`);
      expect(await entry.innerText()).toMatch(/invalid\s+HTTP 422 code 21220/);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-batch.png'), fullPage: true });

      await entry.getByRole('button', { name: 'Replay' }).click();
      await page.waitForURL(`${baseUrl}/admin/batches/${batch.id}`);
      await page.locator('text=no dead letters').waitFor();
      expect(await page.locator('[data-dead-letter-total]').innerText()).toBe('0');
      // The replayed request is pending in its batch until a worker sends it.
      expect(await page.locator('[data-counts]').innerText()).toBe(
        'succeeded 10, gone 0, superseded 0, dead-lettered 0, pending 1',
      );
      await page.screenshot({
        path: join(ARTIFACTS, 'dashboard-batch-replayed.png'),
        fullPage: true,
      });
    } finally {
      await context.close();
    }
  });
});
