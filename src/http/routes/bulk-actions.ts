/**
 * `POST /v1/bulk-actions`: validates a BulkActionRequest, creates its batch and answers at
 * once (202), or returns the existing batch of a known idempotency key (200).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { BulkActionRequest } from '../../types.js';
import { recordAudit, requireSpace } from '../access.js';
import type { ApiDependencies } from '../dependencies.js';
import { bulkActionRequestSchema, createdBatchBody } from '../schemas/batches.js';
import { errorResponses } from '../schemas/common.js';

export const bulkActionRoutes: FastifyPluginAsync<ApiDependencies> = async (app, { confbulk }) => {
  app.post<{ Body: BulkActionRequest }>(
    '/bulk-actions',
    {
      config: { access: 'write' },
      schema: {
        summary: 'Apply an action to the participants of a conference',
        description:
          'Creates a batch and returns at once; follow it with GET /v1/batches/{id}. ' +
          'The same idempotencyKey within 24 h returns the existing batch (200, created: false); ' +
          'with a different request it answers 409.',
        tags: ['bulk actions'],
        body: bulkActionRequestSchema,
        response: {
          202: createdBatchBody.describe('Batch created'),
          200: createdBatchBody.describe('Existing batch of this idempotency key'),
          ...errorResponses(400, 401, 403, 409, 413),
        },
      },
    },
    async (request, reply) => {
      const space = request.body.space ?? 'default';
      recordAudit(request, { space });
      requireSpace(request, space);
      const handle = await confbulk.bulkAction(request.body);
      recordAudit(request, { batchId: handle.id });
      return reply
        .code(handle.created ? 202 : 200)
        .header('location', `/v1/batches/${encodeURIComponent(handle.id)}`)
        .send({ created: handle.created, batch: handle.batch });
    },
  );
};
