/**
 * The half of a broker both engines share: argument checks, the closed state, and `stream`,
 * `waitFor`, `subscribe` and `history` on top of an engine's `read` and live delivery (see
 * hub.ts). An engine adds `publish` and the storage.
 * @module
 */

import { Future, toFuture } from '../concurrent.ts';
import { BrokerClosedError, BrokerRecoveryError } from '../errors.ts';
import { Hub, type Engine } from './hub.ts';
import {
  checkChannel,
  checkLimit,
  checkSince,
  type Broker,
  type HistoryOptions,
  type HistoryResult,
  type Publication,
  type ResolvedLimits,
  type StreamOptions,
  type StreamPosition,
  type Subscription,
  type WaitForOptions,
} from './types.ts';

/**
 * Decide whether the publications after `since` are all still known, given the channel's
 * epoch, latest offset and first kept offset (0 when nothing is kept). `from` is the first
 * offset to return (0: none).
 */
export function recoveryOf(
  since: StreamPosition | null,
  epoch: string,
  latest: number,
  firstKept: number,
): { recovered: boolean; from: number } {
  if (since === null) return { recovered: true, from: firstKept };
  if (since.epoch !== epoch || since.offset > latest) return { recovered: false, from: 0 };
  if (since.offset === latest) return { recovered: true, from: 0 };
  return {
    recovered: firstKept !== 0 && firstKept <= since.offset + 1,
    // Not recovered: what is kept after `since` still starts at the first kept offset.
    from: firstKept === 0 ? 0 : Math.max(firstKept, since.offset + 1),
  };
}

/**
 * Shared implementation of {@link Broker}; engines extend it. Not exported from `typhoon/broker`,
 * yet kept in the declarations: the public engines' declarations extend it.
 */
export abstract class BrokerBase implements Broker {
  protected readonly limits: ResolvedLimits;
  protected readonly hub: Hub;
  #closed = false;
  #closing: Future<void> | null = null;

  protected constructor(limits: ResolvedLimits, engine: Engine) {
    this.limits = limits;
    this.hub = new Hub(engine);
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Throw {@link typhoon/errors!BrokerClosedError | BrokerClosedError} once `close()` was called. */
  protected checkOpen(): void {
    if (this.#closed) throw new BrokerClosedError();
  }

  abstract publish(channel: string, data: unknown): Future<Publication>;

  /** The engine's read, once the arguments are checked. */
  protected abstract read(
    channel: string,
    since: StreamPosition | null,
    limit: number,
  ): Promise<HistoryResult>;

  /** Release the engine's resources (connections, timers). */
  protected abstract shutdown(): Promise<void>;

  history(channel: string, options?: HistoryOptions): Future<HistoryResult> {
    this.checkOpen();
    checkChannel(channel);
    const since = checkSince(options?.since);
    const limit = checkLimit(options?.limit, this.limits.historySize);
    return toFuture(this.read(channel, since, limit));
  }

  stream(channel: string, options?: StreamOptions): AsyncIterableIterator<Publication> {
    this.checkOpen();
    checkChannel(channel);
    const since = checkSince(options?.since);
    return this.hub.stream(channel, since, options?.signal);
  }

  waitFor(
    channel: string,
    since: StreamPosition | null,
    options?: WaitForOptions,
  ): Future<Publication[]> {
    this.checkOpen();
    checkChannel(channel);
    const from = checkSince(since);
    const limit = checkLimit(options?.limit, this.limits.historySize);
    const timeout = options?.timeout;
    if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout >= 0))) {
      throw new TypeError('timeout must be a non-negative number of ms');
    }
    const signal = options?.signal;
    if (signal?.aborted === true) return toFuture(Promise.resolve([]));
    if (limit === 0) {
      return toFuture(
        this.read(channel, from, 0).then((result) => {
          if (!result.recovered) {
            throw new BrokerRecoveryError(`cannot resume channel ${JSON.stringify(channel)}`, {
              position: result.position,
            });
          }
          return [];
        }),
      );
    }
    return toFuture(this.#wait(channel, from, limit, timeout, signal));
  }

  async #wait(
    channel: string,
    since: StreamPosition | null,
    limit: number,
    timeout: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Publication[]> {
    const consumer = this.hub.stream(channel, since, undefined);
    const stop = (): void => void consumer.return();
    // Past 2^31-1 ms setTimeout would fire at once; such a wait is a wait without a timeout.
    const timer =
      timeout === undefined || timeout > 2_147_483_647 ? undefined : setTimeout(stop, timeout);
    signal?.addEventListener('abort', stop, { once: true });
    try {
      const first = await consumer.next();
      if (first.done === true) return [];
      return [first.value, ...consumer.takeBuffered(limit - 1)];
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', stop);
      void consumer.return();
    }
  }

  subscribe(channel: string, callback: (publication: Publication) => void): Subscription {
    this.checkOpen();
    checkChannel(channel);
    if (typeof callback !== 'function') throw new TypeError('callback must be a function');
    return this.hub.subscribe(channel, callback);
  }

  close(): Future<void> {
    if (this.#closing !== null) return this.#closing;
    this.#closed = true;
    this.hub.close();
    this.#closing = toFuture(this.shutdown());
    return this.#closing;
  }
}
