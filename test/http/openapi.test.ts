import { describe, expect, it } from 'vitest';
import { withApi } from './fixture.js';

interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<
    string,
    Record<
      string,
      {
        security?: unknown[];
        requestBody?: {
          content: Record<
            string,
            { schema: { properties?: Record<string, unknown>; required?: string[] } }
          >;
        };
      }
    >
  >;
  components: { securitySchemes: Record<string, unknown> };
}

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document with every route, its schemas and bearer security', async () => {
    await withApi(async ({ app }) => {
      const res = await app.inject({ method: 'GET', url: '/openapi.json' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const doc = JSON.parse(res.body) as OpenApiDocument;
      expect(doc.openapi).toBe('3.1.0');
      expect(doc.info).toMatchObject({
        title: 'confbulk',
        version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      });
      const routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
      );
      expect(routes.sort()).toEqual(
        [
          'DELETE /v1/dead-letters',
          'DELETE /v1/schedules/{name}',
          'GET /healthz',
          'GET /v1/batches',
          'GET /v1/batches/{id}',
          'GET /v1/dead-letters',
          'GET /v1/dead-letters/{id}',
          'GET /v1/schedules',
          'POST /v1/bulk-actions',
          'POST /v1/dead-letters/replay',
          'POST /v1/schedules',
          'GET /v1/tokens',
          'POST /v1/tokens',
          'DELETE /v1/tokens/{id}',
        ].sort(),
      );
      const post = doc.paths['/v1/bulk-actions']?.post;
      const body = post?.requestBody?.content['application/json']?.schema;
      expect(Object.keys(body?.properties ?? {})).toEqual(
        expect.arrayContaining([
          'action',
          'space',
          'target',
          'params',
          'idempotencyKey',
          'webhookUrl',
        ]),
      );
      expect(body?.required).toEqual(expect.arrayContaining(['action', 'target']));
      expect(post?.security).toEqual([{ bearerAuth: [] }]);
      expect(doc.paths['/healthz']?.get?.security).toEqual([]);
      expect(doc.components.securitySchemes.bearerAuth).toMatchObject({
        type: 'http',
        scheme: 'bearer',
      });
    });
  });
});
