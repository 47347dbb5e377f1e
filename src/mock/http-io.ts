/** Reading request bodies and writing answers on raw `node:http` objects. */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ApiAnswer } from './responses.js';

const JSON_TYPE = 'application/json; charset=utf-8';

/** Reads a request body as UTF-8; null when it exceeds `limit` bytes (the rest is drained). */
export function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Writes `answer` with `headers`; the answer's own headers win. */
export function writeAnswer(
  res: ServerResponse,
  answer: ApiAnswer,
  headers: OutgoingHttpHeaders,
): void {
  const all: OutgoingHttpHeaders = { ...headers, ...answer.headers };
  if (answer.body !== undefined) {
    all['Content-Type'] = answer.contentType ?? JSON_TYPE;
    all['Content-Length'] = Buffer.byteLength(answer.body);
  }
  res.writeHead(answer.status, all);
  res.end(answer.body);
}
