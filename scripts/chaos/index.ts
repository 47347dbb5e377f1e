/**
 * `npm run chaos`: confbulk under failure. Each scenario breaks something mid-batch, prints
 * its figures (lost, duplicates, dead letters, time to recover, attempts) and the promises
 * it checks, and the run exits 1 when any promise is broken. JSON goes to
 * `bench-results/chaos/<scenario>.json`.
 *
 *   npm run chaos                              every scenario, full size (< 10 min on 2 cores)
 *   npm run chaos -- --quick                   CI sizes (a 5 s outage instead of 60 s, ...)
 *   npm run chaos -- --scenario outage         one scenario (repeat the flag for more)
 *
 * Needs no Redis: each scenario starts a private redis-server and stops it.
 */
import { parseRunnerArgs } from '../bench/support/args.js';
import { runScenarios } from '../bench/support/runner.js';
import { describeMachine, machineInfo, roundLoad, writeJson } from '../bench/support/results.js';
import { lastRedisVersion } from '../bench/support/stack.js';
import { markdownTable } from '../bench/support/table.js';
import { CHAOS_SCENARIOS } from './scenarios.js';
import { broken, type ChaosResult, type ChaosScenario } from './support/scenario.js';

const USAGE = `Usage: npm run chaos -- [--quick] [--scenario NAME]...

  --quick           CI sizes: smaller batches, shorter faults
  --scenario NAME   run only this scenario (repeatable): ${CHAOS_SCENARIOS.map((s) => s.name).join(', ')}
  -h, --help        this text

Exit code 1 when a promise is broken (or a scenario could not run).`;

function parseOptions(argv: string[]): { quick: boolean; scenarios: ChaosScenario[] } | undefined {
  const args = parseRunnerArgs(argv, CHAOS_SCENARIOS);
  return args && { quick: args.quick, scenarios: args.scenarios };
}

function report(scenario: ChaosScenario, result: ChaosResult): void {
  console.log(`\n## ${scenario.title}\n\n${markdownTable([result.figures])}\n`);
  console.log(
    markdownTable(
      result.checks.map((c) => ({
        promise: c.promise,
        kept: c.kept ? 'yes' : 'BROKEN',
        observed: c.got,
      })),
    ),
  );
  for (const note of result.notes) console.log(`\n- ${note}`);
}

async function runScenario(scenario: ChaosScenario, quick: boolean): Promise<number> {
  const log = (message: string): void => void process.stderr.write(`[chaos] ${message}\n`);
  const started = Date.now();
  const loadBefore = roundLoad();
  log(
    `${scenario.name}: starting (${quick ? 'quick' : 'full'}; load average ${loadBefore.join(' / ')})`,
  );
  let result: ChaosResult;
  try {
    result = await scenario.run({ quick, log });
  } catch (err) {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    result = {
      figures: { error: 'scenario failed' },
      checks: [{ promise: 'the scenario runs to its end', kept: false, got: message }],
      notes: [],
    };
  }
  report(scenario, result);
  const machine = { ...machineInfo(lastRedisVersion()), loadAverage: loadBefore };
  const path = writeJson('bench-results/chaos', scenario.name, {
    scenario: scenario.name,
    title: scenario.title,
    quick,
    machine,
    loadAverageAfter: roundLoad(),
    durationMs: Date.now() - started,
    ...result,
  });
  console.log(
    `\n${describeMachine(machine)}; took ${((Date.now() - started) / 1000).toFixed(0)} s -> ${path}`,
  );
  return broken(result).length;
}

async function main(): Promise<void> {
  const done = await runScenarios(
    {
      name: 'chaos',
      usage: USAGE,
      parse: parseOptions,
      run: (scenario: ChaosScenario, options) => runScenario(scenario, options.quick),
      verdict: (broken) => (broken === 0 ? 'every promise kept' : `${broken} promise(s) BROKEN`),
    },
    process.argv.slice(2),
  );
  if (done && done.failures > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
