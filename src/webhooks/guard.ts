/**
 * The webhook guard: completion webhooks go only to public https receivers, so that nobody
 * who may submit a bulk action can make the workers POST into the network they run in
 * (Redis, the metadata service, compose-internal hosts).
 *
 * A `webhookUrl` must be `https`, and its host must not be, or resolve to, an address that
 * is not public unicast: loopback, private (RFC 1918), unique-local (fc00::/7), link-local
 * (169.254/16 with the metadata service, fe80::/10), carrier-grade NAT (where some clouds
 * put theirs), unspecified (0.0.0.0, ::), multicast, reserved, documentation, and the IPv6
 * forms that carry an IPv4 address (mapped, NAT64, 6to4, Teredo). `localhost` and
 * `*.localhost` are refused without asking DNS. Hosts in `CONFBULK_WEBHOOK_ALLOW_HOSTS` are
 * exempt (an internal receiver the operator chose).
 *
 * Spellings: the WHATWG URL parser (the one `fetch` uses) turns every IPv4 spelling
 * (`0x7f000001`, `2130706433`, `0177.0.0.1`, `127.1`) into dotted form and compresses IPv6,
 * so the host is checked as the connection would use it; ipaddr.js then classifies it,
 * unwrapping IPv4-mapped IPv6 first. ipaddr.js is used because its range tables are
 * maintained and complete, where a hand-written list of CIDRs tends to miss one.
 *
 * The check runs at submission (400 naming `webhookUrl`) and again at delivery, where a
 * name may resolve elsewhere by then (DNS rebinding): the delivery's connection resolves the
 * name through `guardedLookup`, which refuses before connecting when any address is not
 * public, and the connected socket's remote address is checked once more. Redirects are
 * not followed (a 3xx is a failed delivery). `request-filtering-agent` does the same for
 * node's http.Agent, but deliveries use undici's fetch, whose connector takes a `lookup`
 * directly; so the rule lives here, on ipaddr.js, in one place for both checks.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { ConfbulkConfig } from '../config.js';
import { ValidationError } from '../errors.js';

/** Resolves a host name to every address, as `dns.lookup(name, { all: true })` does. */
export type ResolveHost = (hostname: string) => Promise<LookupAddress[]>;

/** The system resolver (what `fetch` would use). */
export const systemResolve: ResolveHost = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) =>
      err ? reject(err) : resolve(addresses),
    );
  });

/** Why `address` is not a public unicast address (ipaddr.js's range name), or undefined. */
export function forbiddenRange(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return 'not an IP address';
  const range = ipaddr.process(address).range();
  return range === 'unicast' ? undefined : range;
}

/** The host of a URL as a connection uses it: no brackets, no trailing dot, lower case. */
function hostOf(url: URL): string {
  return url.hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
}

/** The webhook's host did not resolve (at submission: refused; at delivery: retried). */
export class WebhookResolveError extends ValidationError {}

export class WebhookAddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookAddressError';
  }
}

export interface WebhookGuardOptions {
  /** Host names or addresses exempt from the address rule (`config.webhookAllowHosts`). */
  allowHosts?: readonly string[];
  /** @defaultValue the system resolver */
  resolve?: ResolveHost;
}

function refuse(why: string): never {
  throw new ValidationError(`webhookUrl: ${why}`, 'webhookUrl');
}

export class WebhookGuard {
  readonly #allow: Set<string>;
  readonly #resolve: ResolveHost;

  constructor(options: WebhookGuardOptions = {}) {
    this.#allow = new Set(
      (options.allowHosts ?? []).map((h) => h.replace(/^\[|\]$/g, '').toLowerCase()),
    );
    this.#resolve = options.resolve ?? systemResolve;
  }

  isAllowListed(host: string): boolean {
    return this.#allow.has(
      host
        .replace(/^\[|\]$/g, '')
        .replace(/\.$/, '')
        .toLowerCase(),
    );
  }

  /**
   * Checks a webhook URL as described at the top of this file, resolving its host.
   * @throws ValidationError naming `webhookUrl`: what is refused and what is allowed.
   */
  async check(webhookUrl: string): Promise<void> {
    let url: URL;
    try {
      url = new URL(webhookUrl);
    } catch {
      refuse('must be an https:// URL');
    }
    if (url.protocol !== 'https:') {
      refuse(`must use https:// (got ${url.protocol}//); webhooks carry batch data`);
    }
    const host = hostOf(url);
    if (this.isAllowListed(host)) return;
    const allowed = 'a public address (or a host listed in CONFBULK_WEBHOOK_ALLOW_HOSTS)';
    if (host === 'localhost' || host.endsWith('.localhost')) {
      refuse(`host '${host}' is loopback; allowed: ${allowed}`);
    }
    if (isIP(host)) {
      const range = forbiddenRange(host);
      if (range) refuse(`host '${url.hostname}' is a ${range} address; allowed: ${allowed}`);
      return;
    }
    let addresses: LookupAddress[] = [];
    try {
      addresses = await this.#resolve(host);
    } catch {
      // Handled below, like an empty answer.
    }
    if (addresses.length === 0) {
      throw new WebhookResolveError(`webhookUrl: host '${host}' does not resolve`, 'webhookUrl');
    }
    // The resolved address is not named: it would tell a caller about the internal network.
    const range = addresses.map((a) => forbiddenRange(a.address)).find(Boolean);
    if (range) refuse(`host '${host}' resolves to a ${range} address; allowed: ${allowed}`);
  }

  /**
   * A `lookup` for the delivery's connection: resolves through the same resolver and fails
   * (before any connection) when an address is not public, unless the host is allow-listed.
   */
  readonly guardedLookup: LookupFunction = (hostname, options, callback) => {
    this.#resolve(hostname).then(
      (addresses) => {
        const bad = this.isAllowListed(hostname)
          ? undefined
          : addresses.find((a) => forbiddenRange(a.address));
        if (bad || addresses.length === 0) {
          const error = new WebhookAddressError(
            `webhook host '${hostname}' resolved to a ${bad ? forbiddenRange(bad.address) : 'missing'} address at delivery; not connecting`,
          );
          callback(error, '', 4);
          return;
        }
        const family = typeof options === 'object' ? options.family : undefined;
        const fitting = addresses.filter((a) => !family || a.family === family);
        const list = fitting.length ? fitting : addresses;
        if (typeof options === 'object' && options.all) {
          (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
        } else {
          const first = list[0] as LookupAddress;
          callback(null, first.address, first.family);
        }
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 4),
    );
  };

  /** Whether a connected socket's remote address may receive the delivery to `hostname`. */
  connectedAddressAllowed(hostname: string, remoteAddress: string | undefined): boolean {
    if (this.isAllowListed(hostname)) return true;
    return remoteAddress !== undefined && forbiddenRange(remoteAddress) === undefined;
  }
}

/** The guard of a configuration: its allow-list and the system resolver. */
export function webhookGuardOf(config: Pick<ConfbulkConfig, 'webhookAllowHosts'>): WebhookGuard {
  return new WebhookGuard({ allowHosts: config.webhookAllowHosts });
}
