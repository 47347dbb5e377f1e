/**
 * Schemas shared by every resource: the error body and small reusable pieces.
 */
import { z } from 'zod';

/** Body of every 4xx and 5xx answer. 5xx answers carry a bare message. */
export const errorBody = z
  .object({
    error: z
      .string()
      .meta({ description: 'Error class, e.g. ValidationError, NotFound, Unauthorized' }),
    message: z.string().meta({ description: 'What is wrong and what is allowed' }),
    field: z
      .string()
      .optional()
      .meta({ description: 'Dotted path of the offending field, e.g. params.HoldUrl' }),
  })
  .describe('An error');

/** Standard error responses of a route, for the OpenAPI document. */
export function errorResponses(
  ...codes: (400 | 401 | 403 | 404 | 409 | 413 | 500)[]
): Record<number, typeof errorBody> {
  const described: Record<number, string> = {
    400: 'Invalid input: the body names the field and what is allowed',
    401: 'Missing or wrong bearer token',
    403: "The token's role or spaces do not cover this request",
    409: 'The idempotency key was used with a different request',
    404: 'Not found',
    413: 'Body larger than the limit',
    500: 'Internal error',
  };
  return Object.fromEntries(
    codes.map((code) => [code, errorBody.describe(described[code] ?? 'Error')]),
  );
}

/** `?limit=` of list routes. */
export const limitQuery = (max: number, fallback: number) =>
  z.coerce
    .number({ message: `must be a whole number from 1 to ${max}` })
    .int({ message: `must be a whole number from 1 to ${max}` })
    .min(1, { message: `must be a whole number from 1 to ${max}` })
    .max(max, { message: `must be a whole number from 1 to ${max}` })
    .default(fallback);
