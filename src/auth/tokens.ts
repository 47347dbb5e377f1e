/**
 * Scoped API tokens, kept in one Redis hash (`ProducerKeys.tokens()`): token id -> record.
 *
 * A token reads `cbk_<id>_<secret>`. The id finds the record in one HGET; the record holds
 * the SHA-256 of the whole token, never the token, which is shown once when it is created.
 * A plain SHA-256 is enough here (no bcrypt/scrypt): the secret is 32 random bytes, so there
 * is nothing to guess by brute force, and a lookup must stay cheap on every request.
 * Comparison is constant-time. Revoking deletes the record, so the next request fails.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RedisConnection } from '../queues.js';
import { SPACE_NAME } from '../config.js';
import { ValidationError } from '../errors.js';
import type { ProducerKeys } from '../keys.js';
import { ROLES, type Principal, type Role } from './access.js';

/** A token as listed: everything but the secret and its hash. */
export interface TokenInfo {
  id: string;
  name: string;
  role: Role;
  /** Space profiles it is limited to; `'*'` = every space. */
  spaces: string[] | '*';
  /** ISO 8601. */
  createdAt: string;
}

/** What `create` returns: the info and the token itself, shown this once. */
export interface CreatedToken extends TokenInfo {
  token: string;
}

interface StoredToken extends TokenInfo {
  /** Hex SHA-256 of the whole token. */
  sha256: string;
}

export interface NewToken {
  name: string;
  role: Role;
  /** Limit to these space profiles. @defaultValue every space */
  spaces?: string[];
}

const TOKEN_PATTERN = /^cbk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
const ID_PATTERN = /^[a-z0-9]{12}$/;
const NAME_PATTERN = /^[A-Za-z0-9 ._@-]{1,100}$/;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

function newId(): string {
  // 12 characters of base 36 from 8 random bytes: unique enough, and no `_` in it.
  return BigInt(`0x${randomBytes(8).toString('hex')}`)
    .toString(36)
    .padStart(13, '0')
    .slice(-12);
}

/**
 * Checks a new token's fields.
 * @throws ValidationError naming the field (`name`, `role`, `spaces`).
 */
export function validateNewToken(input: NewToken, knownSpaces: readonly string[]): NewToken {
  if (typeof input.name !== 'string' || !NAME_PATTERN.test(input.name)) {
    throw new ValidationError(
      'name: must be 1 to 100 characters: letters, digits, spaces and . _ @ -',
      'name',
    );
  }
  if (!ROLES.includes(input.role)) {
    throw new ValidationError(`role: must be one of: ${ROLES.join(', ')}`, 'role');
  }
  for (const space of input.spaces ?? []) {
    if (!SPACE_NAME.test(space) || !knownSpaces.includes(space)) {
      throw new ValidationError(
        `spaces: '${space}' is not a configured space profile; configured: ${knownSpaces.join(', ') || '(none)'}`,
        'spaces',
      );
    }
  }
  return input;
}

function infoOf(stored: StoredToken): TokenInfo {
  const { id, name, role, spaces, createdAt } = stored;
  return { id, name, role, spaces, createdAt };
}

export class TokenStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: ProducerKeys,
    /** Space profiles a token may be limited to. */
    private readonly knownSpaces: readonly string[],
  ) {}

  /** Creates a token; the returned `token` is not stored and cannot be shown again. */
  async create(input: NewToken): Promise<CreatedToken> {
    const { name, role, spaces } = validateNewToken(input, this.knownSpaces);
    const id = newId();
    const token = `cbk_${id}_${randomBytes(32).toString('base64url')}`;
    const stored: StoredToken = {
      id,
      name,
      role,
      spaces: spaces?.length ? [...new Set(spaces)].sort() : '*',
      createdAt: new Date().toISOString(),
      sha256: sha256(token),
    };
    await this.redis.hset(this.keys.tokens(), id, JSON.stringify(stored));
    return { ...infoOf(stored), token };
  }

  /** Every token, oldest first, without secrets. */
  async list(): Promise<TokenInfo[]> {
    const all = await this.redis.hgetall(this.keys.tokens());
    return Object.values(all)
      .map((json) => infoOf(JSON.parse(json) as StoredToken))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  async get(id: string): Promise<TokenInfo | undefined> {
    if (!ID_PATTERN.test(id)) return undefined;
    const json = await this.redis.hget(this.keys.tokens(), id);
    return json ? infoOf(JSON.parse(json) as StoredToken) : undefined;
  }

  /** @returns false when no token had that id. */
  async revoke(id: string): Promise<boolean> {
    if (!ID_PATTERN.test(id)) return false;
    return (await this.redis.hdel(this.keys.tokens(), id)) === 1;
  }

  /** The principal of `token`, or undefined when it is not a live token. */
  async resolve(token: string): Promise<Principal | undefined> {
    const match = TOKEN_PATTERN.exec(token);
    if (!match?.[1]) return undefined;
    const json = await this.redis.hget(this.keys.tokens(), match[1]);
    if (!json) return undefined;
    const stored = JSON.parse(json) as StoredToken;
    if (!sameHex(sha256(token), stored.sha256)) return undefined;
    return { id: stored.id, name: stored.name, role: stored.role, spaces: stored.spaces };
  }
}
