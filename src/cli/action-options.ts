/**
 * The flags of a bulk action (target, parameters, request options) and their translation
 * into a BulkActionRequest. Shared by the action commands and `schedule add <action>`.
 */
import { Option, type Command } from 'commander';
import { parseSetOptions } from '../dead-letters/set-option.js';
import { ValidationError } from '../errors.js';
import type { BulkActionName, BulkActionRequest } from '../types.js';
import { UPDATE_PARAM_NAMES, type UpdateParticipantParams } from '../signalwire/types.js';
import { collect, parseBool, parseHttpUrl } from './options.js';

/** A flag that sets one update parameter. */
interface ParamFlag {
  flags: string;
  description: string;
  param: keyof UpdateParticipantParams;
  parse?: (value: string) => string;
  required?: boolean;
}

export interface ActionSpec {
  action: BulkActionName;
  summary: string;
  params: ParamFlag[];
  /** `update`: parameters come from repeatable `--set Param=Value`. */
  setPairs?: boolean;
}

const METHODS = ['GET', 'POST'];

const holdUrl = (required: boolean): ParamFlag => ({
  flags: '--hold-url <url>',
  description: 'music played to participants on hold (HoldUrl; http:// or https://)',
  param: 'HoldUrl',
  parse: parseHttpUrl,
  required,
});
const holdMethod: ParamFlag = {
  flags: '--hold-method <method>',
  description: 'HTTP method used to fetch --hold-url (HoldMethod; API default GET)',
  param: 'HoldMethod',
};

/** Every action command, in the order `--help` lists them. */
export const ACTION_SPECS: ActionSpec[] = [
  { action: 'mute', summary: 'mute participants (Muted=true)', params: [] },
  { action: 'unmute', summary: 'unmute participants (Muted=false)', params: [] },
  {
    action: 'hold',
    summary: 'put participants on hold (Hold=true), optionally with hold music',
    params: [holdUrl(false), holdMethod],
  },
  { action: 'unhold', summary: 'take participants off hold (Hold=false)', params: [] },
  {
    action: 'hold-music',
    summary: 'set the music played to participants on hold (HoldUrl; only participants on hold)',
    params: [holdUrl(true), holdMethod],
  },
  {
    action: 'wait-music',
    summary: 'set the music played before the conference starts (WaitUrl)',
    params: [
      {
        flags: '--wait-url <url>',
        description:
          'music played while waiting for the conference to start (WaitUrl; http:// or https://)',
        param: 'WaitUrl',
        parse: parseHttpUrl,
        required: true,
      },
      {
        flags: '--wait-method <method>',
        description: 'HTTP method used to fetch --wait-url (WaitMethod; API default POST)',
        param: 'WaitMethod',
      },
    ],
  },
  {
    action: 'announce',
    summary: 'play an announcement to participants (AnnounceUrl; not idempotent: never sent twice)',
    params: [
      {
        flags: '--announce-url <url>',
        description: 'announcement played to each participant (AnnounceUrl; http:// or https://)',
        param: 'AnnounceUrl',
        parse: parseHttpUrl,
        required: true,
      },
      {
        flags: '--announce-method <method>',
        description: 'HTTP method used to fetch --announce-url (AnnounceMethod; API default POST)',
        param: 'AnnounceMethod',
      },
    ],
  },
  {
    action: 'coach',
    summary: 'make participants coaches of one call (Coaching=true)',
    params: [
      {
        flags: '--call-sid-to-coach <sid>',
        description: 'the call the participants coach (CallSidToCoach; a call SID)',
        param: 'CallSidToCoach',
        required: true,
      },
    ],
  },
  { action: 'remove', summary: 'remove (kick) participants from the conference', params: [] },
  {
    action: 'update',
    summary: 'send any documented participant parameters (--set Param=Value, repeatable)',
    params: [],
    setPairs: true,
  },
];

/** Adds the flags that pick the participants. */
export function addTargetOptions(cmd: Command): void {
  cmd
    .addOption(
      new Option('--conference <sid>', 'the conference, by SID').conflicts('conferenceName'),
    )
    .addOption(
      new Option(
        '--conference-name <name>',
        'the in-progress conference with this friendly name (resolved when the batch starts)',
      ).conflicts('conference'),
    )
    .option(
      '--newest',
      'with --conference-name: when several in-progress conferences have the name, take the newest (default: refuse)',
    )
    .option(
      '--call <sid...>',
      'only these participants, by call SID (repeatable; needs --conference); default: every participant',
    )
    .option(
      '--except <sid...>',
      'leave these participants alone, by call SID (repeatable), e.g. the host',
    )
    .addOption(
      new Option(
        '--filter-muted <bool>',
        'only participants whose muted state is <bool> (true or false)',
      ).argParser(parseBool),
    )
    .addOption(
      new Option(
        '--filter-hold <bool>',
        'only participants whose hold state is <bool> (true or false)',
      ).argParser(parseBool),
    );
}

/** Adds the action's parameter flags. */
export function addParamOptions(cmd: Command, spec: ActionSpec): void {
  for (const p of spec.params) {
    const option = new Option(p.flags, p.required ? `${p.description} (required)` : p.description);
    if (p.parse) option.argParser(p.parse);
    if (p.flags.includes('method')) option.choices(METHODS);
    if (p.required) option.makeOptionMandatory();
    cmd.addOption(option);
  }
  if (spec.setPairs) {
    cmd.addOption(
      new Option(
        '--set <Param=Value>',
        `an update parameter, repeatable (at least one; required); Param is one of ${UPDATE_PARAM_NAMES.join(', ')}`,
      )
        .argParser(collect)
        .makeOptionMandatory(),
    );
  }
}

/** Adds `--space`, `--idempotency-key` and `--webhook-url`. */
export function addRequestOptions(cmd: Command): void {
  cmd
    .option('--space <name>', 'space profile whose credentials and rate limit are used', 'default')
    .option(
      '--idempotency-key <key>',
      'the same key within 24 h returns the existing batch instead of creating another ([A-Za-z0-9._:-], at most 200)',
    )
    .addOption(
      new Option(
        '--webhook-url <url>',
        'URL POSTed the finished batch (HMAC-SHA256 signed) when it completes or fails',
      ).argParser(parseHttpUrl),
    );
}

/** Option values of an action command, as commander hands them over. */
export interface ActionOptionValues {
  conference?: string;
  conferenceName?: string;
  newest?: boolean;
  call?: string[];
  except?: string[];
  filterMuted?: boolean;
  filterHold?: boolean;
  space: string;
  idempotencyKey?: string;
  webhookUrl?: string;
  set?: string[];
  [flag: string]: unknown;
}

/** Builds the request of an action command. @throws ValidationError */
export function requestFromOptions(spec: ActionSpec, opts: ActionOptionValues): BulkActionRequest {
  if (!opts.conference && !opts.conferenceName) {
    throw new ValidationError(
      'one of --conference <sid> or --conference-name <name> is required',
      'target.conferenceSid',
    );
  }
  const filter: { muted?: boolean; hold?: boolean } = {};
  if (opts.filterMuted !== undefined) filter.muted = opts.filterMuted;
  if (opts.filterHold !== undefined) filter.hold = opts.filterHold;
  const params: Record<string, unknown> = spec.setPairs
    ? { ...parseSetOptions(opts.set ?? []) }
    : {};
  for (const p of spec.params) {
    const key = camelKey(p.flags);
    if (opts[key] !== undefined) params[p.param] = opts[key];
  }
  return {
    action: spec.action,
    space: opts.space,
    target: {
      ...(opts.conference !== undefined && { conferenceSid: opts.conference }),
      ...(opts.conferenceName !== undefined && { conferenceName: opts.conferenceName }),
      ...(opts.newest === true && { newest: true }),
      ...(opts.call !== undefined && { callSids: opts.call }),
      ...(opts.except !== undefined && { except: opts.except }),
      ...(Object.keys(filter).length > 0 && { filter }),
    },
    ...(Object.keys(params).length > 0 && { params: params as UpdateParticipantParams }),
    ...(opts.idempotencyKey !== undefined && { idempotencyKey: opts.idempotencyKey }),
    ...(opts.webhookUrl !== undefined && { webhookUrl: opts.webhookUrl }),
  };
}

/** `--hold-url <url>` -> `holdUrl`, as commander names option values. */
function camelKey(flags: string): string {
  const long = flags.split(/[ ,]+/).find((f) => f.startsWith('--')) ?? '';
  return long.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Library field paths and the flags that set them, to point error messages at a flag. */
const FIELD_FLAGS: Record<string, string> = {
  space: '--space',
  idempotencyKey: '--idempotency-key',
  webhookUrl: '--webhook-url',
  'target.conferenceSid': '--conference',
  'target.conferenceName': '--conference-name',
  'target.newest': '--newest',
  'target.callSids': '--call',
  'target.except': '--except',
  'target.filter.muted': '--filter-muted',
  'target.filter.hold': '--filter-hold',
  'params.HoldUrl': '--hold-url',
  'params.HoldMethod': '--hold-method',
  'params.WaitUrl': '--wait-url',
  'params.WaitMethod': '--wait-method',
  'params.AnnounceUrl': '--announce-url',
  'params.AnnounceMethod': '--announce-method',
  'params.CallSidToCoach': '--call-sid-to-coach',
  name: '--name',
  at: '--at',
  cron: '--cron',
  tz: '--tz',
};

/** The flag behind a library field path (`target.callSids.2` -> `--call`), if any. */
export function flagOfField(field: string | undefined): string | undefined {
  if (!field) return undefined;
  const path = field
    .replace(/^request\./, '')
    .replace(/\[\d+\]/g, '')
    .split('.')
    .filter((part) => !/^\d+$/.test(part))
    .join('.');
  return FIELD_FLAGS[path] ?? (path.startsWith('params.') ? '--set' : undefined);
}
