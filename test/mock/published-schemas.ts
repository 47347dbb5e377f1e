/**
 * The project's own schemas of SignalWire's Compatibility API answers, written from its
 * published OpenAPI description (conference participant, participant list, conference,
 * conference list, error response): every required field with its type and enum, and
 * nothing else, as the description closes each object (`unevaluatedProperties: not {}`).
 * Also from the published description: the statuses each operation documents, and the
 * error codes of SignalWire's error-code list the mock may answer with.
 */
import { z } from 'zod';

/** `Mon, 24 Sep 2018 21:00:00 +0000`: the RFC 2822 dates the description asks for. */
const rfc2822 = z
  .string()
  .regex(/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
const uuid = z.uuid();
const int32 = z
  .int()
  .min(-(2 ** 31))
  .max(2 ** 31 - 1);

export const participantStatus = z.enum(['in-progress', 'completed']);
export const conferenceStatus = z.enum(['init', 'in-progress', 'completed']);

export const participant = z.strictObject({
  account_sid: uuid,
  call_sid: uuid,
  call_sid_to_coach: uuid.nullable(),
  coaching: z.boolean(),
  conference_sid: uuid,
  date_created: rfc2822,
  status: participantStatus,
  date_updated: rfc2822,
  end_conference_on_exit: z.boolean(),
  muted: z.boolean(),
  hold: z.boolean(),
  start_conference_on_enter: z.boolean(),
  uri: z.string(),
});

const pageFields = {
  uri: z.string(),
  first_page_uri: z.string(),
  next_page_uri: z.string().nullable(),
  previous_page_uri: z.string().nullable(),
  page: int32,
  page_size: int32,
};

export const participantList = z.strictObject({
  ...pageFields,
  participants: z.array(participant),
});

export const conference = z.strictObject({
  sid: uuid,
  account_sid: uuid,
  date_created: rfc2822,
  date_updated: rfc2822,
  friendly_name: z.string().max(64),
  status: conferenceStatus,
  api_version: z.string(),
  region: z.string(),
  uri: z.string(),
  subresource_uris: z.strictObject({ participants: z.string(), recordings: z.string() }),
});

export const conferenceList = z.strictObject({
  ...pageFields,
  conferences: z.array(conference),
});

/** Codes of SignalWire's error-code list that a conference participant operation can meet. */
export const SIGNALWIRE_CODES = [10000, 16002, 20003, 20404, 20429, 20504, 21220] as const;

export const error = z.strictObject({
  code: int32.refine((c) => (SIGNALWIRE_CODES as readonly number[]).includes(c), {
    message: "not a code of SignalWire's error list for these operations",
  }),
  message: z.string(),
  more_info: z.string(),
  status: int32,
});

/**
 * Statuses each operation documents. 429 is not documented for any of them but is what
 * the rate limit answers (SignalWire documents the limit elsewhere), so it is allowed for
 * the counted method (POST).
 */
export const DOCUMENTED_STATUSES = {
  listConferences: [200, 400, 401, 422],
  retrieveConference: [200, 400, 401, 404],
  updateConference: [200, 400, 401, 404, 422, 503, 429],
  listParticipants: [200, 400, 401, 404, 422],
  retrieveParticipant: [200, 400, 401, 404],
  updateParticipant: [200, 400, 401, 404, 422, 429],
  deleteParticipant: [204, 400, 401, 404, 422],
} as const;

export type Operation = keyof typeof DOCUMENTED_STATUSES;
