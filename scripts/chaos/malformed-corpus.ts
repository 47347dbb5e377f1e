/**
 * The malformed requests of the chaos run: command lines that `confbulk` must refuse with
 * exit code 2 and a message naming the flag or field, and HTTP requests the API must
 * refuse with 400 naming the field. Each is wrong in one way only.
 */

export const CONFERENCE_SID = '4f1b6e6a-1111-4000-8000-000000000001';
export const CALL_SID = '4f1b6e6a-2222-4000-8000-000000000002';

const conf = ['--conference', CONFERENCE_SID];

export interface CliCase {
  args: string[];
  /** What the message must name. */
  names: RegExp;
}

export const CLI_CASES: CliCase[] = [
  { args: ['mute'], names: /--conference/ },
  { args: ['mute', '--conference', 'not-a-sid'], names: /--conference/ },
  { args: ['mute', ...conf, '--conference-name', 'standup'], names: /--conference-name/ },
  { args: ['unmute', ...conf, '--call', 'nope'], names: /--call/ },
  { args: ['mute', ...conf, '--except', 'CF123'], names: /--except/ },
  { args: ['mute', ...conf, '--filter-muted', 'maybe'], names: /--filter-muted/ },
  { args: ['hold', ...conf, '--filter-hold', 'sometimes'], names: /--filter-hold/ },
  { args: ['hold-music', ...conf], names: /--hold-url/ },
  { args: ['hold', ...conf, '--hold-url', 'ftp://x.test/a.mp3'], names: /--hold-url/ },
  {
    args: ['hold', ...conf, '--hold-url', 'https://x.test/a.mp3', '--hold-method', 'PUT'],
    names: /--hold-method/,
  },
  { args: ['wait-music', ...conf, '--wait-url', 'not a url'], names: /--wait-url/ },
  { args: ['announce', ...conf], names: /--announce-url/ },
  { args: ['announce', ...conf, '--announce-url', 'javascript:alert(1)'], names: /--announce-url/ },
  {
    args: ['coach', ...conf, '--call-sid-to-coach', 'x'],
    names: /--call-sid-to-coach|CallSidToCoach/,
  },
  { args: ['update', ...conf], names: /--set/ },
  { args: ['update', ...conf, '--set', 'Volume=3'], names: /Volume/ },
  { args: ['update', ...conf, '--set', 'Muted=perhaps'], names: /Muted/ },
  { args: ['mute', ...conf, '--space', 'nowhere'], names: /space/ },
  {
    args: ['mute', ...conf, '--idempotency-key', 'two words'],
    names: /--idempotency-key|idempotencyKey/,
  },
  { args: ['mute', ...conf, '--webhook-url', 'nope'], names: /--webhook-url/ },
  { args: ['mute', ...conf, '--wait', '--wait-timeout', '-1'], names: /--wait-timeout/ },
  {
    args: ['schedule', 'add', 'mute', '--name', 'n', '--cron', 'whenever', ...conf],
    names: /cron/,
  },
  {
    args: ['schedule', 'add', 'mute', '--name', 'n', '--at', '2000-01-01T00:00:00Z', ...conf],
    names: /\bat\b/,
  },
  { args: ['batches', '--limit', '0'], names: /--limit/ },
  { args: ['dlq', 'replay', '--all', '--set', 'HoldUrl=ftp://x'], names: /HoldUrl/ },
];

export interface HttpCase {
  name: string;
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  /** JSON body; a string is sent as it is. */
  body?: unknown;
  /** The field the answer must name (`field`, and the message starts with it). */
  field: string;
}

const target = { conferenceSid: CONFERENCE_SID };
const bulk = (name: string, body: unknown, field: string): HttpCase => ({
  name,
  method: 'POST',
  url: '/v1/bulk-actions',
  body,
  field,
});

export const HTTP_CASES: HttpCase[] = [
  bulk('empty object', {}, 'action'),
  bulk('unknown action', { action: 'explode', target }, 'action'),
  bulk('no target', { action: 'mute' }, 'target'),
  bulk(
    'conference SID not a UUID',
    { action: 'mute', target: { conferenceSid: 'CF-nope' } },
    'target.conferenceSid',
  ),
  bulk(
    'conference by SID and name',
    { action: 'mute', target: { ...target, conferenceName: 'standup' } },
    'target.conferenceName',
  ),
  bulk(
    'empty conference name',
    { action: 'mute', target: { conferenceName: '' } },
    'target.conferenceName',
  ),
  bulk(
    'call SID not a UUID',
    { action: 'mute', target: { ...target, callSids: [CALL_SID, 'nope'] } },
    'target.callSids[1]',
  ),
  bulk(
    'except not an array',
    { action: 'mute', target: { ...target, except: CALL_SID } },
    'target.except',
  ),
  bulk(
    'filter not a boolean',
    { action: 'mute', target: { ...target, filter: { muted: 'yes' } } },
    'target.filter.muted',
  ),
  bulk(
    'unknown filter',
    { action: 'mute', target: { ...target, filter: { loud: true } } },
    'target.filter.loud',
  ),
  bulk(
    'HoldUrl not http(s)',
    { action: 'hold', target, params: { HoldUrl: 'ftp://x.test/a.mp3' } },
    'params.HoldUrl',
  ),
  bulk(
    'HoldMethod not GET/POST',
    { action: 'hold', target, params: { HoldUrl: 'https://x.test/a.mp3', HoldMethod: 'PUT' } },
    'params.HoldMethod',
  ),
  bulk('hold-music without HoldUrl', { action: 'hold-music', target }, 'params.HoldUrl'),
  bulk('announce without AnnounceUrl', { action: 'announce', target }, 'params.AnnounceUrl'),
  bulk(
    'parameter the action sets itself',
    { action: 'mute', target, params: { Muted: false } },
    'params.Muted',
  ),
  bulk('unknown parameter', { action: 'update', target, params: { Volume: 3 } }, 'params.Volume'),
  bulk('coach without CallSidToCoach', { action: 'coach', target }, 'params.CallSidToCoach'),
  bulk('unknown top-level field', { action: 'mute', target, priority: 1 }, 'priority'),
  bulk('space name malformed', { action: 'mute', target, space: 'Bad Space!' }, 'space'),
  bulk('space not configured', { action: 'mute', target, space: 'nowhere' }, 'space'),
  bulk(
    'idempotency key with spaces',
    { action: 'mute', target, idempotencyKey: 'two words' },
    'idempotencyKey',
  ),
  bulk('webhook URL not a URL', { action: 'mute', target, webhookUrl: 'not a url' }, 'webhookUrl'),
  bulk('body is an array', [{ action: 'mute', target }], 'body'),
  bulk('JSON that does not parse', '{"action": "mute", ', 'body'),
  {
    name: 'schedule with a bad name',
    method: 'POST',
    url: '/v1/schedules',
    body: { name: 'no spaces allowed', cron: '* * * * *', request: { action: 'mute', target } },
    field: 'name',
  },
  {
    name: 'schedule whose request is invalid',
    method: 'POST',
    url: '/v1/schedules',
    body: {
      name: 'nightly',
      cron: '0 3 * * *',
      request: { action: 'mute', target: { conferenceSid: 'nope' } },
    },
    field: 'request.target.conferenceSid',
  },
  {
    name: 'replay by ids and all',
    method: 'POST',
    url: '/v1/dead-letters/replay',
    body: { ids: ['b_0.4f1b6e6a-2222-4000-8000-000000000002'], all: true },
    field: 'all',
  },
  {
    name: 'dead-letter id naming a BullMQ key',
    method: 'GET',
    url: '/v1/dead-letters/meta',
    field: 'id',
  },
  {
    name: 'replay of an id that is no dead-letter id',
    method: 'POST',
    url: '/v1/dead-letters/replay',
    body: { ids: ['meta'] },
    field: 'ids[0]',
  },
  {
    name: 'replay with a bad HoldUrl',
    method: 'POST',
    url: '/v1/dead-letters/replay',
    body: { all: true, set: { HoldUrl: 'ftp://x' } },
    field: 'set.HoldUrl',
  },
  { name: 'batch list limit 0', method: 'GET', url: '/v1/batches?limit=0', field: 'limit' },
];
