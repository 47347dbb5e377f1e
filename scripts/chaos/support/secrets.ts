/**
 * The secret scan: a credential must appear in no Redis key or value and in no log line.
 * Every key is read according to its TYPE (GET, HGETALL, LRANGE, SMEMBERS, ZRANGE, XRANGE;
 * DUMP for anything else), and each credential is looked for in the forms it can leak in:
 * as it is, URL-encoded, and inside the Basic authorization header (base64 of `sid:token`).
 */
import { scanAll, type RedisConnection } from '../../../src/queues.js';

/** The forms in which `token` could leak. */
export function credentialForms(accountSid: string, token: string): string[] {
  const forms = new Set([
    token,
    encodeURIComponent(token),
    Buffer.from(`${accountSid}:${token}`).toString('base64'),
  ]);
  return [...forms].filter((f) => f.length >= 8);
}

async function allKeys(redis: RedisConnection): Promise<string[]> {
  return scanAll(redis);
}

function readByType(
  pipeline: ReturnType<RedisConnection['pipeline']>,
  key: string,
  type: string,
): void {
  switch (type) {
    case 'string':
      pipeline.get(key);
      break;
    case 'hash':
      pipeline.hgetall(key);
      break;
    case 'list':
      pipeline.lrange(key, 0, -1);
      break;
    case 'set':
      pipeline.smembers(key);
      break;
    case 'zset':
      pipeline.zrange(key, 0, -1, 'WITHSCORES');
      break;
    case 'stream':
      pipeline.xrange(key, '-', '+');
      break;
    default:
      pipeline.dumpBuffer(key);
  }
}

function textOf(value: unknown): string {
  if (Buffer.isBuffer(value)) return value.toString('latin1');
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export interface RedisScan {
  keys: number;
  /** Keys whose name or value holds a credential. */
  hits: string[];
}

/** Reads every key of the server; returns those holding any of `needles`. */
export async function scanRedis(
  redis: RedisConnection,
  needles: readonly string[],
): Promise<RedisScan> {
  const hits: string[] = [];
  // A pipeline of a Redis Cluster holds keys of one slot: keys are read by hash tag.
  const byTag = new Map<string, string[]>();
  for (const key of await allKeys(redis)) {
    const tag = /\{[^}]+\}/.exec(key)?.[0] ?? key;
    const group = byTag.get(tag);
    if (group) group.push(key);
    else byTag.set(tag, [key]);
  }
  const chunks = [...byTag.values()].flatMap((keys) =>
    Array.from({ length: Math.ceil(keys.length / 500) }, (_, i) =>
      keys.slice(i * 500, i * 500 + 500),
    ),
  );
  let scanned = 0;
  for (const chunk of chunks) {
    scanned += chunk.length;
    const types = ((await redis.pipeline(chunk.map((k) => ['type', k])).exec()) ?? []).map(
      ([, t]) => String(t),
    );
    const reads = redis.pipeline();
    chunk.forEach((key, j) => readByType(reads, key, types[j] ?? 'none'));
    const values = (await reads.exec()) ?? [];
    chunk.forEach((key, j) => {
      const text = `${key}\n${textOf(values[j]?.[1])}`;
      if (needles.some((n) => text.includes(n))) hits.push(key);
    });
  }
  return { keys: scanned, hits };
}

export interface TextScan {
  lines: number;
  /** `name: line` of every line holding a credential (cut to 200 characters). */
  hits: string[];
}

/** Looks for `needles` in every line of the transcripts. */
export function scanTranscripts(
  transcripts: readonly { name: string; text: string }[],
  needles: readonly string[],
): TextScan {
  let lines = 0;
  const hits: string[] = [];
  for (const { name, text } of transcripts) {
    for (const line of text.split('\n')) {
      if (line === '') continue;
      lines++;
      if (needles.some((n) => line.includes(n))) hits.push(`${name}: ${line.slice(0, 200)}`);
    }
  }
  return { lines, hits };
}
