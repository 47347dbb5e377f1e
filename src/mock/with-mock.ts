/** Runs code against a fresh mock that is stopped afterwards, whatever happened. */
import type { MockOptions } from './options.js';
import { startMock, type MockServer } from './server.js';

export async function withMock<T>(
  fn: (mock: MockServer) => Promise<T>,
  options: MockOptions = {},
): Promise<T> {
  const mock = await startMock(options);
  try {
    return await fn(mock);
  } finally {
    await mock.stop();
  }
}
