/**
 * Paging of list resources, as the Compatibility API pages: `PageSize` (1..1000, default
 * 50), zero-based `Page`, and an opaque `PageToken` the server hands out in
 * `next_page_uri` (`PA...`: items after a position) and `previous_page_uri` (`PB...`:
 * items before one). The token is `PA`/`PB` + base64url of an item's paging sequence
 * number, so a page stays stable while items before it leave, as a cursor should.
 * Without a token, `Page` is an offset of `Page * PageSize` items.
 */
import { invalidParameter, type Checked } from './validation.js';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

export interface PageRequest {
  pageSize: number;
  page: number;
  /** The `PageToken` as received, echoed in `uri`. */
  token: string | undefined;
  /** `PA` cursor: items with a larger sequence number. */
  after: number | undefined;
  /** `PB` cursor: items with a smaller sequence number. */
  before: number | undefined;
}

export interface Page<T> {
  items: T[];
  hasNext: boolean;
}

export function encodePageToken(direction: 'PA' | 'PB', seq: number): string {
  return direction + Buffer.from(String(seq)).toString('base64url');
}

function decodePageToken(token: string): { direction: 'PA' | 'PB'; seq: number } | undefined {
  const m = /^(PA|PB)([A-Za-z0-9_-]+)$/.exec(token);
  if (!m?.[1] || !m[2]) return undefined;
  const text = Buffer.from(m[2], 'base64url').toString('utf8');
  if (!/^\d{1,15}$/.test(text)) return undefined;
  return { direction: m[1] as 'PA' | 'PB', seq: Number(text) };
}

export function parsePageRequest(query: URLSearchParams): Checked<PageRequest> {
  const size = query.get('PageSize');
  const pageSize = size === null ? DEFAULT_PAGE_SIZE : Number(size);
  if (!/^\d+$/.test(size ?? '50') || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    return invalidParameter('PageSize', `a whole number from 1 to ${MAX_PAGE_SIZE}`, size ?? '');
  }
  const pageText = query.get('Page');
  const page = pageText === null ? 0 : Number(pageText);
  if (!/^\d{1,9}$/.test(pageText ?? '0')) {
    return invalidParameter('Page', 'a whole number from 0', pageText ?? '');
  }
  const token = query.get('PageToken') ?? undefined;
  const cursor = token === undefined ? undefined : decodePageToken(token);
  if (token !== undefined && !cursor) {
    return invalidParameter('PageToken', 'a token from a previous page URI', token);
  }
  return {
    ok: true,
    value: {
      pageSize,
      page,
      token,
      after: cursor?.direction === 'PA' ? cursor.seq : undefined,
      before: cursor?.direction === 'PB' ? cursor.seq : undefined,
    },
  };
}

/** Selects one page of `items` (in ascending `seq` order) that pass `match`. */
export function selectPage<T extends { seq: number }>(
  items: Iterable<T>,
  match: (item: T) => boolean,
  request: PageRequest,
): Page<T> {
  return request.before === undefined
    ? pageForward(items, match, request)
    : pageBackward(items, match, request.before, request.pageSize);
}

function pageForward<T extends { seq: number }>(
  items: Iterable<T>,
  match: (item: T) => boolean,
  { after, page, pageSize }: PageRequest,
): Page<T> {
  const out: T[] = [];
  let skip = after === undefined ? page * pageSize : 0;
  for (const item of items) {
    if ((after !== undefined && item.seq <= after) || !match(item)) continue;
    if (skip > 0) {
      skip--;
      continue;
    }
    if (out.length === pageSize) return { items: out, hasNext: true };
    out.push(item);
  }
  return { items: out, hasNext: false };
}

function pageBackward<T extends { seq: number }>(
  items: Iterable<T>,
  match: (item: T) => boolean,
  before: number,
  pageSize: number,
): Page<T> {
  const earlier: T[] = [];
  let hasNext = false;
  for (const item of items) {
    if (!match(item)) continue;
    if (item.seq >= before) {
      hasNext = true;
      break;
    }
    earlier.push(item);
  }
  return { items: earlier.slice(-pageSize), hasNext };
}

/** The list envelope, with URIs a client follows as given. */
export function listEnvelope<T extends { seq: number }, J>(
  basePath: string,
  filters: [string, string][],
  request: PageRequest,
  page: Page<T>,
  key: string,
  toJson: (item: T) => J,
): Record<string, unknown> {
  const uri = (pageNo: number, token?: string): string => {
    const q = new URLSearchParams(filters);
    q.set('PageSize', String(request.pageSize));
    q.set('Page', String(pageNo));
    if (token !== undefined) q.set('PageToken', token);
    return `${basePath}.json?${q.toString()}`;
  };
  const first = page.items[0];
  const last = page.items[page.items.length - 1];
  return {
    uri: uri(request.page, request.token),
    first_page_uri: uri(0),
    next_page_uri:
      page.hasNext && last ? uri(request.page + 1, encodePageToken('PA', last.seq)) : null,
    previous_page_uri:
      request.page > 0 && first ? uri(request.page - 1, encodePageToken('PB', first.seq)) : null,
    page: request.page,
    page_size: request.pageSize,
    [key]: page.items.map(toJson),
  };
}
