/**
 * Signatures of completion webhooks. A delivery carries
 *
 *   x-confbulk-timestamp: <unix seconds when it was signed>
 *   x-confbulk-delivery:  <delivery id, the same for every retry of one event>
 *   x-confbulk-signature: v1=<hex HMAC-SHA256 of "<timestamp>.<delivery id>.<raw body>">
 *
 * Signing the timestamp lets a receiver refuse an old delivery replayed later (outside
 * the tolerance); signing the delivery id lets it refuse a second copy within the
 * tolerance (it remembers the ids it has seen for that long) and means no signature can
 * be moved to another delivery. docs/operations.md shows the check without confbulk.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-confbulk-signature';
export const TIMESTAMP_HEADER = 'x-confbulk-timestamp';
export const DELIVERY_HEADER = 'x-confbulk-delivery';
/** `batch.completed` or `batch.failed` (not signed: the body says it too). */
export const EVENT_HEADER = 'x-confbulk-event';

/** How far a delivery's timestamp may be from the receiver's clock. @defaultValue 300 s */
export const DEFAULT_TOLERANCE_SECONDS = 300;

function mac(secret: string, timestamp: string, deliveryId: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${deliveryId}.${body}`).digest('hex');
}

/** The signed headers of a delivery of `body`. */
export function signWebhook(
  secret: string,
  body: string,
  deliveryId: string,
  now = Date.now(),
): Record<string, string> {
  const timestamp = String(Math.floor(now / 1000));
  return {
    [TIMESTAMP_HEADER]: timestamp,
    [DELIVERY_HEADER]: deliveryId,
    [SIGNATURE_HEADER]: `v1=${mac(secret, timestamp, deliveryId, body)}`,
  };
}

export interface VerifyOptions {
  /** Largest accepted distance between the timestamp and `now`. @defaultValue 300 */
  toleranceSeconds?: number;
  /** @defaultValue `Date.now()` */
  now?: number;
}

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(value) ? undefined : value;
}

/**
 * For receivers: whether a delivery is one confbulk signed with `secret`, unchanged (body,
 * timestamp, delivery id) and signed within `toleranceSeconds` of now. Pass the raw body
 * and the request's headers (lower-case names, as node gives them).
 */
export function verifyWebhookSignature(
  secret: string,
  body: string,
  headers: Headers,
  options: VerifyOptions = {},
): boolean {
  const timestamp = header(headers, TIMESTAMP_HEADER);
  const deliveryId = header(headers, DELIVERY_HEADER);
  const signature = header(headers, SIGNATURE_HEADER);
  if (!timestamp || !/^\d{1,12}$/.test(timestamp) || !deliveryId || !signature) return false;
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const nowSeconds = (options.now ?? Date.now()) / 1000;
  if (Math.abs(nowSeconds - Number(timestamp)) > tolerance) return false;
  const expected = Buffer.from(`v1=${mac(secret, timestamp, deliveryId, body)}`);
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
