/**
 * `/v1/tokens`: create, list and revoke scoped API tokens. Admins of every space only: a
 * space-limited admin could otherwise mint itself a wider token.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { z } from 'zod';
import { recordAudit } from '../access.js';
import type { ApiDependencies } from '../dependencies.js';
import { NotFoundError } from '../errors.js';
import { errorResponses } from '../schemas/common.js';
import { createdTokenBody, newTokenBody, tokenIdParams, tokenListBody } from '../schemas/tokens.js';

export const tokenRoutes: FastifyPluginAsync<ApiDependencies> = async (app, { tokens }) => {
  if (!tokens) return;
  const config = { access: 'admin', allSpaces: true } as const;

  app.post<{ Body: z.output<typeof newTokenBody> }>(
    '/tokens',
    {
      config,
      schema: {
        summary: 'Create a token (its secret is in this answer only)',
        tags: ['tokens'],
        body: newTokenBody,
        response: {
          201: createdTokenBody.describe('The token'),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request, reply) => {
      const created = await tokens.create(request.body);
      recordAudit(request, { createdToken: { id: created.id, name: created.name } });
      return reply.code(201).header('cache-control', 'no-store').send(created);
    },
  );

  app.get(
    '/tokens',
    {
      config,
      schema: {
        summary: 'Every token, without secrets',
        tags: ['tokens'],
        response: { 200: tokenListBody.describe('Tokens'), ...errorResponses(401, 403) },
      },
    },
    async () => ({ tokens: await tokens.list() }),
  );

  app.delete<{ Params: z.output<typeof tokenIdParams> }>(
    '/tokens/:id',
    {
      config,
      schema: {
        summary: 'Revoke a token (its next request fails, its dashboard sessions end)',
        tags: ['tokens'],
        params: tokenIdParams,
        response: { ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      recordAudit(request, { revokedToken: request.params.id });
      if (!(await tokens.revoke(request.params.id))) {
        throw new NotFoundError(`token '${request.params.id}' not found`);
      }
      return reply.code(204).send();
    },
  );
};
