/** A space profile pointing at a mock, for tests and the demo. */
import type { SpaceProfile } from '../signalwire/types.js';
import type { MockAccount } from './control.js';

/** The profile `name` for `account` of the mock listening at `mock.url`. */
export function mockSpaceProfile(
  mock: { readonly url: string },
  account: MockAccount,
  name = 'default',
): SpaceProfile {
  return { name, spaceUrl: mock.url, projectId: account.accountSid, apiToken: account.token };
}
