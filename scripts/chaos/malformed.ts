/**
 * Malformed input: every request of the corpus (malformed-corpus.ts) through the CLI (real
 * child processes) and the HTTP API (`buildApp().inject()` on a real producer) must be
 * refused with a message naming the field (exit code 2, or 400), and nothing may reach
 * Redis or the API: SCAN of the prefix finds no job key, the mock saw no request.
 */
import type { FastifyInstance } from 'fastify';
import type { ConfbulkConfig } from '../../src/config.js';
import { buildApp } from '../../src/http/app.js';
import { openDeadLetters } from '../../src/http/dependencies.js';
import { silentLogger } from '../../src/logger.js';
import { keyPattern } from '../../src/keys.js';
import { createConfbulk } from '../../src/producer/confbulk.js';
import { scanAll } from '../../src/queues.js';
import { clearTranscripts } from '../bench/support/processes.js';
import { withStack, type Stack } from '../bench/support/stack.js';
import { inParallel, runCli } from './support/cli.js';
import { CLI_CASES, HTTP_CASES, type HttpCase } from './malformed-corpus.js';
import { check, type ChaosScenario } from './support/scenario.js';
import { credentialForms, scanTranscripts } from './support/secrets.js';

const API_TOKEN = 'chaos-api-token-0123456789abcdef';

async function keysUnder(stack: Stack): Promise<string[]> {
  const keys = await scanAll(stack.client, keyPattern(stack.prefix));
  return keys.sort();
}

interface HttpOutcome {
  name: string;
  ok: boolean;
  got: string;
}

async function sendCase(app: FastifyInstance, c: HttpCase): Promise<HttpOutcome> {
  const res = await app.inject({
    method: c.method,
    url: c.url,
    headers: {
      authorization: `Bearer ${API_TOKEN}`,
      ...(c.body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(c.body !== undefined && {
      payload: typeof c.body === 'string' ? c.body : JSON.stringify(c.body),
    }),
  });
  const answer = res.json<{ error?: string; message?: string; field?: string }>();
  const ok =
    res.statusCode === 400 &&
    answer.field === c.field &&
    (answer.message ?? '').startsWith(c.field);
  return {
    name: c.name,
    ok,
    got: `${res.statusCode} field=${answer.field} message=${answer.message}`,
  };
}

async function httpOutcomes(stack: Stack): Promise<HttpOutcome[]> {
  const config = stack.config({ CONFBULK_API_TOKEN: API_TOKEN }) as ConfbulkConfig & {
    redisUrl: string;
  };
  const confbulk = await createConfbulk({ config });
  const dlq = await openDeadLetters(config);
  const app = await buildApp({
    config,
    confbulk,
    deadLetters: dlq.deadLetters,
    logger: silentLogger,
  });
  try {
    const outcomes: HttpOutcome[] = [];
    for (const c of HTTP_CASES) outcomes.push(await sendCase(app, c));
    return outcomes;
  } finally {
    await app.close();
    await Promise.allSettled([confbulk.close(), dlq.close()]);
  }
}

export const malformed: ChaosScenario = {
  name: 'malformed',
  title: 'Malformed requests through the CLI and the HTTP API',
  async run({ log }) {
    clearTranscripts();
    return withStack({ participants: 1 }, async (stack) => {
      const env = stack.env({ LOG_LEVEL: 'info', CONFBULK_API_TOKEN: API_TOKEN });
      const cli = await inParallel(CLI_CASES, 4, async (c) => {
        const run = await runCli(env, c.args);
        return {
          ...c,
          run,
          ok: run.code === 2 && /^confbulk: /m.test(run.output) && c.names.test(run.output),
        };
      });
      log(
        `malformed: ${cli.filter((c) => c.ok).length}/${cli.length} command lines refused as promised`,
      );
      const http = await httpOutcomes(stack);
      log(
        `malformed: ${http.filter((c) => c.ok).length}/${http.length} HTTP requests refused as promised`,
      );
      const keys = (await keysUnder(stack)).filter((k) => !k.endsWith(':meta'));
      const requests = stack.mock.counters().requests;
      const badCli = cli.filter((c) => !c.ok);
      const badHttp = http.filter((c) => !c.ok);
      const leaks = scanTranscripts(
        cli.map((c) => ({ name: c.args.join(' '), text: c.run.output })),
        [...credentialForms(stack.account.accountSid, stack.account.token), API_TOKEN],
      );
      return {
        figures: {
          'CLI cases': cli.length,
          'CLI refused (exit 2, naming the field)': cli.length - badCli.length,
          'HTTP cases': http.length,
          'HTTP refused (400, naming the field)': http.length - badHttp.length,
          'job keys in Redis': keys.length,
          'requests at the API': requests,
        },
        checks: [
          check(
            'at least 40 malformed requests',
            cli.length + http.length >= 40,
            `${cli.length} CLI + ${http.length} HTTP`,
          ),
          check(
            'every command line refused: exit code 2 and a message naming the flag',
            badCli.length === 0,
            badCli.length
              ? badCli
                  .map(
                    (c) =>
                      `${c.args.join(' ')} -> exit ${c.run.code}: ${c.run.output.trim().slice(0, 160)}`,
                  )
                  .join(' | ')
              : 'all',
          ),
          check(
            'every HTTP request refused: 400 naming the field',
            badHttp.length === 0,
            badHttp.length ? badHttp.map((c) => `${c.name}: ${c.got}`).join(' | ') : 'all',
          ),
          check(
            'nothing enqueued: no job key under the prefix',
            keys.length === 0,
            keys.length ? keys.slice(0, 5).join(', ') : 'none',
          ),
          check('nothing sent to the API', requests === 0, `${requests} requests`),
          check(
            'no credential in the CLI output',
            leaks.hits.length === 0,
            leaks.hits.length ? leaks.hits.join(' | ') : `${leaks.lines} lines scanned`,
          ),
        ],
        notes: [
          'CLI: `node --import tsx src/cli/run.ts ...`, 4 at a time. HTTP: `buildApp()` on a real producer and dead-letter store, `inject()`.',
        ],
      };
    });
  },
};
