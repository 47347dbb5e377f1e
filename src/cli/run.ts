/**
 * Runs the CLI from the sources: `node --import tsx src/cli/run.ts <command> ...`
 * (tests and development; the installed command is `bin/confbulk.js`).
 */
import { main } from './main.js';

main(process.argv).catch((err: unknown) => {
  console.error(`confbulk: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
