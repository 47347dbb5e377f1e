#!/usr/bin/env node
// Entry point of the `confbulk` command: runs the compiled CLI (built by `npm run build`,
// which `npm install` runs through the `prepare` script).
import { main } from '../dist/src/cli/main.js';

main(process.argv).catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(2);
});
