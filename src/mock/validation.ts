/**
 * Parameter checks of the Compatibility API, answered as the API answers them: 400 with
 * a SignalWire error body naming the parameter and what it accepts.
 *
 * Codes are SignalWire's: 10000 for an invalid argument and for a required one left blank.
 * Choices where the API's behaviour is not documented:
 * - `Coaching=true` without `CallSidToCoach` is 422 (code 10000): each parameter is
 *   well-formed, the combination is not.
 * - `CallSidToCoach` must be a UUID; a call not in the conference is 422 with code 16002
 *   (checked in compat-api.ts, which knows the conference).
 * - Unknown form parameters are ignored, as the API ignores them (the request log still
 *   shows them).
 */
import type { UpdateParticipantParams } from '../signalwire/types.js';
import { ErrorCode, type ApiError } from './responses.js';

export type Checked<T> = { ok: true; value: T } | { ok: false; error: ApiError };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const ok = <T>(value: T): Checked<T> => ({ ok: true, value });

/** A 400 naming `name`, what it accepts and (shortened) what it got. */
export function invalidParameter(
  name: string,
  allowed: string,
  got: string,
): { ok: false; error: ApiError } {
  const shown = got.length > 80 ? `${got.slice(0, 80)}...` : got;
  return {
    ok: false,
    error: {
      status: 400,
      code: ErrorCode.invalidArgument,
      message: `Invalid parameter ${name}: must be ${allowed}; got '${shown}'`,
    },
  };
}

/** `true`/`false` or absent. */
export function booleanParam(params: URLSearchParams, name: string): Checked<boolean | undefined> {
  const raw = params.get(name);
  if (raw === null) return ok(undefined);
  if (raw === 'true') return ok(true);
  if (raw === 'false') return ok(false);
  return invalidParameter(name, 'true or false', raw);
}

/** An http(s) URL of at most 2048 characters, or absent. */
export function urlParam(params: URLSearchParams, name: string): Checked<string | undefined> {
  const raw = params.get(name);
  if (raw === null) return ok(undefined);
  let protocol: string | undefined;
  try {
    protocol = new URL(raw).protocol;
  } catch {
    protocol = undefined;
  }
  if (raw.length <= 2048 && (protocol === 'http:' || protocol === 'https:')) return ok(raw);
  return invalidParameter(name, 'an http:// or https:// URL of at most 2048 characters', raw);
}

function methodParam(params: URLSearchParams, name: string): Checked<'GET' | 'POST' | undefined> {
  const raw = params.get(name);
  if (raw === null) return ok(undefined);
  if (raw === 'GET' || raw === 'POST') return ok(raw);
  return invalidParameter(name, 'GET or POST', raw);
}

function sidParam(params: URLSearchParams, name: string): Checked<string | undefined> {
  const raw = params.get(name);
  if (raw === null) return ok(undefined);
  return UUID.test(raw) ? ok(raw) : invalidParameter(name, 'a call SID (UUID)', raw);
}

type Field = keyof UpdateParticipantParams;

const FIELD_PARSERS: [Field, (p: URLSearchParams, n: string) => Checked<unknown>][] = [
  ['Muted', booleanParam],
  ['Hold', booleanParam],
  ['HoldUrl', urlParam],
  ['HoldMethod', methodParam],
  ['AnnounceUrl', urlParam],
  ['AnnounceMethod', methodParam],
  ['WaitUrl', urlParam],
  ['WaitMethod', methodParam],
  ['Coaching', booleanParam],
  ['CallSidToCoach', sidParam],
];

/** The form of `POST .../Participants/{CallSid}`, checked parameter by parameter. */
export function parseUpdateForm(form: URLSearchParams): Checked<UpdateParticipantParams> {
  const params: Record<string, unknown> = {};
  for (const [name, parse] of FIELD_PARSERS) {
    const checked = parse(form, name);
    if (!checked.ok) return checked;
    if (checked.value !== undefined) params[name] = checked.value;
  }
  const update = params as UpdateParticipantParams;
  if (update.Coaching === true && update.CallSidToCoach === undefined) {
    return {
      ok: false,
      error: {
        status: 422,
        code: ErrorCode.invalidArgument,
        message: 'Invalid parameter CallSidToCoach: required when Coaching is true',
      },
    };
  }
  return ok(update);
}
