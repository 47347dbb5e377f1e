/**
 * How hints spell the command: `confbulk` when it is on the PATH (a global or linked
 * install), otherwise `npx confbulk`, which works in a clone and in a project that
 * depends on confbulk.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const cache = new Map<string, string>();

/** `confbulk` or `npx confbulk`, for the PATH of `env`. */
export function commandName(env: NodeJS.ProcessEnv = process.env): string {
  const path = env.PATH ?? '';
  let name = cache.get(path);
  if (name === undefined) {
    const onPath = path
      .split(delimiter)
      .filter(Boolean)
      .some((dir) => {
        try {
          accessSync(join(dir, 'confbulk'), constants.X_OK);
          return true;
        } catch {
          return false;
        }
      });
    name = onPath ? 'confbulk' : 'npx confbulk';
    cache.set(path, name);
  }
  return name;
}
