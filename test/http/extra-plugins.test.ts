import type { FastifyPluginAsync } from 'fastify';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import type { ApiDependencies } from '../../src/http/dependencies.js';
import { createLogger } from '../../src/logger.js';
import { auth, withApi } from './fixture.js';

const SECRET_DETAIL = 'connection to 10.1.2.3 refused: internal detail';

const opsPlugin: FastifyPluginAsync<ApiDependencies> = async (app) => {
  app.get('/readyz', async () => ({ ready: true }));
  app.get('/boom', { config: { access: 'public' } }, async () => {
    throw new Error(SECRET_DETAIL);
  });
};

const adminPlugin: FastifyPluginAsync<ApiDependencies> = async (app) => {
  app.get('/', async () => ({ dashboard: true }));
};

describe('extraPlugins and 5xx answers', () => {
  it('mounts open and admin plugins, and answers 500 with a bare message while logging the error', async () => {
    await withApi(async ({ config, confbulk, deadLetters }) => {
      const lines: string[] = [];
      const app = await buildApp({
        config,
        confbulk,
        deadLetters,
        logger: createLogger({
          level: 'info',
          destination: { write: (line: string) => void lines.push(line) },
        }),
        extraPlugins: [
          { plugin: opsPlugin, access: 'public' },
          { plugin: adminPlugin, prefix: '/admin/queues', access: 'admin' },
        ],
      });
      try {
        expect((await app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({
          ready: true,
        });
        expect((await app.inject({ method: 'GET', url: '/admin/queues' })).statusCode).toBe(401);
        expect(
          (await app.inject({ method: 'GET', url: '/admin/queues', headers: auth })).json(),
        ).toEqual({ dashboard: true });

        const boom = await app.inject({ method: 'GET', url: '/boom' });
        expect(boom.statusCode).toBe(500);
        expect(boom.json()).toEqual({
          error: 'InternalServerError',
          message: 'internal server error',
        });
        expect(boom.body).not.toContain('10.1.2.3');
        const logged = lines.map(
          (l) => JSON.parse(l) as { level: number; msg: string; err?: { message: string } },
        );
        expect(logged).toContainEqual(
          expect.objectContaining({
            level: 50,
            msg: 'request failed',
            err: expect.objectContaining({ message: SECRET_DETAIL }),
          }),
        );

        await app.inject({ method: 'GET', url: '/v1/batches', headers: auth });
        expect(lines.join('\n')).not.toContain(auth.authorization.slice('Bearer '.length));
      } finally {
        await app.close();
      }
    });
  });
});
