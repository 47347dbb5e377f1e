/**
 * The dashboard's batch view, next to bull-board and behind the same login: batches (not
 * raw jobs) of the spaces the viewer may see, filtered by space and state, each with a
 * progress bar, outcome counts, start and end, achieved rate and its reason; one batch
 * with its dead letters, which can be replayed or purged from there; and per space its
 * circuit, pause, limit, current use of the window and 429 streak. Server-rendered HTML,
 * no script (the page refreshes itself), forms posted to the same origin (the session
 * cookie is SameSite=Strict).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RedisConnection } from '../../queues.js';
import type { Principal } from '../../auth/access.js';
import { readSpaceView, type SpaceView } from '../../batches/reason/space-state.js';
import type { ConfbulkConfig } from '../../config.js';
import type { DeadLetters } from '../../dead-letters/dead-letters.js';
import type { DeadLetterEntry } from '../../dead-letters/types.js';
import type { Batch, BatchState, Confbulk } from '../../types.js';

export interface BatchViewOptions {
  confbulk: Confbulk;
  deadLetters: DeadLetters;
  redis: RedisConnection;
  config: Pick<ConfbulkConfig, 'prefix' | 'spaces'>;
}

const STATES: BatchState[] = ['listing', 'running', 'completed', 'failed'];

const STYLE = `
  body { font-family: system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
  header { background: #1d2330; color: #fff; padding: .7rem 1.2rem; display: flex; gap: 1.5rem; }
  header a { color: #cfd6e6; }
  main { padding: 1rem 1.2rem; }
  table { border-collapse: collapse; width: 100%; background: #fff; margin-bottom: 1.2rem; }
  th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #e3e6ec; font-size: .9rem; vertical-align: top; }
  progress { width: 9rem; }
  .reason { color: #8a4b00; }
  .failed { color: #b00020; }
  form.inline { display: inline; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; background: #fff; padding: 1rem; }
  dt { font-weight: 600; }
`;

function esc(text: unknown): string {
  return String(text).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

function mayView(principal: Principal | undefined, space: string): boolean {
  const spaces = principal?.spaces ?? '*';
  return spaces === '*' || spaces.includes(space);
}

function done(b: Batch): number {
  const c = b.counts;
  return c.succeeded + c.gone + c.superseded + c.deadLettered;
}

/** Outcomes per second from the start to the end (or now). */
function achievedRate(b: Batch, now: number): string {
  if (!b.startedAt) return '-';
  const end = b.finishedAt ? Date.parse(b.finishedAt) : now;
  const seconds = Math.max(0.001, (end - Date.parse(b.startedAt)) / 1000);
  return `${(done(b) / seconds).toFixed(1)}/s`;
}

function progress(b: Batch): string {
  const total = Math.max(b.counts.total, done(b));
  return `<progress max="${total || 1}" value="${done(b)}"></progress> ${done(b)}/${total}${b.state === 'listing' ? '+' : ''}`;
}

function reasonCell(b: Batch): string {
  if (!b.reason) return '';
  const cls = b.reason.code === 'failed' ? 'failed' : 'reason';
  return `<span class="${cls}" data-reason="${esc(b.reason.code)}">${esc(b.reason.message)}</span>`;
}

function page(title: string, base: string, body: string, refreshSeconds?: number): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
${refreshSeconds ? `<meta http-equiv="refresh" content="${refreshSeconds}">` : ''}
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body><header><strong>confbulk</strong><a href="${base}/batches">Batches</a><a href="${base}/queues">Queues</a><a href="${base}/logout">Log out</a></header>
<main>${body}</main></body></html>`;
}

function send(reply: FastifyReply, html: string): FastifyReply {
  return reply
    .header('cache-control', 'no-store')
    .header(
      'content-security-policy',
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    )
    .type('text/html; charset=utf-8')
    .send(html);
}

function spaceRow(
  name: string,
  limits: ConfbulkConfig['spaces'] extends ReadonlyMap<string, infer S> ? S : never,
  view: SpaceView,
): string {
  const { circuit, limiter } = view;
  const paused =
    limiter.pausedUntil !== undefined && limiter.pausedUntil > view.nowMs
      ? `until ${new Date(Date.now() + limiter.pausedUntil - view.nowMs).toISOString()}`
      : 'no';
  const windows = limits.rateLimits
    .map(
      (l, i) =>
        `${limiter.inWindows[i] ?? 0} of ${Math.floor(l.count * limiter.factor)} in ${l.durationMs / 1000} s`,
    )
    .join(', ');
  const first = limits.rateLimits[0];
  const rate = first
    ? `${((limiter.inWindows[0] ?? 0) / (first.durationMs / 1000)).toFixed(1)}/s`
    : '-';
  return `<tr data-space="${esc(name)}"><td>${esc(name)}</td><td>${esc(circuit.state)}${circuit.reason ? ` (${esc(circuit.reason)})` : ''}</td>
<td>${esc(paused)}</td><td>${esc(limits.rateLimits.map((l) => `${l.count}/${l.durationMs / 1000}s`).join(', '))}${limiter.factor < 1 ? ` x ${limiter.factor.toFixed(2)}` : ''}</td>
<td>${esc(rate)} (${esc(windows)})</td><td>${limiter.streak}</td></tr>`;
}

async function listPage(
  o: BatchViewOptions,
  base: string,
  request: FastifyRequest,
): Promise<string> {
  const query = request.query as { space?: string; state?: string };
  const principal = request.principal;
  const spaces = [...o.config.spaces.keys()].filter((s) => mayView(principal, s));
  const batches = (await o.confbulk.listBatches({ limit: 200 })).filter(
    (b) =>
      mayView(principal, b.space) &&
      (!query.space || b.space === query.space) &&
      (!query.state || b.state === query.state),
  );
  const now = Date.now();
  const views = await Promise.all(
    spaces.map(async (s) => {
      const profile = o.config.spaces.get(s);
      if (!profile) return '';
      return spaceRow(
        s,
        profile,
        await readSpaceView(o.redis, o.config.prefix, s, profile.rateLimits),
      );
    }),
  );
  const option = (value: string, current: string | undefined): string =>
    `<option value="${esc(value)}"${value === current ? ' selected' : ''}>${esc(value || 'all')}</option>`;
  const rows = batches
    .map(
      (
        b,
      ) => `<tr data-batch="${esc(b.id)}"><td><a href="${base}/batches/${encodeURIComponent(b.id)}">${esc(b.id)}</a></td>
<td>${esc(b.action)}</td><td>${esc(b.space)}</td><td>${esc(b.state)}</td><td>${progress(b)}</td>
<td>${b.counts.succeeded} / ${b.counts.gone} / ${b.counts.superseded} / ${b.counts.deadLettered}</td>
<td>${esc(b.startedAt ?? '-')}<br>${esc(b.finishedAt ?? '')}</td><td>${achievedRate(b, now)}</td><td>${reasonCell(b)}</td></tr>`,
    )
    .join('\n');
  return page(
    'confbulk: batches',
    base,
    `<h1>Spaces</h1>
<table><thead><tr><th>space</th><th>circuit</th><th>paused (429)</th><th>limit</th><th>current rate (window use)</th><th>429 streak</th></tr></thead>
<tbody>${views.join('\n')}</tbody></table>
<h1>Batches</h1>
<form method="get" action="${base}/batches">space <select name="space">${['', ...spaces].map((s) => option(s, query.space)).join('')}</select>
state <select name="state">${['', ...STATES].map((s) => option(s, query.state)).join('')}</select> <button type="submit">Filter</button></form>
<table><thead><tr><th>batch</th><th>action</th><th>space</th><th>state</th><th>progress</th><th>succeeded / gone / superseded / dead-lettered</th><th>start / end</th><th>rate</th><th>reason</th></tr></thead>
<tbody>${rows || '<tr><td colspan="9">no batches</td></tr>'}</tbody></table>`,
    5,
  );
}

function deadLetterRow(base: string, batchId: string, e: DeadLetterEntry): string {
  const action = (verb: string, label: string): string =>
    `<form class="inline" method="post" action="${base}/batches/${encodeURIComponent(batchId)}/${verb}"><input type="hidden" name="id" value="${esc(e.id)}"><button type="submit">${label}</button></form>`;
  const answer = [e.status && `HTTP ${e.status}`, e.code && `code ${e.code}`, e.apiMessage]
    .filter(Boolean)
    .join(' ');
  return `<tr data-dead-letter="${esc(e.id)}"><td>${esc(e.job.callSid)}</td><td>${esc(e.reason)}</td><td>${esc(answer)}</td>
<td>${esc(e.deadLetteredAt)}</td><td>${action('replay', 'Replay')} ${action('purge', 'Purge')}</td></tr>`;
}

async function detailPage(o: BatchViewOptions, base: string, batch: Batch): Promise<string> {
  const [entries, total] = await Promise.all([
    o.deadLetters.list({ batchId: batch.id, limit: 200 }),
    o.deadLetters.count({ batchId: batch.id }),
  ]);
  const c = batch.counts;
  const item = (term: string, value: string): string => `<dt>${esc(term)}</dt><dd>${value}</dd>`;
  return page(
    `confbulk: batch ${batch.id}`,
    base,
    `<h1>Batch ${esc(batch.id)}</h1>
<dl>
${item('action', `${esc(batch.action)} on ${esc(batch.conferenceSid ?? batch.target.conferenceName ?? '')} in space ${esc(batch.space)}`)}
${item('state', `<span data-state>${esc(batch.state)}</span>`)}
${item('progress', progress(batch))}
${item('outcomes', `<span data-counts>succeeded ${c.succeeded}, gone ${c.gone}, superseded ${c.superseded}, dead-lettered ${c.deadLettered}, pending ${c.pending}</span>`)}
${item('created / started / ended', `${esc(batch.createdAt)} / ${esc(batch.startedAt ?? '-')} / ${esc(batch.finishedAt ?? '-')}`)}
${item('achieved rate', achievedRate(batch, Date.now()))}
${item('reason', reasonCell(batch) || 'none: it makes progress or is done')}
${batch.webhook ? item('webhook', `${esc(batch.webhook.state)}${batch.webhook.message ? `: ${esc(batch.webhook.message)}` : ''}`) : ''}
${batch.error ? item('error', `<span class="failed">${esc(batch.error)}</span>`) : ''}
</dl>
<h2>Dead letters (<span data-dead-letter-total>${total}</span>)</h2>
<table><thead><tr><th>call</th><th>reason</th><th>last answer</th><th>dead-lettered</th><th></th></tr></thead>
<tbody>${entries.map((e) => deadLetterRow(base, batch.id, e)).join('\n') || '<tr><td colspan="5">no dead letters</td></tr>'}</tbody></table>`,
  );
}

/** Adds the routes of the batch view to the dashboard's authenticated scope. */
export function registerBatchView(scope: FastifyInstance, base: string, o: BatchViewOptions): void {
  const hidden = { schema: { hide: true } };
  scope.get(`${base}/batches`, hidden, async (request, reply) =>
    send(reply, await listPage(o, base, request)),
  );
  const batchOf = async (request: FastifyRequest): Promise<Batch | undefined> => {
    const { id } = request.params as { id: string };
    const batch = await o.confbulk.getBatch(id);
    return batch && mayView(request.principal, batch.space) ? batch : undefined;
  };
  scope.get(`${base}/batches/:id`, hidden, async (request, reply) => {
    const batch = await batchOf(request);
    if (!batch) return reply.code(404).type('text/plain').send('no such batch');
    return send(reply, await detailPage(o, base, batch));
  });
  for (const verb of ['replay', 'purge'] as const) {
    scope.post(`${base}/batches/:id/${verb}`, hidden, async (request, reply) => {
      const batch = await batchOf(request);
      const id = (request.body as Record<string, unknown> | undefined)?.id;
      if (!batch || typeof id !== 'string')
        return reply.code(404).type('text/plain').send('no such batch or dead letter');
      const entry = await o.deadLetters.get(id);
      if (!entry || entry.job.batchId !== batch.id) {
        return reply.code(404).type('text/plain').send('no such dead letter in this batch');
      }
      if (verb === 'replay') await o.deadLetters.replay({ ids: [id] });
      else await o.deadLetters.purge({ ids: [id] });
      request.log.info(
        { tokenId: request.principal?.id, batchId: batch.id, deadLetter: id },
        `dashboard: dead letter ${verb === 'replay' ? 'replayed' : 'purged'}`,
      );
      return reply.redirect(`${base}/batches/${encodeURIComponent(batch.id)}`, 303);
    });
  }
}
