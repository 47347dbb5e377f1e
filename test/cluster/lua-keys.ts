/**
 * Finds the Redis keys a Lua script names that do not come from KEYS, the rule of Redis
 * Cluster ("all keys a script accesses are passed as KEYS"). Redis itself only refuses a
 * key of another slot, so a script that builds a key of its own slot (`KEYS[1] .. ':x'`)
 * or reads it from data (`ARGV[2] .. id`) works on a cluster until the names change: this
 * check reads the script instead.
 *
 * A key argument of `redis.call(...)` (the first one, every one of DEL/EXISTS/UNLINK/
 * TOUCH) is declared when it is:
 *   - `KEYS[<expr>]`;
 *   - a name every assignment of which (`local x = ...`, `x = ...`, one position of
 *     `local a, b = ...`) is a declared key or `nil`;
 *   - a parameter of a `local function` that each call (also through `protect(fn, ...)`)
 *     passes a declared key (and every assignment of which is one);
 *   - `t.<field>` where tables set `<field> = KEYS[...]`, or `t[<expr>]` of a name
 *     bound to `fieldKeys(...)` (a table of KEYS entries).
 * Names are resolved over the whole script, not per scope; a script reusing a name for a
 * key and a non-key is reported (rename one).
 */

/** Commands with no key (TIME) or whose first argument is a channel (PUBLISH). */
const KEYLESS = new Set(['TIME', 'PUBLISH']);
/** Commands whose every argument is a key. */
const ALL_KEYS = new Set(['DEL', 'EXISTS', 'UNLINK', 'TOUCH']);

/** Lua without comments and with string literals blanked (their quotes kept). */
function strip(lua: string): string {
  let out = '';
  let i = 0;
  while (i < lua.length) {
    const c = lua[i];
    if (c === '-' && lua[i + 1] === '-') {
      while (i < lua.length && lua[i] !== '\n') i++;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < lua.length && lua[j] !== c) j += lua[j] === '\\' ? 2 : 1;
      out += c + lua.slice(i + 1, j).replace(/[^A-Za-z0-9_]/g, '_') + c;
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** The top-level comma-separated arguments of the call whose `(` is at `open`. */
function callArgs(lua: string, open: number, lenient = false): string[] {
  const args: string[] = [];
  let depth = 0;
  let start = open + 1;
  for (let i = open; i < lua.length; i++) {
    const c = lua[i];
    if (c === '(' || c === '{' || c === '[') depth++;
    else if (c === ')' || c === '}' || c === ']') {
      depth--;
      if (depth === 0) {
        args.push(lua.slice(start, i).trim());
        return args.filter((a) => a !== '');
      }
    } else if (c === ',' && depth === 1) {
      args.push(lua.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (!lenient) throw new Error(`unbalanced call at ${open}`);
  args.push(lua.slice(start).trim());
  return args.filter((a) => a !== '');
}

/** Splits `a, b, c` at top-level commas (a list cut at the end of its line is kept). */
function splitList(text: string): string[] {
  return callArgs(`(${text}`, 0, true);
}

const NAME = /^[A-Za-z_]\w*$/;

/** `t` when `expr` is exactly `t[...]` (the bracket after `t` closes at the end). */
function indexOf(expr: string): string | undefined {
  const m = /^([A-Za-z_]\w*)\[/.exec(expr);
  if (!m || !expr.endsWith(']')) return undefined;
  let depth = 0;
  for (let i = m[0].length - 1; i < expr.length; i++) {
    if (expr[i] === '[') depth++;
    else if (expr[i] === ']' && --depth === 0) return i === expr.length - 1 ? m[1] : undefined;
  }
  return undefined;
}

/** Keys of `lua` that do not come from KEYS, as `COMMAND arg` strings. */
export function undeclaredKeys(source: string): string[] {
  const lua = strip(source);
  /** name -> every value assigned to it. */
  const assigned = new Map<string, string[]>();
  const assign = (name: string, value: string) =>
    assigned.set(name, [...(assigned.get(name) ?? []), value]);
  for (const m of lua.matchAll(
    /(?:^|[\s;])(local\s+)?([A-Za-z_][\w, \t]*?)\s*=(?!=)\s*([^\n]+)/g,
  )) {
    const [names, values] = [splitList(m[2]!), splitList(m[3]!.replace(/\s+then\b.*$/, ''))];
    names.forEach((name, i) => {
      if (NAME.test(name)) assign(name, values[i] ?? 'nil');
    });
  }
  /** Fields set to a KEYS entry in table constructors (`{ key = KEYS[1 + i] }`). */
  const keyFields = new Set(
    [...lua.matchAll(/[{,]\s*([A-Za-z_]\w*)\s*=\s*KEYS\[/g)].map((m) => m[1]!),
  );
  /** function name -> its parameter names. */
  const functions = new Map<string, string[]>();
  for (const m of lua.matchAll(/local\s+function\s+([A-Za-z_]\w*)\s*\(([^)]*)\)/g)) {
    functions.set(
      m[1]!,
      splitList(m[2]!).filter((p) => p !== '...'),
    );
  }
  /** function name -> the argument lists of its calls. */
  const calls = new Map<string, string[][]>();
  for (const m of lua.matchAll(/(?<![\w.:])([A-Za-z_]\w*)\s*\(/g)) {
    const name = m[1]!;
    if (lua.slice(Math.max(0, m.index - 9), m.index).includes('function')) continue;
    const all = callArgs(lua, m.index + m[0].length - 1);
    // protect(fn, ...) calls fn with the rest.
    const [target, args] = name === 'protect' ? [all[0] ?? '', all.slice(1)] : [name, all];
    if (functions.has(target)) calls.set(target, [...(calls.get(target) ?? []), args]);
  }
  const paramOf = (name: string): [string, number] | undefined => {
    for (const [fn, params] of functions) {
      const i = params.indexOf(name);
      if (i >= 0) return [fn, i];
    }
    return undefined;
  };

  const isKeyTable = (expr: string, seen: Set<string>): boolean =>
    /^fieldKeys\(/.test(expr) || (NAME.test(expr) && boundTo(expr, seen, isKeyTable));

  function boundTo(
    name: string,
    seen: Set<string>,
    test: (expr: string, seen: Set<string>) => boolean,
  ): boolean {
    if (seen.has(name)) return true;
    const next = new Set(seen).add(name);
    const param = paramOf(name);
    const values = assigned.get(name) ?? [];
    const sources = [
      ...(param ? (calls.get(param[0]) ?? []).map((args) => args[param[1]] ?? 'nil') : []),
      ...values,
    ].filter((v) => v !== 'nil');
    return sources.length > 0 && sources.every((expr) => test(expr, next));
  }

  const isKey = (expr: string, seen: Set<string>): boolean => {
    const indexed = indexOf(expr);
    if (indexed === 'KEYS') return true;
    if (indexed) return isKeyTable(indexed, seen);
    const field = /^[A-Za-z_]\w*\.([A-Za-z_]\w*)$/.exec(expr);
    if (field) return keyFields.has(field[1]!);
    return NAME.test(expr) && boundTo(expr, seen, isKey);
  };

  const found: string[] = [];
  for (const m of lua.matchAll(/redis\.(?:p?call)\s*\(/g)) {
    const [command, ...args] = callArgs(lua, m.index + m[0].length - 1);
    const name = /^'(\w+)'$/.exec(command ?? '')?.[1];
    if (!name) {
      found.push(`${command} (command not a literal)`);
      continue;
    }
    if (KEYLESS.has(name)) continue;
    const keys = ALL_KEYS.has(name) ? args : args.slice(0, 1);
    for (const key of keys) if (!isKey(key, new Set())) found.push(`${name} ${key}`);
  }
  return found;
}
