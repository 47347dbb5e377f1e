/**
 * `/v1/dead-letters`: list, inspect, replay (optionally with changed parameters) and purge
 * participant requests that could not succeed. Replay and purge need an admin token; a
 * token limited to spaces sees and touches only its spaces' entries (`all: true` means all
 * of those).
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { recordAudit, requireSpace } from '../access.js';
import type { ApiDependencies, DeadLetterStore } from '../dependencies.js';
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

/** The spaces of a space-limited token; undefined for a token of every space. */
function scopeOf(request: FastifyRequest): readonly string[] | undefined {
  const spaces = request.principal?.spaces;
  return spaces === undefined || spaces === '*' ? undefined : spaces;
}

/** Every listed entry must exist (else 404) and be of a space the token may use (else 403). */
async function checkEntries(
  request: FastifyRequest,
  deadLetters: DeadLetterStore,
  ids: readonly string[],
): Promise<void> {
  if (!scopeOf(request)) return;
  for (const id of new Set(ids)) {
    const entry = await deadLetters.get(id);
    if (entry) requireSpace(request, entry.job.space);
  }
}

export const deadLetterRoutes: FastifyPluginAsync<ApiDependencies> = async (
  app,
  { deadLetters },
) => {
  app.get<{ Querystring: z.output<typeof listDeadLettersQuery> }>(
    '/dead-letters',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Dead letters, newest first, optionally of one batch or space',
        tags: ['dead letters'],
        querystring: listDeadLettersQuery,
        response: {
          200: deadLetterListBody.describe('Dead letters'),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request) => {
      if (request.query.space !== undefined) requireSpace(request, request.query.space);
      const spaces = scopeOf(request);
      const [total, entries] = await Promise.all([
        deadLetters.count({
          batchId: request.query.batchId,
          space: request.query.space,
          ...(spaces && { spaces }),
        }),
        deadLetters.list({ ...request.query, ...(spaces && { spaces }) }),
      ]);
      return { total, deadLetters: entries };
    },
  );

  app.get<{ Params: z.output<typeof deadLetterIdParams> }>(
    '/dead-letters/:id',
    {
      config: { access: 'read' },
      schema: {
        summary: 'One dead letter with its attempts',
        tags: ['dead letters'],
        params: deadLetterIdParams,
        response: {
          200: deadLetterSchema.describe('The dead letter'),
          ...errorResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const entry = await deadLetters.get(request.params.id);
      if (!entry) throw new NotFoundError(`dead letter '${request.params.id}' not found`);
      requireSpace(request, entry.job.space);
      return entry;
    },
  );

  app.post<{ Body: z.output<typeof replayBody> }>(
    '/dead-letters/replay',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Replay dead letters as new jobs, optionally with changed parameters',
        description: 'Nothing is replayed when one entry is unknown or would be invalid.',
        tags: ['dead letters'],
        body: replayBody,
        response: {
          200: replayResultBody.describe('What was replayed'),
          ...errorResponses(400, 401, 403, 413),
        },
      },
    },
    async (request) => {
      await checkEntries(request, deadLetters, request.body.ids ?? []);
      const spaces = scopeOf(request);
      const result = await deadLetters.replay({ ...request.body, ...(spaces && { spaces }) });
      recordAudit(request, { replayed: result.replayed });
      return result;
    },
  );

  app.delete<{ Body: z.output<typeof purgeBody> }>(
    '/dead-letters',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Remove dead letters without replaying them',
        tags: ['dead letters'],
        body: purgeBody,
        response: {
          200: purgeResultBody.describe('How many were removed'),
          ...errorResponses(400, 401, 403, 413),
        },
      },
    },
    async (request) => {
      const body = request.body;
      await checkEntries(request, deadLetters, body.ids ?? []);
      const spaces = scopeOf(request);
      const purged = await deadLetters.purge(
        body.all ? { all: true, ...(spaces && { spaces }) } : { ids: body.ids ?? [] },
      );
      recordAudit(request, { purged });
      return { purged };
    },
  );
};
