/** Tables printed by benchmarks and chaos runs: Markdown, so they paste into docs as they are. */

export type Cell = string | number | boolean | undefined;
export type Row = Record<string, Cell>;

/** A number with `digits` decimals, or as it is when whole; `-` for undefined. */
export function fmt(value: number | undefined, digits = 2): string {
  if (value === undefined || Number.isNaN(value)) return '-';
  return Number.isInteger(value) ? String(value) : value.toFixed(digits);
}

/** `0.973` -> `0.973x`. */
export function ratio(value: number | undefined, digits = 3): string {
  return value === undefined ? '-' : `${value.toFixed(digits)}x`;
}

/** Milliseconds as seconds: `8412` -> `8.41 s`. */
export function seconds(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(2)} s`;
}

/** Bytes as MiB: `52428800` -> `50.0 MiB`. */
export function mib(bytes: number | undefined): string {
  return bytes === undefined ? '-' : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function text(cell: Cell): string {
  if (cell === undefined) return '-';
  if (typeof cell === 'number') return fmt(cell);
  return String(cell);
}

/** Renders rows as a Markdown table with padded columns (columns: keys of the first row). */
export function markdownTable(rows: readonly Row[]): string {
  if (rows.length === 0) return '(no rows)';
  const columns = Object.keys(rows[0] as Row);
  const cells = rows.map((row) => columns.map((c) => text(row[c])));
  const widths = columns.map((c, i) =>
    Math.max(c.length, ...cells.map((r) => (r[i] as string).length)),
  );
  const line = (values: string[]): string =>
    `| ${values.map((v, i) => v.padEnd(widths[i] as number)).join(' | ')} |`;
  return [
    line(columns),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...cells.map(line),
  ].join('\n');
}

/** Prints a titled table on stdout. */
export function printTable(title: string, rows: readonly Row[]): void {
  console.log(`\n${title}\n\n${markdownTable(rows)}\n`);
}
