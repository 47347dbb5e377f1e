/**
 * `GET /healthz`: the process is up and serving (no auth, no Redis round trip; readiness
 * belongs to `/readyz`).
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';

const healthBody = z.object({ status: z.literal('ok') });

export const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get(
    '/healthz',
    {
      config: { access: 'public' },
      schema: {
        summary: 'Liveness',
        tags: ['operations'],
        security: [],
        response: { 200: healthBody.describe('The process serves requests') },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
};
