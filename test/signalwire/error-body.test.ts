import { describe, expect, it } from 'vitest';
import { MAX_FIELD_LENGTH, parseErrorBody } from '../../src/signalwire/error-body.js';

describe('parseErrorBody', () => {
  it('reads the documented SignalWire error body', () => {
    const body = JSON.stringify({
      code: 20404,
      message: 'The requested resource was not found',
      more_info: 'https://developer.signalwire.com/errors#20404',
      status: 404,
    });
    expect(parseErrorBody(body)).toEqual({
      code: 20404,
      message: 'The requested resource was not found',
      moreInfo: 'https://developer.signalwire.com/errors#20404',
    });
  });

  it('keeps what is there when fields are missing or of the wrong type', () => {
    expect(parseErrorBody('{"message":"Bad Request"}')).toEqual({ message: 'Bad Request' });
    expect(parseErrorBody('{"code":"21220","message":42}')).toEqual({ code: 21220 });
    expect(parseErrorBody('{"code":"abc","message":"  "}')).toEqual({});
  });

  it('reads the errors[0] form of SignalWire REST APIs', () => {
    expect(
      parseErrorBody('{"errors":[{"code":"20429","message":"slow down","url":"https://x/y"}]}'),
    ).toEqual({
      code: 20429,
      message: 'slow down',
      moreInfo: 'https://x/y',
    });
  });

  it('salvages the fields of a JSON body that was cut off', () => {
    expect(parseErrorBody('{"code": 20504, "message": "Internal \\"error\\"", "more_in')).toEqual({
      code: 20504,
      message: 'Internal "error"',
    });
  });

  it('gives an excerpt of an HTML page, preferring its title', () => {
    expect(
      parseErrorBody('<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1>'),
    ).toEqual({
      excerpt: '502 Bad Gateway',
    });
    expect(parseErrorBody('<html><body><h1>Service   Unavailable</h1><p>try')).toEqual({
      excerpt: 'Service Unavailable try',
    });
  });

  it('gives an excerpt of plain text and of JSON that is neither an object nor salvageable', () => {
    expect(parseErrorBody('upstream connect error or disconnect/reset before headers')).toEqual({
      excerpt: 'upstream connect error or disconnect/reset before headers',
    });
    expect(parseErrorBody('{oops')).toEqual({ excerpt: '{oops' });
    expect(parseErrorBody('[1,2]')).toEqual({ excerpt: '[1,2]' });
    expect(parseErrorBody('{"a":1}')).toEqual({});
  });

  it('returns nothing for an empty body', () => {
    expect(parseErrorBody('')).toEqual({});
    expect(parseErrorBody(' \n ')).toEqual({});
  });

  it('clips very long fields', () => {
    const parsed = parseErrorBody(JSON.stringify({ code: 1, message: 'x'.repeat(10_000) }));
    expect(parsed.message).toHaveLength(MAX_FIELD_LENGTH);
    expect(parseErrorBody('y'.repeat(10_000)).excerpt!.length).toBeLessThan(200);
  });
});
