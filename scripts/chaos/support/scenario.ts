/** The contract between a chaos scenario and `scripts/chaos/index.ts` (and the CI test). */
import type { Row } from '../../bench/support/table.js';

/** A promise confbulk makes about this failure, and whether the run kept it. */
export interface Check {
  promise: string;
  kept: boolean;
  /** What was observed, in words and figures. */
  got: string;
}

export interface ChaosResult {
  /** One row of figures: lost, duplicates, dead letters, time to recover, attempts... */
  figures: Row;
  checks: Check[];
  notes: string[];
}

export interface ChaosOptions {
  /** CI sizes: smaller batches, shorter faults. */
  quick: boolean;
  log(message: string): void;
}

export interface ChaosScenario {
  name: string;
  title: string;
  run(options: ChaosOptions): Promise<ChaosResult>;
}

export function check(promise: string, kept: boolean, got: string): Check {
  return { promise, kept, got };
}

/** The checks a result did not keep. */
export function broken(result: ChaosResult): Check[] {
  return result.checks.filter((c) => !c.kept);
}
