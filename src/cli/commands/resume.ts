/**
 * `confbulk resume --space NAME`: resumes a space whose workers paused after 401/403
 * answers, once its credentials are fixed.
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
    .requiredOption('--space <name>', 'space profile to resume (one of the configured profiles)')
    .action(async (flags: { space: string }) => {
      getSpace(ctx.getConfig(), flags.space);
      await withRedis(ctx, async (redis, prefix) => {
        const { resumeSpace } = await import('../../worker/circuit-breaker.js');
        const previous = await resumeSpace(redis, prefix, flags.space);
        ctx.out(`space ${flags.space} resumed (its circuit was ${previous})`);
      });
    });
}
