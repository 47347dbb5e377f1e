/**
 * `/v1/schedules`: bulk actions that run at a time or on a cron pattern.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { z } from 'zod';
import type { ApiDependencies } from '../dependencies.js';
import { NotFoundError } from '../errors.js';
import { errorResponses } from '../schemas/common.js';
import {
  scheduleListBody,
  scheduleNameParams,
  scheduleSchema,
  scheduleSpecBody,
} from '../schemas/schedules.js';

export const scheduleRoutes: FastifyPluginAsync<ApiDependencies> = async (app, { confbulk }) => {
  app.post<{ Body: z.output<typeof scheduleSpecBody> }>(
    '/schedules',
    {
      schema: {
        summary: 'Create or replace a schedule',
        tags: ['schedules'],
        body: scheduleSpecBody,
        response: {
          201: scheduleSchema.describe('The schedule'),
          ...errorResponses(400, 401, 413),
        },
      },
    },
    async (request, reply) => {
      const schedule = await confbulk.schedules.add(request.body);
      return reply
        .code(201)
        .header('location', `/v1/schedules/${encodeURIComponent(schedule.name)}`)
        .send(schedule);
    },
  );

  app.get(
    '/schedules',
    {
      schema: {
        summary: 'Every schedule with its next run',
        tags: ['schedules'],
        response: { 200: scheduleListBody.describe('Schedules'), ...errorResponses(401) },
      },
    },
    async () => ({ schedules: await confbulk.schedules.list() }),
  );

  app.delete<{ Params: z.output<typeof scheduleNameParams> }>(
    '/schedules/:name',
    {
      schema: {
        summary: 'Remove a schedule (batches it created go on)',
        tags: ['schedules'],
        params: scheduleNameParams,
        response: { ...errorResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      if (!(await confbulk.schedules.remove(request.params.name))) {
        throw new NotFoundError(`schedule '${request.params.name}' not found`);
      }
      return reply.code(204).send();
    },
  );
};
