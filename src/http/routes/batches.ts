/**
 * `GET /v1/batches` and `GET /v1/batches/:id`: batches and their progress.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { z } from 'zod';
import type { ApiDependencies } from '../dependencies.js';
import { NotFoundError } from '../errors.js';
import { batchIdParams, batchListBody, batchSchema, listBatchesQuery } from '../schemas/batches.js';
import { errorResponses } from '../schemas/common.js';

export const batchRoutes: FastifyPluginAsync<ApiDependencies> = async (app, { confbulk }) => {
  app.get<{ Querystring: z.output<typeof listBatchesQuery> }>(
    '/batches',
    {
      schema: {
        summary: 'Recent batches, newest first',
        tags: ['batches'],
        querystring: listBatchesQuery,
        response: { 200: batchListBody.describe('Batches'), ...errorResponses(400, 401) },
      },
    },
    async (request) => ({ batches: await confbulk.listBatches({ limit: request.query.limit }) }),
  );

  app.get<{ Params: z.output<typeof batchIdParams> }>(
    '/batches/:id',
    {
      schema: {
        summary: 'One batch: its state and counts',
        tags: ['batches'],
        params: batchIdParams,
        response: { 200: batchSchema.describe('The batch'), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const batch = await confbulk.getBatch(request.params.id);
      if (!batch) throw new NotFoundError(`batch '${request.params.id}' not found`);
      return batch;
    },
  );
};
