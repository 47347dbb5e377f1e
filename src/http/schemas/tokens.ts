/**
 * Schemas of the token resource. Token secrets appear only in the answer that creates one.
 */
import { z } from 'zod';
import { SPACE_NAME } from '../../config.js';
import { ROLES } from '../../auth/access.js';

export const newTokenBody = z.strictObject({
  name: z.string({ message: 'must be a string' }).regex(/^[A-Za-z0-9 ._@-]{1,100}$/, {
    message: 'must be 1 to 100 characters: letters, digits, spaces and . _ @ -',
  }),
  role: z.enum(ROLES, { message: `must be one of: ${ROLES.join(', ')}` }),
  spaces: z
    .array(z.string().regex(SPACE_NAME, { message: `must match ${SPACE_NAME}` }))
    .max(100, { message: 'must list at most 100 spaces' })
    .optional()
    .meta({ description: 'Limit the token to these space profiles (default: every space)' }),
});

export const tokenSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    role: z.enum(ROLES),
    spaces: z.union([z.array(z.string()), z.literal('*')]),
    createdAt: z.string(),
  })
  .describe('An API token (never its secret)');

export const createdTokenBody = tokenSchema
  .extend({ token: z.string().meta({ description: 'The token; shown this once only' }) })
  .describe('A new token');

export const tokenListBody = z.object({ tokens: z.array(tokenSchema) });

export const tokenIdParams = z.strictObject({
  id: z.string().min(1).max(64, { message: 'must be at most 64 characters' }),
});
