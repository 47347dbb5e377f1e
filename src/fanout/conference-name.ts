/**
 * A conference named by its friendly name: the in-progress conferences of that name, and
 * the rule that several of them are ambiguous unless the request says `newest`. Checked
 * when a request is submitted (exit 2, HTTP 400, with the candidates) and again when the
 * fan-out runs (a schedule's run, or a second conference started meanwhile), so a name
 * never silently picks one of two rooms.
 */
import { ValidationError } from '../errors.js';
import type { ParticipantsApi } from '../signalwire/api.js';

export interface ConferenceCandidate {
  sid: string;
  /** Participants now in the conference. */
  participants: number;
  /** When it started (the API's `date_created`, ISO 8601). */
  startedAt: string;
}

/** The in-progress conferences named `name`, newest first (no participant counts). */
export async function conferencesNamed(
  api: ParticipantsApi,
  name: string,
): Promise<{ sid: string; created: number; dateCreated: string }[]> {
  const found: { sid: string; created: number; dateCreated: string }[] = [];
  for await (const c of api.listConferences({ friendlyName: name, status: 'in-progress' })) {
    const created = Date.parse(c.date_created) || 0;
    found.push({ sid: c.sid, created, dateCreated: new Date(created).toISOString() });
  }
  return found.sort((a, b) => b.created - a.created);
}

/** Counts the participants of each candidate (one listing per candidate). */
async function withCounts(
  api: ParticipantsApi,
  found: { sid: string; dateCreated: string }[],
): Promise<ConferenceCandidate[]> {
  return Promise.all(
    found.map(async (c) => {
      let participants = 0;
      for await (const page of api.listParticipantPages(c.sid, { pageSize: 1000 })) {
        participants += page.length;
      }
      return { sid: c.sid, participants, startedAt: c.dateCreated };
    }),
  );
}

/** `CF... (5000 participants, started 2026-...)`, one per line. */
export function describeCandidates(candidates: ConferenceCandidate[]): string {
  return candidates
    .map(
      (c) =>
        `${c.sid} (${c.participants} participant${c.participants === 1 ? '' : 's'}, started ${c.startedAt})`,
    )
    .join('; ');
}

/** The error of a name that matches several conferences, listing them. */
export function ambiguousName(
  name: string,
  space: string,
  candidates: ConferenceCandidate[],
): ValidationError {
  return Object.assign(
    new ValidationError(
      `target.conferenceName: ${candidates.length} in-progress conferences are named '${name}' ` +
        `in space ${space}: ${describeCandidates(candidates)}. Name one by SID (--conference / ` +
        `target.conferenceSid), or take the newest (--newest / target.newest: true)`,
      'target.conferenceName',
    ),
    { candidates },
  );
}

/**
 * Refuses a name that matches several in-progress conferences (unless `newest`).
 * @throws ValidationError listing the candidates.
 */
export async function checkConferenceName(
  api: ParticipantsApi,
  space: string,
  name: string,
  newest: boolean,
): Promise<void> {
  if (newest) return;
  const found = await conferencesNamed(api, name);
  if (found.length > 1) throw ambiguousName(name, space, await withCounts(api, found));
}

/** The candidates of an ambiguous name, counted, for the fan-out's failure message. */
export function countCandidates(
  api: ParticipantsApi,
  found: { sid: string; dateCreated: string }[],
): Promise<ConferenceCandidate[]> {
  return withCounts(api, found);
}
