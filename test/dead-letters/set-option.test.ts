import { describe, expect, it } from 'vitest';
import { parseSetOption, parseSetOptions } from '../../src/dead-letters/set-option.js';
import { ValidationError } from '../../src/errors.js';

describe('parseSetOption', () => {
  it('types booleans, methods and URLs as the API spells them', () => {
    expect(parseSetOption('Muted=false')).toEqual({ Muted: false });
    expect(parseSetOption('Hold=true')).toEqual({ Hold: true });
    expect(parseSetOption('HoldMethod=post')).toEqual({ HoldMethod: 'POST' });
    expect(parseSetOption('HoldUrl=https://example.com/a.mp3?x=1')).toEqual({
      HoldUrl: 'https://example.com/a.mp3?x=1',
    });
  });

  it('keeps a SID lower-case whatever case it was given in', () => {
    const sid = '4f1b6e6a-abcd-4000-8000-00000000beef';
    expect(parseSetOption(`CallSidToCoach=${sid.toUpperCase()}`)).toEqual({ CallSidToCoach: sid });
  });

  it('names the allowed parameters when the name is unknown', () => {
    expect(() => parseSetOption('Volume=3')).toThrow(
      /unknown parameter 'Volume'; allowed parameters are: Muted, Hold, HoldUrl/,
    );
    expect(() => parseSetOption('HoldUrl')).toThrow(/Param=Value/);
  });

  it('says what a value must be', () => {
    expect(() => parseSetOption('Muted=yes')).toThrow(/Muted must be true or false; got 'yes'/);
    expect(() => parseSetOption('HoldUrl=ftp://x')).toThrow(ValidationError);
    expect(() => parseSetOption('HoldUrl=ftp://x')).toThrow(/http:\/\/ or https:\/\//);
    expect(() => parseSetOption('WaitMethod=PUT')).toThrow(/GET or POST/);
  });

  it('merges several options into one set of parameters', () => {
    expect(parseSetOptions(['Hold=true', 'HoldUrl=https://a.example/x'])).toEqual({
      Hold: true,
      HoldUrl: 'https://a.example/x',
    });
  });

  it('refuses a parameter given twice, naming it and both values', () => {
    expect(() => parseSetOptions(['Muted=true', 'Muted=false'])).toThrow(
      /--set Muted is given twice \(true and false\); give it once/,
    );
    expect(() =>
      parseSetOptions(['Hold=true', 'HoldUrl=https://a.example/x', 'Hold=true']),
    ).toThrow(ValidationError);
  });
});
