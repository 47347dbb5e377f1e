/**
 * Signed deliveries: what a receiver checks. The snippet in docs/operations.md (which does
 * not import confbulk) is run here against confbulk's own signatures, so the docs cannot
 * drift from what is sent.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  DELIVERY_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  signWebhook,
  verifyWebhookSignature,
} from '../../src/webhooks/signature.js';

const SECRET = 'webhook-secret-0123456789';
const BODY = JSON.stringify({ id: 'b_1', state: 'completed', counts: { total: 3 } });

type Verify = (secret: string, body: string, headers: Record<string, string>) => boolean;

function docsSnippet(): Verify {
  const doc = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
  const match = /<!-- webhook-verify-snippet -->\n```js\n([\s\S]*?)```/.exec(doc);
  if (!match?.[1]) throw new Error('docs/operations.md lost its webhook-verify-snippet');
  const run = new Function('require', `${match[1]}\nreturn verifyConfbulkWebhook;`) as (
    require: NodeJS.Require,
  ) => Verify;
  return run(createRequire(import.meta.url));
}

const VERIFIERS: [string, Verify][] = [
  ['verifyWebhookSignature', (s, b, h) => verifyWebhookSignature(s, b, h)],
  ['the docs snippet', docsSnippet()],
];

describe.each(VERIFIERS)('%s', (_name, verify) => {
  it('accepts a fresh delivery as sent', () => {
    expect(verify(SECRET, BODY, signWebhook(SECRET, BODY, 'webhook.b_1'))).toBe(true);
  });

  it('refuses a replay of a delivery signed longer ago than the tolerance', () => {
    const old = signWebhook(SECRET, BODY, 'webhook.b_1', Date.now() - 301_000);
    expect(verify(SECRET, BODY, old)).toBe(false);
  });

  it('refuses an altered body, delivery id, timestamp or signature, and another secret', () => {
    const headers = signWebhook(SECRET, BODY, 'webhook.b_1');
    const altered: Record<string, string>[] = [
      { ...headers, [DELIVERY_HEADER]: 'webhook.b_2' },
      { ...headers, [TIMESTAMP_HEADER]: String(Number(headers[TIMESTAMP_HEADER]) + 1) },
      { ...headers, [SIGNATURE_HEADER]: lastCharChanged(headers[SIGNATURE_HEADER]!) },
      { ...headers, [SIGNATURE_HEADER]: '' },
      {
        [TIMESTAMP_HEADER]: headers[TIMESTAMP_HEADER]!,
        [SIGNATURE_HEADER]: headers[SIGNATURE_HEADER]!,
      },
    ];
    for (const h of altered) expect(verify(SECRET, BODY, h)).toBe(false);
    expect(verify(SECRET, BODY.replace('"total":3', '"total":4'), headers)).toBe(false);
    expect(verify(`${SECRET}x`, BODY, headers)).toBe(false);
  });
});

describe('verifyWebhookSignature options', () => {
  it('takes a tolerance and a clock', () => {
    const at = Date.parse('2030-01-01T00:00:00Z');
    const headers = signWebhook(SECRET, BODY, 'webhook.b_1', at);
    expect(
      verifyWebhookSignature(SECRET, BODY, headers, { now: at + 59_000, toleranceSeconds: 60 }),
    ).toBe(true);
    expect(
      verifyWebhookSignature(SECRET, BODY, headers, { now: at + 61_000, toleranceSeconds: 60 }),
    ).toBe(false);
    // A timestamp from the future is as suspicious as one from the past.
    expect(
      verifyWebhookSignature(SECRET, BODY, headers, { now: at - 61_000, toleranceSeconds: 60 }),
    ).toBe(false);
  });

  it('refuses a header given twice', () => {
    const headers = signWebhook(SECRET, BODY, 'webhook.b_1');
    const sig = headers[SIGNATURE_HEADER] as string;
    expect(
      verifyWebhookSignature(SECRET, BODY, { ...headers, [SIGNATURE_HEADER]: [sig, sig] }),
    ).toBe(false);
  });
});

/** The signature with its last character replaced by another one (never by itself). */
function lastCharChanged(signature: string): string {
  return `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`;
}
