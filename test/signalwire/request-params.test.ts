import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import {
  conferencesQuery,
  encodeUpdateParams,
  participantsQuery,
} from '../../src/signalwire/request-params.js';
import type { UpdateParticipantParams } from '../../src/signalwire/types.js';

describe('encodeUpdateParams', () => {
  it('sends every documented parameter with its exact name, booleans as true/false', () => {
    const form = new URLSearchParams(
      encodeUpdateParams({
        Muted: true,
        Hold: false,
        HoldUrl: 'https://example.com/hold.xml?a=1&b=2',
        HoldMethod: 'POST',
        AnnounceUrl: 'https://example.com/announce.xml',
        AnnounceMethod: 'GET',
        WaitUrl: 'https://example.com/wait.xml',
        WaitMethod: 'GET',
        Coaching: true,
        CallSidToCoach: '3b3f5a52-7d3c-4b8e-9a3b-0c8d2c3f4a5b',
      }),
    );
    expect(Object.fromEntries(form)).toEqual({
      Muted: 'true',
      Hold: 'false',
      HoldUrl: 'https://example.com/hold.xml?a=1&b=2',
      HoldMethod: 'POST',
      AnnounceUrl: 'https://example.com/announce.xml',
      AnnounceMethod: 'GET',
      WaitUrl: 'https://example.com/wait.xml',
      WaitMethod: 'GET',
      Coaching: 'true',
      CallSidToCoach: '3b3f5a52-7d3c-4b8e-9a3b-0c8d2c3f4a5b',
    });
  });

  it('sends HoldMethod whenever it sends HoldUrl (GET unless given), never alone', () => {
    const url = 'https://example.com/m.mp3';
    expect(
      new URLSearchParams(encodeUpdateParams({ Hold: true, HoldUrl: url })).get('HoldMethod'),
    ).toBe('GET');
    const given = new URLSearchParams(encodeUpdateParams({ HoldUrl: url, HoldMethod: 'POST' }));
    expect(given.getAll('HoldMethod')).toEqual(['POST']);
    expect(encodeUpdateParams({ Hold: true })).toBe('Hold=true');
  });

  it('leaves out undefined parameters and encodes an empty update as an empty form', () => {
    expect(encodeUpdateParams({ Muted: false, Hold: undefined })).toBe('Muted=false');
    expect(encodeUpdateParams({})).toBe('');
  });

  it('refuses unknown names and wrong value types, naming the parameter', () => {
    const cases: [unknown, RegExp][] = [
      [{ muted: true }, /params\.muted is not an update parameter; allowed: Muted, Hold/],
      [{ Muted: 'true' }, /params\.Muted must be true or false/],
      [{ HoldMethod: 'PUT' }, /params\.HoldMethod must be GET or POST/],
      [{ HoldUrl: '' }, /params\.HoldUrl must be a non-empty string/],
    ];
    for (const [params, message] of cases) {
      expect(() => encodeUpdateParams(params as UpdateParticipantParams)).toThrow(message);
      expect(() => encodeUpdateParams(params as UpdateParticipantParams)).toThrow(ValidationError);
    }
  });
});

describe('participantsQuery', () => {
  it('asks for pages of 1000 by default', () => {
    expect(participantsQuery({})).toBe('PageSize=1000');
  });

  it('sends the Muted and Hold filters as booleans', () => {
    expect(participantsQuery({ muted: true, hold: false, pageSize: 7 })).toBe(
      'Muted=true&Hold=false&PageSize=7',
    );
  });

  it('refuses page sizes outside 1..1000', () => {
    for (const pageSize of [0, 1001, 2.5, Number.NaN]) {
      expect(() => participantsQuery({ pageSize }), String(pageSize)).toThrow(
        /pageSize must be a whole number from 1 to 1000/,
      );
    }
    expect(participantsQuery({ pageSize: 1 })).toBe('PageSize=1');
    expect(participantsQuery({ pageSize: 1000 })).toBe('PageSize=1000');
  });
});

describe('conferencesQuery', () => {
  it('sends FriendlyName and Status filters', () => {
    const query = new URLSearchParams(
      conferencesQuery({ friendlyName: 'Town hall & Q/A', status: 'in-progress' }),
    );
    expect(Object.fromEntries(query)).toEqual({
      FriendlyName: 'Town hall & Q/A',
      Status: 'in-progress',
      PageSize: '1000',
    });
  });

  it('refuses an unknown status and an over-long friendly name', () => {
    expect(() => conferencesQuery({ status: 'active' as 'init' })).toThrow(
      /status must be one of init, in-progress, completed; got 'active'/,
    );
    expect(() => conferencesQuery({ friendlyName: 'x'.repeat(65) })).toThrow(
      /friendlyName must be 1 to 64 characters/,
    );
  });
});
