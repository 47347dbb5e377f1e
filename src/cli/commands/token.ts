/**
 * `confbulk token create|list|revoke`: scoped API tokens. Run where `REDIS_URL` reaches
 * the API's Redis; the token is printed once by `create` and only its hash is stored.
 */
import type { Command } from 'commander';
import { ROLES, type Role } from '../../auth/access.js';
import { validateNewToken, type TokenInfo, type TokenStore } from '../../auth/tokens.js';
import { ValidationError } from '../../errors.js';
import { EXIT, type CliContext } from '../io.js';
import { collect } from '../options.js';
import { withRedis } from '../resources.js';

function tokenLine(t: TokenInfo): string {
  const spaces = t.spaces === '*' ? 'every space' : `spaces ${t.spaces.join(', ')}`;
  return `${t.id}  ${t.role.padEnd(5)}  ${t.name}  (${spaces}, created ${t.createdAt})`;
}

async function withTokens<T>(ctx: CliContext, fn: (tokens: TokenStore) => Promise<T>): Promise<T> {
  const config = ctx.getRedisConfig();
  const [{ TokenStore }, { ProducerKeys }] = await Promise.all([
    import('../../auth/tokens.js'),
    import('../../keys.js'),
  ]);
  return withRedis(ctx, (redis, prefix) =>
    fn(new TokenStore(redis, new ProducerKeys(prefix), [...config.spaces.keys()])),
  );
}

/** Adds `token create|list|revoke`. */
export function registerTokenCommands(program: Command, ctx: CliContext): void {
  const token = program
    .command('token')
    .description('scoped API tokens (roles read, write, admin; optionally limited to spaces)');

  token
    .command('create')
    .description('create a token and print it once (only its hash is stored)')
    .requiredOption('--name <name>', 'who or what uses it, e.g. "eu-team ci"')
    .requiredOption(
      '--role <role>',
      `read (GET routes), write (bulk actions, schedules) or admin (dead letters, tokens, dashboard)`,
    )
    .option('--space <space>', 'limit it to this space profile (repeatable)', collect, [])
    .option('--json', 'print {id, name, token, role, spaces} as JSON')
    .action(async (flags: { name: string; role: string; space: string[]; json?: boolean }) => {
      if (!ROLES.includes(flags.role as Role)) {
        throw new ValidationError(`--role must be one of: ${ROLES.join(', ')}`, 'role');
      }
      const input = { name: flags.name, role: flags.role as Role, spaces: flags.space };
      // Checked before connecting: bad input is reported at once, even when Redis is down.
      validateNewToken(input, [...ctx.getConfig().spaces.keys()]);
      await withTokens(ctx, async (tokens) => {
        const created = await tokens.create(input);
        if (flags.json) {
          const { id, name, token: secret, role, spaces } = created;
          ctx.json({ id, name, token: secret, role, spaces });
          return;
        }
        ctx.out(tokenLine(created));
        ctx.out(`token: ${created.token}`);
        ctx.err('confbulk: this is the only time the token is shown; store it now');
      });
    });

  token
    .command('list')
    .description('list tokens (never their secrets)')
    .option('--json', 'print the tokens as a JSON array')
    .action(async (flags: { json?: boolean }) => {
      await withTokens(ctx, async (tokens) => {
        const all = await tokens.list();
        if (flags.json) ctx.json(all);
        else if (all.length === 0) ctx.out('no tokens (CONFBULK_API_TOKEN is the only one)');
        else for (const t of all) ctx.out(tokenLine(t));
      });
    });

  token
    .command('revoke')
    .description('revoke a token: its next request fails and its dashboard sessions end')
    .argument('<id>', 'token id (from token list)')
    .action(async (id: string) => {
      await withTokens(ctx, async (tokens) => {
        if (await tokens.revoke(id)) {
          ctx.out(`token ${id} revoked`);
          return;
        }
        ctx.err(`confbulk: no token with id '${id}'`);
        ctx.exitCode = EXIT.failed;
      });
    });
}
