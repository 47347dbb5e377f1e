/** The contract between a benchmark scenario and `scripts/bench/index.ts`. */
import type { Row } from './table.js';

/** A published target and whether this run met it. */
export interface Target {
  what: string;
  target: string;
  got: string;
  met: boolean;
}

export interface ScenarioResult {
  /** Redis version the scenario ran on. */
  redis: string;
  /** Rows of the printed table (also written to the JSON). */
  rows: Row[];
  targets: Target[];
  /** Sentences the reader needs next to the table (setup, caveats). */
  notes: string[];
  /** Everything measured, for the JSON file. */
  data: unknown;
}

export interface RunOptions {
  /** CI-sized run (seconds instead of minutes). */
  quick: boolean;
  /** Progress lines (stderr). */
  log(message: string): void;
}

export interface Scenario {
  /** File name of its JSON and the value of `--scenario`. */
  name: string;
  title: string;
  run(options: RunOptions): Promise<ScenarioResult>;
}
