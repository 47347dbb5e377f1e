/**
 * Keeps credentials out of anything built from server text or low-level errors. The
 * client never puts the token into a message itself; this guards against a proxy or
 * library echoing it back.
 */

/** Secrets shorter than this are not scrubbed: replacing one or two characters everywhere would garble every message. */
const MIN_SECRET_LENGTH = 4;
export const REDACTED = '[redacted]';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A function that replaces every occurrence of any of `secrets` by `[redacted]`. */
export function createRedactor(secrets: readonly string[]): (text: string) => string {
  const usable = [...new Set(secrets)]
    .filter((s) => s.length >= MIN_SECRET_LENGTH)
    .sort((a, b) => b.length - a.length);
  if (usable.length === 0) return (text) => text;
  const pattern = new RegExp(usable.map(escapeRegExp).join('|'), 'g');
  return (text) => text.replace(pattern, REDACTED);
}

/** The forms in which Basic-auth credentials can leak: the token, `user:token`, and their base64. */
export function credentialForms(projectId: string, apiToken: string): string[] {
  const pair = `${projectId}:${apiToken}`;
  return [apiToken, pair, Buffer.from(pair).toString('base64'), encodeURIComponent(apiToken)];
}
