/**
 * confbulk's version, read from package.json both from the sources (`src/http`) and from
 * the build (`dist/src/http`).
 */
import { createRequire } from 'node:module';

let cached: string | undefined;

export function packageVersion(): string {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  for (const path of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = require(path) as { name?: string; version?: string };
      if (pkg.name === 'confbulk' && pkg.version) return (cached = pkg.version);
    } catch {
      // not at this depth: try the next one
    }
  }
  return (cached = '0.0.0');
}
