/**
 * Who may do what. A caller of the API is a `Principal`: the bootstrap token
 * (`CONFBULK_API_TOKEN`, an admin of every space) or a scoped token from the token store.
 *
 *  - `read`: GET routes.
 *  - `write`: read, plus creating and cancelling bulk actions and schedules.
 *  - `admin`: write, plus dead-letter replay and purge, tokens and the dashboard.
 *
 * A token limited to spaces sees and touches only those spaces' batches, schedules and dead
 * letters. What spans every space (tokens, the dashboard, `/metrics`) needs a token of
 * every space: a space-limited admin could otherwise mint itself a wider token, or read
 * another space's jobs in the dashboard.
 */

export const ROLES = ['read', 'write', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** What a route needs: a role, or `public` (no token at all). */
export type Access = Role | 'public';

export interface Principal {
  /** Token id (`bootstrap` for CONFBULK_API_TOKEN, `local` in --insecure-local mode). */
  id: string;
  name: string;
  role: Role;
  /** Space profiles this principal may touch; `'*'` means every space. */
  spaces: readonly string[] | '*';
}

/** The principal of `CONFBULK_API_TOKEN`. */
export const BOOTSTRAP_PRINCIPAL: Principal = {
  id: 'bootstrap',
  name: 'CONFBULK_API_TOKEN',
  role: 'admin',
  spaces: '*',
};

/** The principal of a server started with --insecure-local (loopback only, no token). */
export const LOCAL_PRINCIPAL: Principal = {
  id: 'local',
  name: 'insecure-local',
  role: 'admin',
  spaces: '*',
};

const RANK: Record<Role, number> = { read: 0, write: 1, admin: 2 };

/** Whether `principal`'s role includes `needed`. */
export function hasRole(principal: Principal, needed: Role): boolean {
  return RANK[principal.role] >= RANK[needed];
}

/** Whether `principal` may see and touch `space`. */
export function canUseSpace(principal: Principal, space: string): boolean {
  return principal.spaces === '*' || principal.spaces.includes(space);
}

/** Whether `principal` is limited to some spaces (and so may not use what spans them all). */
export function isSpaceLimited(principal: Principal): boolean {
  return principal.spaces !== '*';
}
