/**
 * `confbulk token create|list|revoke` against a real Redis: the token is printed once,
 * Redis holds only its hash, and the API accepts it until it is revoked.
 */
import { describe, expect, it } from 'vitest';
import { Authenticator } from '../../src/auth/authenticator.js';
import { TokenStore } from '../../src/auth/tokens.js';
import { ProducerKeys } from '../../src/keys.js';
import { cliEnv, confbulk, withPrefix } from './run-cli.js';

const SPACES = {
  SIGNALWIRE_EU_SPACE_URL: 'http://127.0.0.1:9',
  SIGNALWIRE_EU_PROJECT_ID: '4f1b6e6a-0000-4000-8000-00000000000e',
  SIGNALWIRE_EU_API_TOKEN: 'sw-token-eu-0123456789',
};

describe('confbulk token', () => {
  it('creates a scoped token shown once, stores only its hash, lists it and revokes it', () =>
    withPrefix(async ({ prefix, redis }) => {
      const env = cliEnv(prefix, SPACES);
      const created = await confbulk(
        env,
        'token',
        'create',
        '--name',
        'eu team',
        '--role',
        'write',
        '--space',
        'eu',
        '--json',
      );
      expect({ code: created.code, stderr: created.stderr }).toEqual({ code: 0, stderr: '' });
      const token = JSON.parse(created.stdout) as Record<string, unknown>;
      expect(Object.keys(token).sort()).toEqual(['id', 'name', 'role', 'spaces', 'token']);
      expect(token).toMatchObject({ name: 'eu team', role: 'write', spaces: ['eu'] });
      const secret = token.token as string;
      expect(secret).toMatch(/^cbk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);

      // Nothing under the prefix holds the token, or its secret part.
      const stored = await redis.hgetall(new ProducerKeys(prefix).tokens());
      expect(Object.keys(stored)).toEqual([token.id]);
      const dump = JSON.stringify(stored);
      expect(dump).not.toContain(secret);
      expect(dump).not.toContain(secret.slice(-43));

      const store = new TokenStore(redis, new ProducerKeys(prefix), ['default', 'eu']);
      const authenticator = new Authenticator({ bootstrapToken: undefined, tokens: store });
      expect(await authenticator.principalOfToken(secret)).toEqual({
        id: token.id,
        name: 'eu team',
        role: 'write',
        spaces: ['eu'],
      });
      const altered = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
      expect(await authenticator.principalOfToken(altered)).toBeUndefined();

      const list = await confbulk(env, 'token', 'list');
      expect(list.code).toBe(0);
      expect(list.stdout).toContain(`${String(token.id)}  write  eu team  (spaces eu, created `);
      expect(list.stdout).not.toContain(secret);

      expect((await confbulk(env, 'token', 'revoke', String(token.id))).stdout).toBe(
        `token ${String(token.id)} revoked\n`,
      );
      expect(await authenticator.principalOfToken(secret)).toBeUndefined();
      const again = await confbulk(env, 'token', 'revoke', String(token.id));
      expect(again.code).toBe(1);
      expect((await confbulk(env, 'token', 'list')).stdout).toBe(
        'no tokens (CONFBULK_API_TOKEN is the only one)\n',
      );
    }));

  it('refuses a bad role or an unknown space before connecting, naming the flag', async () => {
    const env = cliEnv('never-used', { REDIS_URL: 'redis://127.0.0.1:1' });
    const role = await confbulk(env, 'token', 'create', '--name', 'x', '--role', 'root');
    expect(role).toEqual({
      code: 2,
      stdout: '',
      stderr: 'confbulk: --role must be one of: read, write, admin\n',
    });
    const space = await confbulk(
      env,
      'token',
      'create',
      '--name',
      'x',
      '--role',
      'read',
      '--space',
      'mars',
    );
    expect(space.code).toBe(2);
    expect(space.stderr).toMatch(/spaces: 'mars' is not a configured space profile/);
  });
});
