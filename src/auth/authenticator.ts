/**
 * Turns a credential into a Principal: the bootstrap token (`CONFBULK_API_TOKEN`, compared
 * in constant time), or a scoped token of the token store. Shared by the API's access hook
 * and the dashboard (whose session cookies name a principal id, resolved here again on
 * every request so that revoking a token ends its sessions).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { BOOTSTRAP_PRINCIPAL, type Principal } from './access.js';
import type { TokenStore } from './tokens.js';

/** Hashing both sides first gives equal lengths, so the comparison time says nothing. */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export interface AuthenticatorOptions {
  /** `CONFBULK_API_TOKEN`: an admin of every space. */
  bootstrapToken: string | undefined;
  /** Scoped tokens. @defaultValue none (only the bootstrap token works) */
  tokens?: Pick<TokenStore, 'resolve' | 'get'>;
}

export class Authenticator {
  constructor(private readonly options: AuthenticatorOptions) {}

  /** The key dashboard sessions are signed with (the bootstrap token). */
  get sessionKey(): string | undefined {
    return this.options.bootstrapToken;
  }

  /** The principal of a bearer token, or undefined when the token is not live. */
  async principalOfToken(token: string): Promise<Principal | undefined> {
    const bootstrap = this.options.bootstrapToken;
    if (bootstrap && sameSecret(token, bootstrap)) return BOOTSTRAP_PRINCIPAL;
    return this.options.tokens?.resolve(token);
  }

  /** The principal of a token id (a session's), or undefined once it is revoked. */
  async principalOfId(id: string): Promise<Principal | undefined> {
    if (id === BOOTSTRAP_PRINCIPAL.id) {
      return this.options.bootstrapToken ? BOOTSTRAP_PRINCIPAL : undefined;
    }
    const info = await this.options.tokens?.get(id);
    return info && { id: info.id, name: info.name, role: info.role, spaces: info.spaces };
  }
}
