/**
 * `GET /v1/batches` and `GET /v1/batches/:id`: batches and their progress. A token limited
 * to spaces sees only their batches (the list is filtered, another space's batch is 403).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { z } from 'zod';
import { MAX_LIST_LIMIT } from '../../producer/confbulk.js';
import { requireSpace, spaceFilter } from '../access.js';
import type { ApiDependencies } from '../dependencies.js';
import { NotFoundError } from '../errors.js';
import { batchIdParams, batchListBody, batchSchema, listBatchesQuery } from '../schemas/batches.js';
import { errorResponses } from '../schemas/common.js';

export const batchRoutes: FastifyPluginAsync<ApiDependencies> = async (app, { confbulk }) => {
  app.get<{ Querystring: z.output<typeof listBatchesQuery> }>(
    '/batches',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Recent batches, newest first (of the spaces the token may use)',
        description:
          'A token limited to spaces sees its spaces among the newest 1000 batches of all.',
        tags: ['batches'],
        querystring: listBatchesQuery,
        response: { 200: batchListBody.describe('Batches'), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const { limit } = request.query;
      if (request.principal?.spaces === '*' || !request.principal) {
        return { batches: await confbulk.listBatches({ limit }) };
      }
      const visible = spaceFilter(request);
      const newest = await confbulk.listBatches({ limit: MAX_LIST_LIMIT });
      return { batches: newest.filter((b) => visible(b.space)).slice(0, limit) };
    },
  );

  app.get<{ Params: z.output<typeof batchIdParams> }>(
    '/batches/:id',
    {
      config: { access: 'read' },
      schema: {
        summary: 'One batch: its state and counts',
        tags: ['batches'],
        params: batchIdParams,
        response: {
          200: batchSchema.describe('The batch'),
          ...errorResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const batch = await confbulk.getBatch(request.params.id);
      if (!batch) throw new NotFoundError(`batch '${request.params.id}' not found`);
      requireSpace(request, batch.space);
      return batch;
    },
  );
};
