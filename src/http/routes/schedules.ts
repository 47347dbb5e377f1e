/**
 * `/v1/schedules`: bulk actions that run at a time or on a cron pattern. A token limited to
 * spaces sees and touches only schedules whose request names one of them.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { z } from 'zod';
import { recordAudit, requireSpace, spaceFilter } from '../access.js';
import type { ApiDependencies } from '../dependencies.js';
import { NotFoundError } from '../errors.js';
import { errorResponses } from '../schemas/common.js';
import {
  scheduleListBody,
  scheduleNameParams,
  scheduleSchema,
  scheduleSpecBody,
} from '../schemas/schedules.js';

const spaceOf = (schedule: { request: { space?: string } }): string =>
  schedule.request.space ?? 'default';

export const scheduleRoutes: FastifyPluginAsync<ApiDependencies> = async (app, { confbulk }) => {
  app.post<{ Body: z.output<typeof scheduleSpecBody> }>(
    '/schedules',
    {
      config: { access: 'write' },
      schema: {
        summary: 'Create or replace a schedule',
        tags: ['schedules'],
        body: scheduleSpecBody,
        response: {
          201: scheduleSchema.describe('The schedule'),
          ...errorResponses(400, 401, 403, 413),
        },
      },
    },
    async (request, reply) => {
      recordAudit(request, { space: spaceOf(request.body), schedule: request.body.name });
      requireSpace(request, spaceOf(request.body));
      // Replacing a schedule of another space would move it into this one.
      const existing = await confbulk.schedules.get(request.body.name);
      if (existing) requireSpace(request, spaceOf(existing));
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
      config: { access: 'read' },
      schema: {
        summary: 'Every schedule (of the spaces the token may use) with its next run',
        tags: ['schedules'],
        response: { 200: scheduleListBody.describe('Schedules'), ...errorResponses(401, 403) },
      },
    },
    async (request) => {
      const visible = spaceFilter(request);
      const schedules = await confbulk.schedules.list();
      return { schedules: schedules.filter((s) => visible(spaceOf(s))) };
    },
  );

  app.delete<{ Params: z.output<typeof scheduleNameParams> }>(
    '/schedules/:name',
    {
      config: { access: 'write' },
      schema: {
        summary: 'Remove a schedule (batches it created go on)',
        tags: ['schedules'],
        params: scheduleNameParams,
        response: { ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const existing = await confbulk.schedules.get(name);
      if (!existing) throw new NotFoundError(`schedule '${name}' not found`);
      recordAudit(request, { space: spaceOf(existing), schedule: name });
      requireSpace(request, spaceOf(existing));
      if (!(await confbulk.schedules.remove(name))) {
        throw new NotFoundError(`schedule '${name}' not found`);
      }
      return reply.code(204).send();
    },
  );
};
