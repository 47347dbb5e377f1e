/**
 * One Compatibility API client per space profile, created on first use from the
 * configuration, so a worker opens connections only to the spaces its jobs name.
 */
import { getSpace, type ConfbulkConfig } from '../config.js';
import { ConfbulkError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ParticipantsApi } from './api.js';
import { createSignalWireClient, type ClientOptions } from './client.js';
import type { SpaceProfile } from './types.js';

export interface SignalWireClientsOptions {
  /**
   * Options of every client; `connectTimeoutMs` and `requestTimeoutMs` default to the
   * configuration's.
   * @defaultValue `{}`
   */
  client?: ClientOptions;
  /**
   * Makes the client of a profile (benchmarks compare clients; tests count creations).
   * @defaultValue `createSignalWireClient`
   */
  createClient?: (profile: SpaceProfile, options: ClientOptions) => ParticipantsApi;
  /**
   * Logger of every client (one debug line per request) unless `client.logger` names
   * another; also where failures to close a client are reported.
   * @defaultValue a silent logger
   */
  logger?: Logger;
}

type ClientsConfig = Pick<ConfbulkConfig, 'spaces' | 'connectTimeoutMs' | 'requestTimeoutMs'>;

/** Thrown by `get()` after `close()`. */
export const CLIENTS_CLOSED_MESSAGE = 'SignalWire clients are closed; no new requests can be made';

export class SignalWireClients {
  readonly #config: ClientsConfig;
  readonly #options: SignalWireClientsOptions;
  readonly #clients = new Map<string, ParticipantsApi>();
  #closing: Promise<void> | undefined;

  constructor(config: ClientsConfig, options: SignalWireClientsOptions = {}) {
    this.#config = config;
    this.#options = options;
  }

  /** Names of the configured space profiles. */
  names(): string[] {
    return [...this.#config.spaces.keys()];
  }

  /**
   * The client of space profile `name`, created on first use.
   * @throws ConfigError naming the configured profiles when `name` is not one of them.
   */
  get(name: string): ParticipantsApi {
    if (this.#closing) throw new ConfbulkError(CLIENTS_CLOSED_MESSAGE);
    const existing = this.#clients.get(name);
    if (existing) return existing;
    const space = getSpace(this.#config as ConfbulkConfig, name);
    const profile: SpaceProfile = {
      name: space.name,
      spaceUrl: space.spaceUrl,
      projectId: space.projectId,
      apiToken: space.apiToken,
    };
    const client = (this.#options.createClient ?? createSignalWireClient)(profile, {
      connectTimeoutMs: this.#config.connectTimeoutMs,
      requestTimeoutMs: this.#config.requestTimeoutMs,
      logger: this.#options.logger,
      ...this.#options.client,
    });
    this.#clients.set(name, client);
    return client;
  }

  /**
   * Closes every client created so far, each one even if another fails. Idempotent.
   * @throws the first close failure, after all clients were closed.
   */
  close(): Promise<void> {
    this.#closing ??= this.#closeAll();
    return this.#closing;
  }

  async #closeAll(): Promise<void> {
    const clients = [...this.#clients.entries()];
    this.#clients.clear();
    const results = await Promise.allSettled(clients.map(([, client]) => client.close()));
    const failures = results.flatMap((r, i) =>
      r.status === 'rejected' ? [{ space: clients[i]?.[0], reason: r.reason as unknown }] : [],
    );
    const logger = this.#options.logger ?? this.#options.client?.logger;
    for (const f of failures)
      logger?.warn({ space: f.space, err: f.reason }, 'closing a SignalWire client failed');
    if (failures[0]) throw failures[0].reason;
  }
}
