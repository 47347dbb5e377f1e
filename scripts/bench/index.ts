/**
 * `npm run bench`: confbulk's benchmarks, each beside a baseline measured in the same run
 * on the same mock. Every scenario prints a table and its targets, and writes
 * `bench-results/<scenario>.json` with the machine, load average and versions.
 *
 *   npm run bench                          every scenario, full size (about 10 min on 2 cores)
 *   npm run bench -- --quick               CI sizes (about a minute)
 *   npm run bench -- --scenario rate       one scenario (repeat the flag for more)
 *   npm run bench -- --strict              exit 1 when a target is missed
 *
 * Scenarios: overhead, rate, mass-mute, windows, jitter, outages, limiter-memory, memory. Needs no Redis: each scenario starts a
 * private redis-server (scripts/redis.ts) and stops it.
 */
import { limiterMemory } from './limiter-memory.js';
import { massMute } from './mass-mute.js';
import { memory } from './memory.js';
import { outages } from './outages.js';
import { overhead } from './overhead.js';
import { rateExactness } from './rate.js';
import { parseRunnerArgs } from './support/args.js';
import { runScenarios } from './support/runner.js';
import { describeMachine, machineInfo, roundLoad, writeJson } from './support/results.js';
import type { Scenario, ScenarioResult } from './support/scenario.js';
import { markdownTable, printTable } from './support/table.js';
import { jitter, windows } from './windows.js';

const SCENARIOS: Scenario[] = [
  overhead,
  rateExactness,
  massMute,
  windows,
  jitter,
  outages,
  limiterMemory,
  memory,
];

const USAGE = `Usage: npm run bench -- [--quick] [--scenario NAME]... [--strict]

  --quick           CI sizes: fewer jobs and shorter runs
  --scenario NAME   run only this scenario (repeatable): ${SCENARIOS.map((s) => s.name).join(', ')}
  --strict          exit 1 when a published target is missed
  -h, --help        this text

Results: a table per scenario on stdout, JSON in bench-results/<scenario>.json.`;

interface Options {
  quick: boolean;
  strict: boolean;
  scenarios: Scenario[];
}

function parseOptions(argv: string[]): Options | undefined {
  const args = parseRunnerArgs(argv, SCENARIOS, ['strict']);
  return (
    args && { quick: args.quick, strict: args.flags.strict === true, scenarios: args.scenarios }
  );
}

function report(scenario: Scenario, result: ScenarioResult): void {
  printTable(`## ${scenario.title}`, result.rows);
  if (result.targets.length > 0) {
    const targets = result.targets.map((t) => ({
      target: t.what,
      wanted: t.target,
      got: t.got,
      met: t.met ? 'yes' : 'NO',
    }));
    console.log(`${markdownTable(targets)}\n`);
  }
  for (const note of result.notes) console.log(`- ${note}`);
}

async function runScenario(scenario: Scenario, quick: boolean): Promise<ScenarioResult> {
  const log = (message: string): void => void process.stderr.write(`[bench] ${message}\n`);
  const started = Date.now();
  const loadBefore = roundLoad();
  log(
    `${scenario.name}: starting (${quick ? 'quick' : 'full'}; load average ${loadBefore.join(' / ')})`,
  );
  const result = await scenario.run({ quick, log });
  const machine = { ...machineInfo(result.redis), loadAverage: loadBefore };
  report(scenario, result);
  const path = writeJson('bench-results', scenario.name, {
    scenario: scenario.name,
    title: scenario.title,
    quick,
    machine,
    loadAverageAfter: roundLoad(),
    durationMs: Date.now() - started,
    targets: result.targets,
    notes: result.notes,
    rows: result.rows,
    data: result.data,
  });
  console.log(
    `\n${describeMachine(machine)}; took ${((Date.now() - started) / 1000).toFixed(0)} s -> ${path}`,
  );
  return result;
}

async function main(): Promise<void> {
  const done = await runScenarios(
    {
      name: 'bench',
      usage: USAGE,
      parse: parseOptions,
      run: async (scenario: Scenario, options: Options) =>
        (await runScenario(scenario, options.quick)).targets.filter((t) => !t.met).length,
      verdict: (missed) =>
        missed === 0 ? 'every target met' : `${missed} target(s) missed (see the tables)`,
    },
    process.argv.slice(2),
  );
  if (done && done.failures > 0 && done.options.strict) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
