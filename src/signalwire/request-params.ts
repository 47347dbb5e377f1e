/**
 * Encodes what the client sends besides the path: the update form and the list queries,
 * in the API's exact parameter names, booleans as `true` / `false`. Values are checked
 * here so a typo (`muted`, `HoldMethod: 'PUT'`) fails before any request is made.
 */
import { ValidationError } from '../errors.js';
import type { ListConferencesOptions, ListParticipantsOptions } from './api.js';
import {
  UPDATE_PARAM_NAMES,
  type ConferenceStatus,
  type UpdateParticipantParams,
} from './types.js';

/** Largest page the API serves. */
export const MAX_PAGE_SIZE = 1000;
/** Page size used when the caller names none: the fewest requests for a large conference. */
export const DEFAULT_PAGE_SIZE = 1000;
/** Longest `FriendlyName` filter the API accepts. */
export const MAX_FRIENDLY_NAME_LENGTH = 64;

const BOOLEAN_PARAMS = new Set<string>(['Muted', 'Hold', 'Coaching']);
const METHOD_PARAMS = new Set<string>(['HoldMethod', 'AnnounceMethod', 'WaitMethod']);
const CONFERENCE_STATUSES: readonly ConferenceStatus[] = ['init', 'in-progress', 'completed'];

function checkParam(name: string, value: unknown): string {
  const field = `params.${name}`;
  if (BOOLEAN_PARAMS.has(name)) {
    if (typeof value !== 'boolean')
      throw new ValidationError(`${field} must be true or false`, field);
    return String(value);
  }
  if (METHOD_PARAMS.has(name)) {
    if (value !== 'GET' && value !== 'POST')
      throw new ValidationError(`${field} must be GET or POST`, field);
    return value;
  }
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ValidationError(`${field} must be a non-empty string`, field);
  }
  return value;
}

/**
 * Method sent with a `HoldUrl` given without one. SignalWire's published description says
 * `GET`, its earlier pages and SDKs said `POST`; sending it every time makes the music's
 * request the same whichever default the API applies.
 */
export const DEFAULT_HOLD_METHOD = 'GET';

/**
 * The `application/x-www-form-urlencoded` body of a participant update. Undefined values
 * are left out; unknown names are refused; `HoldMethod` is sent whenever `HoldUrl` is.
 * @throws ValidationError naming the parameter and what it allows.
 */
export function encodeUpdateParams(params: UpdateParticipantParams): string {
  const known = new Set<string>(UPDATE_PARAM_NAMES);
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (!known.has(name)) {
      throw new ValidationError(
        `params.${name} is not an update parameter; allowed: ${UPDATE_PARAM_NAMES.join(', ')}`,
        `params.${name}`,
      );
    }
    if (value !== undefined) form.append(name, checkParam(name, value));
  }
  if (form.has('HoldUrl') && !form.has('HoldMethod'))
    form.append('HoldMethod', DEFAULT_HOLD_METHOD);
  return form.toString();
}

function pageSizeOf(pageSize: number | undefined): string {
  const size = pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw new ValidationError(
      `pageSize must be a whole number from 1 to ${MAX_PAGE_SIZE}; got ${String(pageSize)}`,
      'pageSize',
    );
  }
  return String(size);
}

function booleanFilter(query: URLSearchParams, name: string, field: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'boolean')
    throw new ValidationError(`${field} must be true or false`, field);
  query.set(name, String(value));
}

/**
 * Query string (without `?`) of the first page of a participant list.
 * @throws ValidationError for a page size outside 1..1000 or a non-boolean filter.
 */
export function participantsQuery(options: ListParticipantsOptions): string {
  const query = new URLSearchParams();
  booleanFilter(query, 'Muted', 'muted', options.muted);
  booleanFilter(query, 'Hold', 'hold', options.hold);
  query.set('PageSize', pageSizeOf(options.firstPageSize ?? options.pageSize));
  if (options.firstPageSize !== undefined) pageSizeOf(options.pageSize);
  return query.toString();
}

/**
 * Query string (without `?`) of the first page of a conference list.
 * @throws ValidationError for a bad page size, status or friendly name.
 */
export function conferencesQuery(options: ListConferencesOptions): string {
  const query = new URLSearchParams();
  const { friendlyName, status } = options;
  if (friendlyName !== undefined) {
    if (
      typeof friendlyName !== 'string' ||
      friendlyName === '' ||
      friendlyName.length > MAX_FRIENDLY_NAME_LENGTH
    ) {
      throw new ValidationError(
        `friendlyName must be 1 to ${MAX_FRIENDLY_NAME_LENGTH} characters`,
        'friendlyName',
      );
    }
    query.set('FriendlyName', friendlyName);
  }
  if (status !== undefined) {
    if (!CONFERENCE_STATUSES.includes(status)) {
      throw new ValidationError(
        `status must be one of ${CONFERENCE_STATUSES.join(', ')}; got '${String(status)}'`,
        'status',
      );
    }
    query.set('Status', status);
  }
  query.set('PageSize', pageSizeOf(options.pageSize));
  return query.toString();
}
