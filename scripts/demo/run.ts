/**
 * The two runs of the demo: against the mock (with trouble) and against a real space
 * (a named conference, no trouble). Both build the configuration with `loadConfig`, start
 * an in-process worker stack, submit "mute everyone except the host" through the library,
 * watch it, and check the participants' final state.
 */
import type { RedisConnection } from '../../src/queues.js';
import {
  formatRateLimits,
  getSpace,
  loadConfig,
  type ConfbulkConfig,
  type RateLimitSpec,
} from '../../src/config.js';
import { DeadLetters } from '../../src/dead-letters/dead-letters.js';
import type { Metrics } from '../../src/metrics.js';
import { createConfbulk } from '../../src/producer/confbulk.js';
import type { Batch } from '../../src/types.js';
import { createSignalWireClient } from '../../src/signalwire/client.js';
import { DEMO_DEFAULTS, type DemoOptions } from './options.js';
import { planTrouble, startMockScene, startTrouble } from './mock-scene.js';
import { createDemoProgress, type DemoProgress } from './progress.js';
import { startWorkerStack } from '../../src/worker/stack.js';
import { counterTotal, countsOf, verify, type DemoSummary, type FinalState } from './summary.js';

/** The demo's limit, and a window of a tenth of it that paces the run through it. */
function demoWindows(limit: RateLimitSpec): RateLimitSpec[] {
  const tenth = {
    count: Math.max(1, Math.ceil(limit.count / 10)),
    durationMs: limit.durationMs / 10,
  };
  return tenth.durationMs >= 1 && tenth.count < limit.count ? [limit, tenth] : [limit];
}

/** What `runDemo` prepared for a run. */
export interface DemoContext {
  options: DemoOptions;
  env: NodeJS.ProcessEnv;
  out: NodeJS.WritableStream;
  redisUrl: string;
  prefix: string;
  /** Shared by the producer, the workers and the dead-letter lookup; closed by `runDemo`. */
  connection: RedisConnection;
  metrics: Metrics;
  /**
   * Runs when the summary is ready, while the run (mock, Redis) is still up: prints it and,
   * with `--keep`, keeps the run open until Ctrl-C.
   */
  finish: (summary: DemoSummary, config: ConfbulkConfig) => Promise<void>;
}

export interface DemoRun {
  summary: DemoSummary;
  config: ConfbulkConfig;
}

/** Longest the demo waits for its batch (it takes about 8 s). */
const BATCH_TIMEOUT_MS = 60_000;

function rateText(options: DemoOptions): string | undefined {
  const limit = options.rateLimit;
  return limit ? `${limit.count}/${limit.durationMs}ms` : undefined;
}

/**
 * Submits the batch, waits for it with a progress view, and returns it with its dead
 * letters. `beforeSubmit` runs just before the batch is created (the trouble starts there).
 */
async function muteAllButHost(
  ctx: DemoContext,
  config: ConfbulkConfig,
  conferenceSid: string,
  host: string,
  beforeSubmit: (progress: DemoProgress) => void,
): Promise<{ batch: Batch; deadLettered: string[] }> {
  const { connection, metrics } = ctx;
  const progress = createDemoProgress(ctx.options.progress ?? DEMO_DEFAULTS.progress, ctx.out);
  const workers = await startWorkerStack({ config, connection, metrics });
  const confbulk = await createConfbulk({ config, connection, pollMs: 100 });
  const deadLetters = new DeadLetters({ connection, prefix: config.prefix });
  try {
    progress.note(`Muting everyone in conference ${conferenceSid} except the host ${host}`);
    beforeSubmit(progress);
    const handle = await confbulk.bulkAction({
      action: 'mute',
      target: { conferenceSid, except: [host] },
    });
    const batch = await handle.completed({
      timeoutMs: BATCH_TIMEOUT_MS,
      ...(ctx.options.signal && { signal: ctx.options.signal }),
      onProgress: (b) => progress.update(b),
    });
    progress.update(batch);
    progress.stop();
    const entries = await deadLetters.list({ batchId: batch.id, limit: 10_000 });
    return { batch, deadLettered: entries.map((e) => e.job.callSid).sort() };
  } finally {
    progress.stop();
    await deadLetters.close().catch(() => {});
    await confbulk.close().catch(() => {});
    await workers.close();
  }
}

/** The run against the mock API. */
export async function runMockDemo(ctx: DemoContext): Promise<DemoRun> {
  const participants = ctx.options.participants ?? DEMO_DEFAULTS.participants;
  const rateLimit = ctx.options.rateLimit ?? DEMO_DEFAULTS.rateLimit;
  const scene = await startMockScene(participants);
  try {
    const config = loadConfig({
      REDIS_URL: ctx.redisUrl,
      CONFBULK_PREFIX: ctx.prefix,
      SIGNALWIRE_SPACE_URL: scene.mock.url,
      SIGNALWIRE_PROJECT_ID: scene.account.accountSid,
      SIGNALWIRE_API_TOKEN: scene.account.token,
      // A second window of a tenth spreads the run over the window (an empty window would
      // otherwise go out at once), so that the trouble planned through it meets requests.
      CONFBULK_RATE_LIMIT: formatRateLimits(demoWindows(rateLimit)),
      LOG_LEVEL: 'silent',
    });
    let stopTrouble = (): void => {};
    let trouble: DemoSummary['trouble'];
    const { batch, deadLettered } = await muteAllButHost(
      ctx,
      config,
      scene.conferenceSid,
      scene.host,
      (progress) => {
        if (ctx.options.trouble ?? DEMO_DEFAULTS.trouble) {
          const running = startTrouble(scene, planTrouble(participants, rateLimit), (t) =>
            progress.note(t),
          );
          trouble = { leavers: running.leavers, rejected: [...running.rejected].sort() };
          stopTrouble = () => running.stop();
        }
      },
    )
      .catch((err: unknown) => {
        if (ctx.options.signal?.aborted) throw err;
        // What the API went through is the first thing to look at when a run fails.
        const counters = JSON.stringify(scene.mock.counters());
        throw new Error(`${(err as Error).message} (mock API counters: ${counters})`, {
          cause: err,
        });
      })
      .finally(() => stopTrouble());
    const counters = scene.mock.counters();
    const present: FinalState['present'] = scene.mock
      .participants(scene.conferenceSid)
      .map((p) => ({ callSid: p.callSid, muted: p.muted }));
    const counts = countsOf(batch);
    const summary: DemoSummary = {
      mode: 'mock',
      batchId: batch.id,
      conferenceSid: scene.conferenceSid,
      host: scene.host,
      participants,
      ...counts,
      deadLetteredCallSids: deadLettered,
      retries: await counterTotal(ctx.metrics.retries),
      rateLimited: counters.rateLimited,
      requests: counters.byMethod.POST ?? 0,
      requestRate: counters.appliedUpdates / Math.max(0.001, counts.elapsedMs / 1000),
      ...verify({ present }, scene.host, deadLettered),
      ...(trouble && { trouble }),
    };
    await ctx.finish(summary, config);
    return { summary, config };
  } finally {
    await scene.stop();
  }
}

/** The run against the real space of `SIGNALWIRE_*`, on `conferenceSid` only. */
export async function runRealDemo(ctx: DemoContext, conferenceSid: string): Promise<DemoRun> {
  const rate = rateText(ctx.options);
  const config = loadConfig({
    ...ctx.env,
    REDIS_URL: ctx.redisUrl,
    CONFBULK_PREFIX: ctx.prefix,
    LOG_LEVEL: ctx.env.LOG_LEVEL ?? 'silent',
    ...(rate && { CONFBULK_RATE_LIMIT: rate }),
  });
  const client = createSignalWireClient(getSpace(config, 'default'));
  try {
    const present = async (): Promise<FinalState['present']> => {
      const found: FinalState['present'] = [];
      for await (const p of client.listParticipants(conferenceSid)) {
        found.push({ callSid: p.call_sid, muted: p.muted });
      }
      return found;
    };
    const before = await present();
    const host = before[0]?.callSid;
    if (!host) throw new Error(`conference ${conferenceSid} has no participants: nothing to mute`);
    const { batch, deadLettered } = await muteAllButHost(
      ctx,
      config,
      conferenceSid,
      host,
      () => {},
    );
    const counts = countsOf(batch);
    const applied = await counterTotal(ctx.metrics.requests, (l) => l.status_class === '2xx');
    const summary: DemoSummary = {
      mode: 'real',
      batchId: batch.id,
      conferenceSid,
      host,
      participants: before.length,
      ...counts,
      deadLetteredCallSids: deadLettered,
      retries: await counterTotal(ctx.metrics.retries),
      rateLimited: await counterTotal(ctx.metrics.rateLimited),
      requests: await counterTotal(ctx.metrics.requests),
      requestRate: applied / Math.max(0.001, counts.elapsedMs / 1000),
      ...verify({ present: await present() }, host, deadLettered),
    };
    await ctx.finish(summary, config);
    return { summary, config };
  } finally {
    await client.close();
  }
}
