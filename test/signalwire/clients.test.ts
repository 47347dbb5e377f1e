import { describe, expect, it } from 'vitest';
import { DEFAULTS, type ConfbulkConfig, type SpaceConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { mockSpaceProfile, startMock } from '../../src/mock/index.js';
import type { ParticipantsApi } from '../../src/signalwire/api.js';
import type { ClientOptions } from '../../src/signalwire/client.js';
import { CLIENTS_CLOSED_MESSAGE, SignalWireClients } from '../../src/signalwire/clients.js';
import type { SpaceProfile } from '../../src/signalwire/types.js';

function space(name: string, spaceUrl = 'https://example.signalwire.com'): SpaceConfig {
  return {
    name,
    spaceUrl,
    projectId: `project-${name}`,
    apiToken: `token-of-${name}`,
    rateLimits: DEFAULTS.rateLimits,
  };
}

function configWith(...spaces: SpaceConfig[]): ConfbulkConfig {
  return {
    ...DEFAULTS,
    connectTimeoutMs: 1234,
    requestTimeoutMs: 5678,
    spaces: new Map(spaces.map((s) => [s.name, s])),
  };
}

interface Made {
  profile: SpaceProfile;
  options: ClientOptions;
  closed: number;
}

function recordingFactory(made: Made[], failClose: Set<string> = new Set()) {
  return (profile: SpaceProfile, options: ClientOptions): ParticipantsApi => {
    const entry: Made = { profile, options, closed: 0 };
    made.push(entry);
    return {
      space: profile.name,
      close: async () => {
        entry.closed++;
        if (failClose.has(profile.name)) throw new Error(`close of ${profile.name} failed`);
      },
    } as ParticipantsApi;
  };
}

describe('SignalWireClients', () => {
  it('creates one client per profile on first use, with the configured timeouts', () => {
    const made: Made[] = [];
    const clients = new SignalWireClients(configWith(space('default'), space('eu')), {
      createClient: recordingFactory(made),
      client: { connections: 32 },
    });
    expect(made).toHaveLength(0);
    const first = clients.get('eu');
    expect(clients.get('eu')).toBe(first);
    expect(clients.get('default')).not.toBe(first);
    expect(made.map((m) => m.profile.name)).toEqual(['eu', 'default']);
    expect(made[0]!.profile).toEqual({
      name: 'eu',
      spaceUrl: 'https://example.signalwire.com',
      projectId: 'project-eu',
      apiToken: 'token-of-eu',
    });
    expect(made[0]!.options).toEqual({
      connectTimeoutMs: 1234,
      requestTimeoutMs: 5678,
      connections: 32,
    });
    expect(clients.names()).toEqual(['default', 'eu']);
  });

  it('names the configured profiles when asked for an unknown one', () => {
    const clients = new SignalWireClients(configWith(space('default'), space('eu')));
    expect(() => clients.get('us')).toThrow(ConfigError);
    expect(() => clients.get('us')).toThrow(
      "unknown space profile 'us'; configured profiles: default, eu",
    );
    expect(() => new SignalWireClients(configWith()).get('default')).toThrow(
      /configured profiles: \(none/,
    );
  });

  it('closes every client once, even when one fails, and then refuses get()', async () => {
    const made: Made[] = [];
    const clients = new SignalWireClients(configWith(space('a'), space('b'), space('c')), {
      createClient: recordingFactory(made, new Set(['a'])),
    });
    clients.get('a');
    clients.get('b');
    await expect(clients.close()).rejects.toThrow('close of a failed');
    await expect(clients.close()).rejects.toThrow('close of a failed');
    expect(made.map((m) => [m.profile.name, m.closed])).toEqual([
      ['a', 1],
      ['b', 1],
    ]);
    expect(() => clients.get('c')).toThrow(CLIENTS_CLOSED_MESSAGE);
  });

  it('gives working clients for real profiles, logging through the given logger', async () => {
    const mock = await startMock({ rateLimit: null });
    const account = mock.createAccount();
    const lines: string[] = [];
    const logger = createLogger({
      level: 'debug',
      destination: { write: (l: string) => void lines.push(l) },
    });
    const clients = new SignalWireClients(
      configWith({ ...mockSpaceProfile(mock, account, 'mock'), rateLimits: DEFAULTS.rateLimits }),
      { logger },
    );
    try {
      const { sid, callSids } = mock.createConference(account.accountSid, { participants: 2 });
      const api = clients.get('mock');
      expect(api.space).toBe('mock');
      expect(
        (await api.updateParticipant(sid, callSids[1]!, { Muted: true })).participant.muted,
      ).toBe(true);
      expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
        expect.objectContaining({ space: 'mock', method: 'POST', status: 200 }),
      ]);
    } finally {
      await clients.close();
      await mock.stop();
    }
  });
});
