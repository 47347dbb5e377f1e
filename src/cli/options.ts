/**
 * Parsers of option values. Each throws commander's InvalidArgumentError with what is
 * allowed; commander adds the flag's name, so every message names the field.
 */
import { InvalidArgumentError } from 'commander';

/** `true`/`false` (also `yes`/`no`, `1`/`0`). */
export function parseBool(value: string): boolean {
  const v = value.trim().toLowerCase();
  if (['true', 'yes', '1'].includes(v)) return true;
  if (['false', 'no', '0'].includes(v)) return false;
  throw new InvalidArgumentError('Allowed: true or false.');
}

/** A whole number from `min` to `max`. */
export function intParser(min: number, max: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`Allowed: a whole number from ${min} to ${max}.`);
    }
    return n;
  };
}

/** A TCP port (0 = any free port). */
export const parsePort = intParser(0, 65535);

/** An http:// or https:// URL. */
export function parseHttpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('Allowed: an http:// or https:// URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError('Allowed: an http:// or https:// URL.');
  }
  return value;
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Whole seconds to milliseconds, for `--wait-timeout`. */
export function parseSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 7 * 86_400) {
    throw new InvalidArgumentError('Allowed: a number of seconds above 0, at most 604800.');
  }
  return Math.round(n * 1000);
}
