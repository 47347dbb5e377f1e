/**
 * `confbulk resume [--space NAME]`: resumes a space whose workers paused after 401/403
 * answers, once its credentials are fixed. Without `--space`, every configured space whose
 * circuit is not closed is resumed (and the others are left alone).
 */
import type { Command } from 'commander';
import { getSpace } from '../../config.js';
import type { CliContext } from '../io.js';
import { withRedis } from '../resources.js';

export function registerResumeCommand(program: Command, ctx: CliContext): void {
  program
    .command('resume')
    .description(
      'resume a space paused after credential errors (401/403), once the credentials are fixed',
    )
    .option(
      '--space <name>',
      'space profile to resume (default: every configured space that is paused or open)',
    )
    .action(async (flags: { space?: string }) => {
      const config = ctx.getConfig();
      if (flags.space !== undefined) getSpace(config, flags.space);
      await withRedis(ctx, async (redis, prefix) => {
        const { readCircuitState, resumeSpace } = await import('../../worker/circuit-breaker.js');
        if (flags.space !== undefined) {
          const previous = await resumeSpace(redis, prefix, flags.space);
          ctx.out(`space ${flags.space} resumed (its circuit was ${previous})`);
          return;
        }
        let resumed = 0;
        for (const space of config.spaces.keys()) {
          if ((await readCircuitState(redis, prefix, space)) === 'closed') continue;
          const previous = await resumeSpace(redis, prefix, space);
          ctx.out(`space ${space} resumed (its circuit was ${previous})`);
          resumed++;
        }
        if (resumed === 0) ctx.out('no space was paused or open; nothing to resume');
      });
    });
}
