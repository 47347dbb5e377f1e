/**
 * Validation on dequeue: the direct check of the common payloads accepts exactly what the
 * schema accepts, and every payload it does not take (valid or not) gets the schema's
 * answer, error message included.
 */
import { describe, expect, it } from 'vitest';
import {
  parseDequeuedJob,
  parseParticipantJob,
  type ParticipantJobData,
} from '../../src/jobs/participant-job.js';

const SID = '4f1b6e6a-2222-4000-8000-000000000002';
const TWILIO_SID = 'CA0123456789abcdef0123456789abcdef';

const base: ParticipantJobData = {
  v: 1,
  space: 'default',
  conferenceSid: '4f1b6e6a-1111-4000-8000-000000000001',
  callSid: SID,
  op: 'update',
  params: { Muted: true },
  batchId: 'b_0m3k2x9a1f00ba7c9e1',
  intent: 7,
};

const valid: unknown[] = [
  base,
  { ...base, params: { Muted: false, Hold: true } },
  { ...base, params: { Coaching: false } },
  { ...base, op: 'remove', params: {} },
  { ...base, op: 'remove', params: { Muted: true } },
  { ...base, callSid: TWILIO_SID, intent: 0, replayOf: `${base.batchId}.${SID}` },
  { ...base, space: 'eu_west-2' },
  // Valid, but not a common shape: the schema decides.
  { ...base, params: { HoldUrl: 'https://music.example.com/a.mp3', HoldMethod: 'GET' } },
  { ...base, params: { AnnounceUrl: 'http://x.test/a.mp3' } },
  { ...base, params: { Coaching: true, CallSidToCoach: SID } },
  Object.assign(Object.create(null) as object, base),
  // Valid in any case; the schema returns SIDs lower-case, so the direct check leaves them to it.
  { ...base, callSid: SID.toUpperCase(), conferenceSid: base.conferenceSid.toUpperCase() },
  { ...base, callSid: TWILIO_SID.toLowerCase() },
];

/** Each wrong in one way. */
const invalid: unknown[] = [
  null,
  [],
  'job',
  42,
  { ...base, v: 2 },
  { ...base, v: '1' },
  { ...base, space: 'Default' },
  { ...base, space: '' },
  { ...base, space: 'x'.repeat(33) },
  { ...base, conferenceSid: 'not-a-sid' },
  { ...base, callSid: `${SID}\n` },
  { ...base, callSid: 7 },
  { ...base, op: 'delete' },
  { ...base, params: {} },
  { ...base, params: null },
  { ...base, params: [] },
  { ...base, params: { Muted: 'true' } },
  { ...base, params: { Muted: true, Volume: 3 } },
  { ...base, params: { Coaching: true } },
  { ...base, params: { HoldUrl: 'ftp://x.test/a.mp3' } },
  { ...base, batchId: '' },
  { ...base, batchId: 'b'.repeat(65) },
  { ...base, intent: -1 },
  { ...base, intent: 1.5 },
  { ...base, intent: Number.NaN },
  { ...base, intent: Number.POSITIVE_INFINITY },
  { ...base, intent: 2 ** 53 },
  { ...base, intent: '7' },
  { ...base, replayOf: '' },
  { ...base, replayOf: 'r'.repeat(201) },
  { ...base, replayOf: null },
  { ...base, extra: true },
  Object.fromEntries(Object.entries(base).filter(([key]) => key !== 'batchId')),
  Object.fromEntries(Object.entries(base).filter(([key]) => key !== 'space')),
];

function outcome(parse: (data: unknown) => ParticipantJobData, data: unknown) {
  try {
    return { ok: true, data: parse(data) };
  } catch (err) {
    return { ok: false, message: (err as Error).message, field: (err as { field?: string }).field };
  }
}

describe('parseDequeuedJob', () => {
  it('accepts every valid payload with the data the schema gives', () => {
    for (const data of valid) {
      expect(outcome(parseDequeuedJob, data), JSON.stringify(data)).toEqual(
        outcome(parseParticipantJob, data),
      );
      expect(outcome(parseDequeuedJob, data).ok).toBe(true);
    }
  });

  it('takes the common payloads by the direct check (the payload itself comes back)', () => {
    for (const data of valid.slice(0, 7)) expect(parseDequeuedJob(data)).toBe(data);
    // The schema's answer is a copy.
    expect(parseDequeuedJob(valid[7])).not.toBe(valid[7]);
  });

  it('gives SIDs in their one spelling: hex lower-case, a Twilio-style prefix upper-case', () => {
    const upper = parseDequeuedJob({ ...base, callSid: SID.toUpperCase() });
    expect(upper.callSid).toBe(SID);
    expect(parseDequeuedJob({ ...base, callSid: TWILIO_SID.toLowerCase() }).callSid).toBe(
      TWILIO_SID,
    );
  });

  it("rejects every invalid payload with the schema's error", () => {
    for (const data of invalid) {
      const expected = outcome(parseParticipantJob, data);
      expect(expected.ok, JSON.stringify(data)).toBe(false);
      expect(outcome(parseDequeuedJob, data), JSON.stringify(data)).toEqual(expected);
    }
  });
});
