/**
 * Reads what an error answer says. The documented body is
 * `{"code": 20404, "message": "...", "more_info": "https://...", "status": 404}`, but
 * answers from proxies and load balancers lack fields, are HTML, are empty, or arrive cut
 * off. Nothing here throws: whatever can be read is returned.
 */

export interface ErrorBody {
  /** SignalWire error code, e.g. 20404. */
  code?: number;
  /** SignalWire's `message`. */
  message?: string;
  /** SignalWire's `more_info` URL. */
  moreInfo?: string;
  /** Short plain-text excerpt of a body that is not the documented JSON (HTML title, text). */
  excerpt?: string;
}

/** Longest text kept from any one field, so a huge body cannot bloat messages and dead letters. */
export const MAX_FIELD_LENGTH = 300;
/** Longest excerpt of a body that is not JSON. */
export const MAX_EXCERPT_LENGTH = 120;

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function textField(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  return text === '' ? undefined : clip(text, MAX_FIELD_LENGTH);
}

function codeField(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return Number(value);
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Fields of a parsed body; SignalWire's other REST APIs nest them as `errors[0]`. */
function fromObject(body: Record<string, unknown>): ErrorBody {
  const nested =
    Array.isArray(body.errors) && isRecord(body.errors[0]) ? body.errors[0] : undefined;
  const source = body.code === undefined && body.message === undefined && nested ? nested : body;
  return dropUndefined({
    code: codeField(source.code),
    message: textField(source.message),
    moreInfo: textField(source.more_info ?? source.url),
  });
}

function stringMember(text: string, name: string): string | undefined {
  const m = new RegExp(`"${name}"\\s*:\\s*"((?:[^"\\\\]|\\\\.)*)"`).exec(text);
  if (!m?.[1]) return undefined;
  try {
    return textField(JSON.parse(`"${m[1]}"`));
  } catch {
    return textField(m[1]);
  }
}

/** Salvages the fields of a JSON body that arrived cut off. */
function fromPartialJson(text: string): ErrorBody {
  const code = /"code"\s*:\s*"?(\d+)/.exec(text)?.[1];
  return dropUndefined({
    code: code === undefined ? undefined : Number(code),
    message: stringMember(text, 'message'),
    moreInfo: stringMember(text, 'more_info'),
  });
}

/** A readable excerpt of an HTML or plain-text body: the HTML title when there is one. */
export function excerptOf(text: string): string | undefined {
  const title = /<title[^>]*>([^<]*)/i.exec(text)?.[1];
  const plain = (title ?? text.replace(/<[^>]*>?/g, ' ')).replace(/\s+/g, ' ').trim();
  return plain === '' ? undefined : clip(plain, MAX_EXCERPT_LENGTH);
}

function dropUndefined(body: ErrorBody): ErrorBody {
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)) as ErrorBody;
}

/**
 * What an error body says.
 * @example parseErrorBody('{"code":20404,"message":"Not found","more_info":"https://x","status":404}')
 * // { code: 20404, message: 'Not found', moreInfo: 'https://x' }
 */
export function parseErrorBody(text: string): ErrorBody {
  const trimmed = text.trim();
  if (trimmed === '') return {};
  if (!trimmed.startsWith('{')) return dropUndefined({ excerpt: excerptOf(trimmed) });
  try {
    const parsed: unknown = JSON.parse(trimmed);
    return isRecord(parsed) ? fromObject(parsed) : {};
  } catch {
    const salvaged = fromPartialJson(trimmed);
    return Object.keys(salvaged).length > 0
      ? salvaged
      : dropUndefined({ excerpt: excerptOf(trimmed) });
  }
}
