/**
 * `/v1/dead-letters`: list, inspect, replay (optionally with changed parameters) and purge
 * participant requests that could not succeed.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { z } from 'zod';
import type { ApiDependencies } from '../dependencies.js';
import { NotFoundError } from '../errors.js';
import { errorResponses } from '../schemas/common.js';
import {
  deadLetterIdParams,
  deadLetterListBody,
  deadLetterSchema,
  listDeadLettersQuery,
  purgeBody,
  purgeResultBody,
  replayBody,
  replayResultBody,
} from '../schemas/dead-letters.js';

export const deadLetterRoutes: FastifyPluginAsync<ApiDependencies> = async (
  app,
  { deadLetters },
) => {
  app.get<{ Querystring: z.output<typeof listDeadLettersQuery> }>(
    '/dead-letters',
    {
      schema: {
        summary: 'Dead letters, newest first, optionally of one batch or space',
        tags: ['dead letters'],
        querystring: listDeadLettersQuery,
        response: { 200: deadLetterListBody.describe('Dead letters'), ...errorResponses(400, 401) },
      },
    },
    async (request) => {
      const [total, entries] = await Promise.all([
        deadLetters.count({ batchId: request.query.batchId, space: request.query.space }),
        deadLetters.list(request.query),
      ]);
      return { total, deadLetters: entries };
    },
  );

  app.get<{ Params: z.output<typeof deadLetterIdParams> }>(
    '/dead-letters/:id',
    {
      schema: {
        summary: 'One dead letter with its attempts',
        tags: ['dead letters'],
        params: deadLetterIdParams,
        response: {
          200: deadLetterSchema.describe('The dead letter'),
          ...errorResponses(400, 401, 404),
        },
      },
    },
    async (request) => {
      const entry = await deadLetters.get(request.params.id);
      if (!entry) throw new NotFoundError(`dead letter '${request.params.id}' not found`);
      return entry;
    },
  );

  app.post<{ Body: z.output<typeof replayBody> }>(
    '/dead-letters/replay',
    {
      schema: {
        summary: 'Replay dead letters as new jobs, optionally with changed parameters',
        description: 'Nothing is replayed when one entry is unknown or would be invalid.',
        tags: ['dead letters'],
        body: replayBody,
        response: {
          200: replayResultBody.describe('What was replayed'),
          ...errorResponses(400, 401, 413),
        },
      },
    },
    async (request) => deadLetters.replay(request.body),
  );

  app.delete<{ Body: z.output<typeof purgeBody> }>(
    '/dead-letters',
    {
      schema: {
        summary: 'Remove dead letters without replaying them',
        tags: ['dead letters'],
        body: purgeBody,
        response: {
          200: purgeResultBody.describe('How many were removed'),
          ...errorResponses(400, 401, 413),
        },
      },
    },
    async (request) => {
      const body = request.body;
      const purged = await deadLetters.purge(body.all ? { all: true } : { ids: body.ids ?? [] });
      return { purged };
    },
  );
};
