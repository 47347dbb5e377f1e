/**
 * docker-compose.yml as a specification: what runs, with which Redis settings, which
 * environment and health checks, and that workers can be scaled. No Docker engine is
 * needed: the file is parsed, nothing is started.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  ports?: string[];
  expose?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] | string };
  depends_on?: Record<string, { condition: string }>;
  profiles?: string[];
  container_name?: string;
  volumes?: string[];
}

const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8'), {
  merge: true,
}) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
const { services } = compose;

const words = (command: Service['command']): string[] =>
  Array.isArray(command) ? command : (command ?? '').split(/\s+/);
const healthcheck = (s: Service): string =>
  Array.isArray(s.healthcheck?.test) ? s.healthcheck.test.join(' ') : (s.healthcheck?.test ?? '');

describe('docker-compose.yml', () => {
  it('defines redis, api, worker and a demo-only mock', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'mock', 'redis', 'worker']);
    expect(services.mock?.profiles).toEqual(['demo']);
    for (const name of ['redis', 'api', 'worker']) expect(services[name]?.profiles).toBeUndefined();
  });

  it('runs Redis 7 with an append-only file, noeviction and a persistent volume', () => {
    const redis = services.redis as Service;
    expect(redis.image).toBe('redis:7-alpine');
    const args = words(redis.command).join(' ');
    expect(args).toContain('--appendonly yes');
    expect(args).toContain('--maxmemory-policy noeviction');
    expect(redis.volumes).toEqual(['redis-data:/data']);
    expect(compose.volumes).toHaveProperty('redis-data');
    expect(healthcheck(redis)).toBe('CMD redis-cli ping');
  });

  it('builds the api from the Dockerfile and publishes port 3000 with a /healthz check', () => {
    const api = services.api as Service;
    expect(api.build).toBe('.');
    expect(words(api.command)).toEqual(['confbulk', 'api']);
    expect(api.ports).toEqual(['3000:3000']);
    expect(healthcheck(api)).toContain('http://127.0.0.1:3000/healthz');
    expect(api.depends_on?.redis?.condition).toBe('service_healthy');
  });

  it('gives api and worker the Redis URL and SignalWire credentials; the API token to the api only', () => {
    const signalwire = ['SIGNALWIRE_SPACE_URL', 'SIGNALWIRE_PROJECT_ID', 'SIGNALWIRE_API_TOKEN'];
    for (const name of ['api', 'worker']) {
      const env = services[name]?.environment ?? {};
      expect(env.REDIS_URL).toBe('redis://redis:6379');
      for (const key of signalwire) expect(env[key]).toMatch(new RegExp(`^\\$\\{${key}:\\?`));
    }
    expect(services.api?.environment?.CONFBULK_API_TOKEN).toMatch(/^\$\{CONFBULK_API_TOKEN:\?/);
    expect(services.worker?.environment).not.toHaveProperty('CONFBULK_API_TOKEN');
  });

  it('lets workers scale: no container name, no host port, metrics on 9464', () => {
    const worker = services.worker as Service;
    expect(words(worker.command)).toEqual(['confbulk', 'worker', '--metrics-port', '9464']);
    expect(worker).not.toHaveProperty('container_name');
    expect(worker).not.toHaveProperty('ports');
    expect(worker.expose).toEqual(['9464']);
    expect(healthcheck(worker)).toContain('http://127.0.0.1:9464/healthz');
    expect(worker.depends_on?.redis?.condition).toBe('service_healthy');
  });

  it('starts the mock on port 8080, published on loopback only', () => {
    const mock = services.mock as Service;
    expect(words(mock.command).slice(0, 4)).toEqual(['confbulk', 'mock', '--port', '8080']);
    expect(mock.ports).toEqual(['127.0.0.1:8080:8080']);
  });

  it('never hard-codes a secret', () => {
    for (const service of Object.values(services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        // Required (`${X:?...}`) or optional with an empty default (`${X:-}`): never a value.
        if (/TOKEN|SECRET|PASSWORD/.test(key)) {
          expect(value).toMatch(/^\$\{([A-Z_]+):(\?.*|-)\}$/);
          expect(value).toContain(`\${${key}:`);
        }
      }
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');

  it('builds on node:24-slim (the current LTS) with npm ci and runs as a non-root user', () => {
    const froms = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    expect(froms.length).toBeGreaterThan(0);
    for (const image of froms) expect(image).toBe('node:24-slim');
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
    expect(dockerfile).toMatch(/^RUN npm run build$/m);
    const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
    expect(users.at(-1)).toBeDefined();
    expect(users.at(-1)).not.toMatch(/^(root|0)$/);
  });

  it('puts the confbulk command on the PATH for the compose commands', () => {
    expect(dockerfile).toContain('/usr/local/bin/confbulk');
  });
});
