/**
 * Reads 2xx answer bodies into the API's resources. Only what confbulk relies on is
 * checked (an object with its id, a list under its key); anything else is passed through
 * as the API sent it.
 */
import type { ListPage } from './types.js';

export type ListKey = 'participants' | 'conferences';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The body as a resource when it is an object whose `idField` is a string. */
export function readResource<T>(body: unknown, idField: string): T | undefined {
  return isRecord(body) && typeof body[idField] === 'string' ? (body as T) : undefined;
}

function nullableString(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** The body as a list page when its items are an array under `key`. */
export function readListPage<K extends ListKey, T>(
  body: unknown,
  key: K,
): ListPage<K, T> | undefined {
  if (!isRecord(body) || !Array.isArray(body[key])) return undefined;
  return {
    uri: typeof body.uri === 'string' ? body.uri : '',
    first_page_uri: typeof body.first_page_uri === 'string' ? body.first_page_uri : '',
    next_page_uri: nullableString(body.next_page_uri),
    previous_page_uri: nullableString(body.previous_page_uri),
    page: typeof body.page === 'number' ? body.page : 0,
    page_size:
      typeof body.page_size === 'number' ? body.page_size : (body[key] as unknown[]).length,
    items: body[key] as T[],
  };
}
