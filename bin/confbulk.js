#!/usr/bin/env node
// Entry point of the `confbulk` command: runs the compiled CLI (built by `npm run build`,
// which `npm install` runs through the `prepare` script).
import { main } from '../dist/src/cli/main.js';

// A closed pipe (`confbulk dlq list | head`) is a normal end, not a crash.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv).catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(2);
});
