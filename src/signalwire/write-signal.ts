/**
 * When a request left: undici tells a dispatch handler `onRequestSent()` right after the
 * request, headers and body, was handed to its socket (`socket.write`, in
 * lib/dispatcher/client-h1.js and client-h2.js), and never for one that did not leave
 * (connect refused or timed out, aborted while queued for a connection). From there on
 * only network transit separates it from the server; the rate limiter counts it from then.
 *
 * Only undici's legacy handler interface has that hook (undici 7 keeps it, undocumented in
 * its types; its diagnostics channel `undici:request:bodySent` is the documented form of
 * the same call, but it is global to the process and names undici's own request object,
 * not ours). `Pool.request()` hands `dispatch` a legacy handler of its own; this
 * dispatcher wraps that in one that forwards every call and adds the hook. `compose()`
 * would not do: it wraps handlers in the controller interface, which has no such hook.
 * A handler of the controller interface (none today) passes through unwrapped, and its
 * requests report no write moment (`watched` is then false).
 */
import { Dispatcher, type Pool } from 'undici';

type LegacyHandler = Dispatcher.DispatchHandler & {
  onRequestSent?: () => void;
  onBodySent?: (...args: unknown[]) => void;
};

/** What a request is told: whether it is watched at all, and when it was written. */
export interface WriteWatch {
  /** Called once, synchronously, when the request was written to its connection. */
  onWritten: () => void;
  /** Set by the dispatcher when the request's handler could be watched. */
  watched: boolean;
}

/** Forwards every legacy call to `inner`, and tells `watch` when the request was written. */
class Watched implements LegacyHandler {
  constructor(
    private readonly inner: LegacyHandler,
    private readonly watch: WriteWatch,
  ) {}

  onConnect(abort: (err?: Error) => void, context?: unknown): void {
    (this.inner.onConnect as (a: typeof abort, c?: unknown) => void)(abort, context);
  }

  onError(err: Error): void {
    this.inner.onError?.(err);
  }

  onUpgrade(...args: Parameters<NonNullable<LegacyHandler['onUpgrade']>>): void {
    this.inner.onUpgrade?.(...args);
  }

  onResponseStarted(): void {
    this.inner.onResponseStarted?.();
  }

  onHeaders(...args: Parameters<NonNullable<LegacyHandler['onHeaders']>>): boolean {
    return this.inner.onHeaders?.(...args) ?? true;
  }

  onData(chunk: Buffer): boolean {
    return this.inner.onData?.(chunk) ?? true;
  }

  onComplete(trailers: string[] | null): void {
    this.inner.onComplete?.(trailers);
  }

  onBodySent(...args: unknown[]): void {
    this.inner.onBodySent?.(...args);
  }

  onRequestSent(): void {
    this.inner.onRequestSent?.();
    this.watch.onWritten();
  }
}

/**
 * A dispatcher over `pool` whose `request(options)` reports the write of requests whose
 * options were registered with `watch(options, ...)`.
 */
export class WriteWatchingDispatcher extends Dispatcher {
  readonly #pool: Pool;
  readonly #watches = new WeakMap<object, WriteWatch>();

  constructor(pool: Pool) {
    super();
    this.#pool = pool;
  }

  /** Watches the request made with exactly this options object. */
  watch(options: object, watch: WriteWatch): void {
    this.#watches.set(options, watch);
  }

  override dispatch(
    options: Dispatcher.DispatchOptions,
    handler: Dispatcher.DispatchHandler,
  ): boolean {
    const watch = this.#watches.get(options);
    // A controller-interface handler has no write hook: its request goes unwatched.
    if (!watch || typeof handler.onRequestStart === 'function') {
      return this.#pool.dispatch(options, handler);
    }
    this.#watches.delete(options);
    watch.watched = true;
    return this.#pool.dispatch(options, new Watched(handler as LegacyHandler, watch));
  }

  override close(): Promise<void> {
    return this.#pool.close();
  }

  override destroy(): Promise<void> {
    return this.#pool.destroy();
  }
}
