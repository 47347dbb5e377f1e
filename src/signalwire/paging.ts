/**
 * Walks a list resource page by page, following `next_page_uri` exactly as the API gives
 * it: the API's paging tokens are opaque, and computing pages ourselves would skip or
 * repeat items while participants leave.
 */
import { readListPage, type ListKey } from './answers.js';
import { malformedAnswer, type Redact } from './failures.js';
import type { Exchange, HttpTransport } from './transport.js';
import type { ResponseMeta } from './types.js';

export interface PagingContext {
  transport: Pick<HttpTransport, 'send'>;
  /** Origin of the space: the only one the credentials are sent to. */
  origin: string;
  redact: Redact;
}

/**
 * The path of the next page; a relative `next_page_uri` is resolved against the space
 * origin. Refuses another origin and a page already visited (a loop).
 * @throws SignalWireError (kind `invalid` for another origin, `transient` otherwise).
 */
export function nextPagePath(
  context: PagingContext,
  answered: { exchange: Exchange; meta: ResponseMeta },
  next: string | null,
  visited: ReadonlySet<string>,
): string | undefined {
  if (next === null) return undefined;
  const { exchange, meta } = answered;
  let url: URL;
  try {
    url = new URL(next, context.origin);
  } catch {
    throw malformedAnswer(exchange, meta, `an unreadable next_page_uri '${next}'`, context.redact);
  }
  if (url.origin !== context.origin) {
    const problem = `a next_page_uri on another origin (${url.origin}); not sending the space's credentials there`;
    throw malformedAnswer(exchange, { ...meta, kind: 'invalid' }, problem, context.redact);
  }
  const path = `${url.pathname}${url.search}`;
  if (visited.has(path)) {
    const problem = `a next_page_uri that repeats an earlier page (${path})`;
    throw malformedAnswer(exchange, meta, problem, context.redact);
  }
  return path;
}

/** Every page of the list at `firstPath` (path and query), items under `key`. */
export async function* listPages<T>(
  context: PagingContext,
  firstPath: string,
  key: ListKey,
  signal: AbortSignal | undefined,
  /** Page size of the pages after the first, when they page by token. */
  laterPageSize?: number,
): AsyncGenerator<T[]> {
  const visited = new Set<string>();
  let path: string | undefined = firstPath;
  while (path !== undefined) {
    visited.add(path);
    const exchange: Exchange = { method: 'GET', path, signal };
    const { body, meta } = await context.transport.send(exchange);
    const page = readListPage<ListKey, T>(body, key);
    if (!page) throw malformedAnswer(exchange, meta, `no ${key} array`, context.redact);
    yield page.items;
    path = nextPagePath(context, { exchange, meta }, page.next_page_uri, visited);
    if (path !== undefined && laterPageSize !== undefined) path = resized(path, laterPageSize);
  }
}

/**
 * A next page's path with another `PageSize`, when it pages by `PageToken` (items after a
 * position, so the size may change); an offset (`Page` alone) keeps the size it was given.
 */
function resized(path: string, pageSize: number): string {
  const at = path.indexOf('?');
  if (at < 0) return path;
  const query = new URLSearchParams(path.slice(at + 1));
  if (!query.has('PageToken') || !query.has('PageSize')) return path;
  query.set('PageSize', String(pageSize));
  return `${path.slice(0, at)}?${query.toString()}`;
}

/** The items of every page, one by one. */
export async function* flatten<T>(pages: AsyncIterable<T[]>): AsyncGenerator<T> {
  for await (const page of pages) yield* page;
}
