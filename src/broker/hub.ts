/**
 * What both engines share: the local side of a channel. An engine stores publications and
 * hands live ones to {@link Hub.deliver}; the hub turns them into gapless, ordered feeds and
 * serves streams, waits and subscriptions from them.
 *
 * ```
 *  engine (memory / Redis pub/sub) ──deliver──► Feed (one per channel in this process)
 *                                                │ gapless, in offset order; a gap or a
 *                                                │ reconnect → one catch-up read for all
 *                 ┌──────────────────────────────┼───────────────────────┐
 *           StreamConsumer                 StreamConsumer (waitFor)   SubscriptionConsumer
 *           bounded buffer; when full it                               callback per publication
 *           stops buffering and re-reads
 *           the history once drained
 * ```
 *
 * Why a feed per channel: 1 000 local readers of a channel cost one Redis subscription and, after
 * an outage, one catch-up read, not a thousand. Why a bounded buffer per reader: a reader that
 * stops reading must not grow memory or slow the others; the history already keeps what it
 * missed, so it re-reads from there (or learns it fell too far behind).
 * @module
 */

import { Future, QuietFuture } from '../concurrent.ts';
import { BrokerClosedError, BrokerRecoveryError, BrokerUnavailableError } from '../errors.ts';
import { appLog } from '../log.ts';
import { Deque } from '../internal/deque.ts';
import { kPushResume, kPushTo, type PushSink } from '../internal/symbols.ts';
import {
  position,
  type HistoryResult,
  type Publication,
  type StreamPosition,
  type Subscription,
} from './types.ts';

/** Publications a stream buffers for a reader before it falls back to re-reading history. */
export const STREAM_BUFFER_SIZE = 1024;
// Live publications a feed holds while it catches up from history; past it, it reads again.
const FEED_PENDING_LIMIT = 10_000;
// Retry pace of a catch-up read while the engine is unavailable.
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 1000;

/** What the hub needs from an engine. */
export interface Engine {
  /** The channel's history after `since` and its latest position (the recovery rule applied). */
  read(channel: string, since: StreamPosition | null, limit: number): Promise<HistoryResult>;
  /** Start live delivery of `channel` to the hub; resolves with the channel's position then. */
  attach(channel: string): Promise<StreamPosition>;
  /** Stop live delivery of `channel`. */
  detach(channel: string): void;
  /** The channel's latest position right now, when the engine knows it without asking. */
  latestNow?(channel: string): StreamPosition | undefined;
  /** The largest history read the feed asks for. */
  readonly historySize: number;
  /**
   * Whether `error` is an outage to wait out (the server was reached before and is being
   * reconnected to), rather than a failure to report (no server at all, a closed broker).
   */
  transient?(error: unknown): boolean;
}

/** One reader of a feed. */
interface Consumer {
  /** The next publication of the channel, in order. */
  onPublication(publication: Publication): void;
  /** The feed could not deliver everything (epoch change, gap older than the history). */
  onLost(latest: StreamPosition, epochChanged: boolean): void;
  /** The broker closed. */
  onClose(): void;
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function recoveryError(channel: string, latest: StreamPosition, why: string): BrokerRecoveryError {
  return new BrokerRecoveryError(
    `cannot resume channel ${JSON.stringify(channel)}: ${why}; latest is ${latest.offset}@${latest.epoch}`,
    { position: latest },
  );
}

/** The live side of one channel in this process. */
class Feed {
  readonly channel: string;
  readonly consumers = new Set<Consumer>();
  /** Position of the last publication handed to the consumers; null until attached. */
  tail: StreamPosition | null = null;
  /** The channel's position when live delivery started. */
  attachedAt: StreamPosition | null = null;
  readonly ready: Promise<void>;
  #hub: Hub;
  #catching = false;
  #again = false;
  #pending: Publication[] = [];
  #pendingOverflow = false;
  detached = false;

  constructor(hub: Hub, channel: string) {
    this.#hub = hub;
    this.channel = channel;
    this.ready = hub.engine.attach(channel).then((pos) => {
      this.attachedAt = pos;
      this.tail = pos;
      const pending = this.#pending;
      this.#pending = [];
      for (const p of pending) this.accept(p);
    });
    // A failed attach is reported to each consumer through `ready`; mark it seen here.
    this.ready.catch(() => {});
  }

  /** A live publication from the engine, in the engine's order. */
  live(p: Publication): void {
    if (this.tail === null || this.#catching) {
      if (this.#pending.length < FEED_PENDING_LIMIT) this.#pending.push(p);
      else this.#pendingOverflow = true;
      return;
    }
    this.accept(p);
  }

  /** Hand `p` on if it is the next one; a gap starts a catch-up read. */
  accept(p: Publication): void {
    const tail = this.tail as StreamPosition;
    if (p.epoch !== tail.epoch) {
      this.#lost(position(p), true);
      this.tail = { offset: 0, epoch: p.epoch };
      return this.accept(p);
    }
    if (p.offset <= tail.offset) return;
    if (p.offset === tail.offset + 1) {
      this.tail = position(p);
      for (const consumer of this.consumers) consumer.onPublication(p);
      return;
    }
    this.#pending.push(p);
    this.catchUp();
  }

  /** Read what this feed missed (after a gap or a reconnect) and hand it on in order. */
  catchUp(): void {
    if (this.tail === null) return; // not attached yet: attaching reads the position anyway
    if (this.#catching) {
      this.#again = true;
      return;
    }
    this.#catching = true;
    void this.#catchUpLoop();
  }

  async #catchUpLoop(): Promise<void> {
    let delay = RETRY_MIN_MS;
    do {
      this.#again = false;
      this.#pendingOverflow = false;
      for (;;) {
        if (this.detached) return;
        const tail = this.tail as StreamPosition;
        let result: HistoryResult;
        try {
          result = await this.#hub.engine.read(this.channel, tail, this.#hub.engine.historySize);
        } catch (error) {
          if (this.detached) return;
          if (!(error instanceof BrokerUnavailableError)) {
            appLog.error(`broker: catching up channel ${JSON.stringify(this.channel)}`, error);
          }
          await sleepMs(delay);
          delay = Math.min(delay * 2, RETRY_MAX_MS);
          continue;
        }
        if (this.detached) return;
        if (!result.recovered) {
          if (result.position.epoch !== tail.epoch) {
            // The engine lost the channel (or moved it to a new epoch): streams cannot go on,
            // live subscribers continue from the new epoch's start.
            this.#lost(result.position, true);
            this.tail = { offset: 0, epoch: result.position.epoch };
            continue;
          }
          this.#lost(result.position, false);
          this.tail = result.position;
          break;
        }
        for (const p of result.publications) this.accept(p);
        if (result.position.offset <= (this.tail as StreamPosition).offset) break;
        if (result.publications.length === 0) break; // the history moved under us: read again later
      }
      this.#catching = false;
      const pending = this.#pending;
      this.#pending = [];
      for (const p of pending) {
        if (this.#catching) this.#pending.push(p);
        else this.accept(p);
      }
      if (this.#catching) return; // a pending publication started the next round
      if (this.#pendingOverflow) this.#again = true;
      if (this.#again) this.#catching = true;
    } while (this.#catching);
  }

  #lost(latest: StreamPosition, epochChanged: boolean): void {
    for (const consumer of this.consumers) consumer.onLost(latest, epochChanged);
  }
}

/** The local side of a broker: feeds per channel and their readers. */
export class Hub {
  readonly engine: Engine;
  readonly feeds = new Map<string, Feed>();
  closed = false;

  constructor(engine: Engine) {
    this.engine = engine;
  }

  /** A live publication from the engine (in the engine's order per channel). */
  deliver(p: Publication): void {
    this.feeds.get(p.channel)?.live(p);
  }

  /** After a reconnect: every feed reads what it may have missed. */
  resync(): void {
    for (const feed of this.feeds.values()) feed.catchUp();
  }

  /** The feed of `channel`, made (and attached) on first use. */
  feed(channel: string): Feed {
    let feed = this.feeds.get(channel);
    if (feed === undefined) {
      feed = new Feed(this, channel);
      this.feeds.set(channel, feed);
      const made = feed;
      made.ready.then(
        () => {
          // Every reader left while it attached.
          if (made.consumers.size === 0 && this.feeds.get(channel) === made) this.#drop(made);
        },
        () => {
          // A failed attach leaves nothing behind: the next reader tries again.
          if (this.feeds.get(channel) === made) {
            made.detached = true;
            this.feeds.delete(channel);
          }
        },
      );
    }
    return feed;
  }

  /**
   * Register `consumer` once the feed is attached; resolves with the feed and the position
   * after which the feed hands the consumer every publication. An attach that meets an
   * outage is tried again until the engine is back, as long as `wanted()`; resolves with
   * null when the consumer stopped wanting it meanwhile.
   */
  async join(
    channel: string,
    consumer: Consumer,
    wanted: () => boolean,
  ): Promise<{ feed: Feed; from: StreamPosition } | null> {
    let delay = RETRY_MIN_MS;
    for (;;) {
      const feed = this.feed(channel);
      // The feed hands on everything after its tail at this moment (or after the position
      // it attaches at).
      const tail = feed.tail === null ? null : position(feed.tail);
      feed.consumers.add(consumer);
      try {
        await feed.ready;
        return { feed, from: tail ?? (feed.attachedAt as StreamPosition) };
      } catch (error) {
        feed.consumers.delete(consumer);
        // A reader that starts during an outage waits for the engine like one open across it
        // (a failure here would end, say, an SSE response the client may not retry).
        if (!this.transient(error)) throw error;
      }
      await sleepMs(delay);
      delay = Math.min(delay * 2, RETRY_MAX_MS);
      if (this.closed) throw new BrokerClosedError();
      if (!wanted()) return null;
    }
  }

  /** Whether `error` is an outage that readers wait out. */
  transient(error: unknown): boolean {
    return !this.closed && this.engine.transient?.(error) === true;
  }

  /** Unregister `consumer`; the last one out detaches the channel. */
  leave(channel: string, consumer: Consumer): void {
    const feed = this.feeds.get(channel);
    if (feed === undefined || !feed.consumers.delete(consumer)) return;
    if (feed.consumers.size === 0 && feed.tail !== null) this.#drop(feed);
  }

  #drop(feed: Feed): void {
    feed.detached = true;
    this.feeds.delete(feed.channel);
    if (feed.tail !== null && !this.closed) this.engine.detach(feed.channel);
  }

  /** Close every reader with `BrokerClosedError`. */
  close(): void {
    this.closed = true;
    for (const feed of this.feeds.values()) {
      feed.detached = true;
      for (const consumer of feed.consumers) consumer.onClose();
      feed.consumers.clear();
    }
    this.feeds.clear();
  }

  /** A stream of `channel` after `since` (see `Broker.stream`). */
  stream(
    channel: string,
    since: StreamPosition | null,
    signal: AbortSignal | undefined,
  ): StreamConsumer {
    return new StreamConsumer(this, channel, since, signal);
  }

  /** A live subscription (see `Broker.subscribe`). */
  subscribe(channel: string, callback: (p: Publication) => void): Subscription {
    return new SubscriptionConsumer(this, channel, callback);
  }
}

type Reject = (error: unknown) => void;
type Settle = (result: IteratorResult<Publication>) => void;

/**
 * A reader that pulls: history after `since`, then the feed, in order, no gap, no duplicate.
 * The async iterator behind `Broker.stream` and `Broker.waitFor`.
 */
export class StreamConsumer implements AsyncIterableIterator<Publication>, Consumer {
  readonly #hub: Hub;
  readonly #channel: string;
  readonly #signal: AbortSignal | undefined;
  #since: StreamPosition | null;
  // Last publication queued for the reader (or the position it starts after).
  #tail: StreamPosition | null = null;
  // Made at the first publication, small: most held streams are idle most of the time.
  #buffer: Deque<Publication> | null = null;
  #started = false;
  #startDone = false;
  #startFailure: unknown = null;
  #reading = false;
  #pending: Publication[] | null = null;
  #behind = false;
  #pendingOverflow = false;
  #catching: Promise<void> | null = null;
  #error: unknown = null;
  #finished = false;
  #closedByBroker = false;
  // The next() call waiting, as its promise's two functions (no closure per call), and a list
  // only when a caller does not await each next() (an idle stream holds no array).
  #parkedResolve: Settle | null = null;
  #parkedReject: Reject | null = null;
  #moreParked: Array<[Settle, Reject]> | null = null;
  // Push mode: the reader takes publications as they come (no promise per publication).
  #sink: PushSink<Publication> | null = null;
  #sinkPaused = false;
  #pumping = false;
  #pumpAgain = false;
  readonly #onAbort: (() => void) | undefined;

  constructor(hub: Hub, channel: string, since: StreamPosition | null, signal?: AbortSignal) {
    this.#hub = hub;
    this.#channel = channel;
    this.#since = since;
    this.#signal = signal;
    if (signal !== undefined) {
      this.#onAbort = (): void => this.#notify();
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * Push mode: from now on every publication goes to `sink.push` in order (history first, as
   * `next()` would hand it), and `sink.end` says how the stream ended. A live publication
   * meeting an idle sink goes straight through, with no buffer, promise or result object.
   * A paused sink lets publications queue in the same bounded buffer a slow `next()` reader
   * has, then fall back to re-reading the history.
   */
  [kPushTo](sink: PushSink<Publication>): void {
    if (this.#sink !== null || this.#started) {
      throw new TypeError('this stream is already being read');
    }
    this.#sink = sink;
    this.#pump();
  }

  /** The paused sink takes publications again. */
  [kPushResume](): void {
    if (!this.#sinkPaused) return;
    this.#sinkPaused = false;
    this.#pump();
  }

  /** Publications queued for the reader right now (waitFor takes them in one go). */
  takeBuffered(max: number): Publication[] {
    const out: Publication[] = [];
    const buffer = this.#buffer;
    if (buffer === null) return out;
    while (out.length < max && buffer.length > 0) out.push(buffer.shift() as Publication);
    return out;
  }

  next(): Promise<IteratorResult<Publication>> {
    if (this.#sink !== null) {
      return Promise.reject(
        new TypeError('this stream pushes to a sink; it is not read by next()'),
      );
    }
    return new Promise((resolve, reject) => this.#advance(resolve, reject));
  }

  /**
   * Settle one next() call, or park it until something happens (a publication, the start
   * settling, an abort, close). Parking keeps only the caller's promise and its resolvers: no
   * suspended async frame per held stream.
   */
  #advance(resolve: Settle, reject: Reject): void {
    try {
      if (this.#closedByBroker) return reject(new BrokerClosedError());
      if (this.#finished) return resolve({ done: true, value: undefined });
      if (this.#aborted()) return resolve(this.#finish());
      if (!this.#started) {
        this.#started = true;
        this.#start().then(
          () => this.#startSettled(null),
          (error: unknown) => this.#startSettled(error),
        );
      }
      if (this.#startDone) {
        if (this.#startFailure !== null) {
          this.#finish();
          return reject(this.#startFailure);
        }
        const p = this.#buffer?.shift();
        if (p !== undefined) return resolve({ done: false, value: p });
        if (this.#error !== null) {
          const error = this.#error;
          this.#finish();
          return reject(error);
        }
        if (this.#behind) {
          this.#catchUp().then(() => this.#advance(resolve, reject), reject);
          return;
        }
      }
      if (this.#parkedResolve === null) {
        this.#parkedResolve = resolve;
        this.#parkedReject = reject;
      } else {
        (this.#moreParked ??= []).push([resolve, reject]);
      }
    } catch (error) {
      reject(error);
    }
  }

  #startSettled(failure: unknown): void {
    this.#startDone = true;
    this.#startFailure = failure;
    this.#notify();
  }

  async return(): Promise<IteratorResult<Publication>> {
    return this.#finish();
  }

  #finish(): IteratorResult<Publication> {
    if (!this.#finished) {
      this.#finished = true;
      if (this.#onAbort !== undefined) this.#signal?.removeEventListener('abort', this.#onAbort);
      this.#hub.leave(this.#channel, this);
      this.#buffer?.clear();
      this.#notify();
    }
    return { done: true, value: undefined };
  }

  #aborted(): boolean {
    return this.#signal?.aborted === true;
  }

  // The reader no longer waits for anything: finished, closed with the broker, or aborted.
  #gone(): boolean {
    return this.#finished || this.#closedByBroker || this.#aborted();
  }

  #notify(): void {
    if (this.#sink !== null) return this.#pump();
    const resolve = this.#parkedResolve;
    if (resolve === null) return;
    const reject = this.#parkedReject as Reject;
    const more = this.#moreParked;
    this.#parkedResolve = null;
    this.#parkedReject = null;
    this.#moreParked = null;
    this.#advance(resolve, reject);
    if (more !== null) for (const [res, rej] of more) this.#advance(res, rej);
  }

  // Push mode's #advance: hand the sink everything available, then wait for a #notify.
  #pump(): void {
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#pumpAgain = false;
        this.#pumpOnce();
      } while (this.#pumpAgain && this.#sink !== null);
    } catch (error) {
      this.#finish();
      this.#endPush(error);
    } finally {
      this.#pumping = false;
    }
  }

  #pumpOnce(): void {
    if (this.#closedByBroker) return this.#endPush(new BrokerClosedError());
    if (this.#finished) return this.#endPush(undefined);
    if (this.#aborted()) {
      this.#finish();
      return this.#endPush(undefined);
    }
    if (!this.#started) {
      this.#started = true;
      this.#start().then(
        () => this.#startSettled(null),
        (error: unknown) => this.#startSettled(error),
      );
      return;
    }
    if (!this.#startDone || this.#sinkPaused) return;
    if (this.#startFailure !== null) {
      this.#finish();
      return this.#endPush(this.#startFailure);
    }
    const sink = this.#sink as PushSink<Publication>;
    const buffer = this.#buffer;
    if (buffer !== null) {
      while (buffer.length > 0) {
        if (!sink.push(buffer.shift() as Publication)) {
          this.#sinkPaused = true;
          return;
        }
        if (this.#sink === null || this.#finished) return void (this.#pumpAgain = true);
      }
    }
    if (this.#error !== null) {
      const error = this.#error;
      this.#finish();
      return this.#endPush(error);
    }
    if (this.#behind) {
      this.#catchUp().then(
        () => this.#pump(),
        (error: unknown) => {
          this.#finish();
          this.#endPush(error);
        },
      );
    }
  }

  #endPush(error: unknown): void {
    const sink = this.#sink;
    if (sink === null) return;
    this.#sink = null;
    sink.end(error);
  }

  async #start(): Promise<void> {
    this.#reading = true;
    const joined = await this.#hub.join(this.#channel, this, () => !this.#gone());
    if (joined === null || this.#finished) return;
    const since = this.#since;
    // The feed hands this reader everything after `from`: a `since` equal to it needs no
    // history read.
    const tail = joined.from;
    if (since !== null && since.epoch === tail.epoch && since.offset === tail.offset) {
      // Resuming from where the channel is: nothing to read, the feed has the rest.
      this.#tail = since;
      this.#reading = false;
      this.#drainPending();
      return;
    }
    await this.#read(since, true);
  }

  /** Read history after `since` (the reader's tail) while the feed's publications wait. */
  async #read(since: StreamPosition | null, first: boolean): Promise<void> {
    this.#reading = true;
    let result: HistoryResult | undefined;
    let delay = RETRY_MIN_MS;
    while (result === undefined) {
      try {
        result = await this.#hub.engine.read(this.#channel, since, STREAM_BUFFER_SIZE);
      } catch (error) {
        // An outage is waited out, by a running stream and by one that starts during it (the
        // engine was reached before); no server at all fails the first step.
        const outage = first ? this.#hub.transient(error) : error instanceof BrokerUnavailableError;
        if (!outage) {
          this.#reading = false;
          throw error;
        }
        if (this.#gone()) return;
        await sleepMs(delay);
        delay = Math.min(delay * 2, RETRY_MAX_MS);
      }
    }
    this.#reading = false;
    if (!result.recovered) {
      this.#error = recoveryError(
        this.#channel,
        result.position,
        since !== null && since.epoch !== result.position.epoch
          ? 'the position is from another epoch'
          : 'the position is not in the history',
      );
      this.#pending = null;
      return;
    }
    if (this.#tail === null) this.#tail = since ?? result.position;
    if (since === null && result.publications.length > 0) {
      const firstPub = result.publications[0] as Publication;
      this.#tail = { offset: firstPub.offset - 1, epoch: firstPub.epoch };
    }
    this.#behind = false;
    for (const p of result.publications) this.#queue(p);
    const tail = this.#tail;
    if (tail.epoch === result.position.epoch && result.position.offset > tail.offset) {
      this.#behind = true; // more than one read's worth: the rest comes on the next turn
    }
    this.#drainPending();
  }

  #drainPending(): void {
    const pending = this.#pending;
    this.#pending = null;
    if (pending !== null) for (const p of pending) this.onPublication(p);
    if (this.#pendingOverflow) {
      this.#pendingOverflow = false;
      this.#behind = true;
    }
    this.#notify();
  }

  // One catch-up read at a time, shared by concurrent next() calls.
  #catchUp(): Promise<void> {
    this.#catching ??= this.#read(this.#tail, false).finally(() => {
      this.#catching = null;
    });
    return this.#catching;
  }

  // Queue `p` if it is the next one; when the buffer is full, stop and re-read later.
  #queue(p: Publication): void {
    const tail = this.#tail as StreamPosition;
    if (p.epoch !== tail.epoch) {
      if (this.#error === null) {
        this.#error = recoveryError(this.#channel, position(p), 'the epoch changed');
      }
      return;
    }
    if (p.offset <= tail.offset) return;
    const buffer = (this.#buffer ??= new Deque<Publication>(4));
    if (p.offset !== tail.offset + 1 || buffer.length >= STREAM_BUFFER_SIZE) {
      this.#behind = true;
      return;
    }
    buffer.push(p);
    this.#tail = p; // a Publication is a position too: no object per delivery
  }

  onPublication(p: Publication): void {
    if (this.#finished || this.#error !== null) return;
    if (this.#reading) {
      const pending = (this.#pending ??= []);
      if (pending.length < STREAM_BUFFER_SIZE) pending.push(p);
      else this.#pendingOverflow = true;
      return;
    }
    if (this.#behind) return;
    const sink = this.#sink;
    if (
      sink !== null &&
      this.#startDone &&
      !this.#sinkPaused &&
      !this.#pumping &&
      (this.#buffer === null || this.#buffer.length === 0)
    ) {
      // Push mode's fast path: the next publication, nothing waiting before it.
      const tail = this.#tail as StreamPosition;
      if (p.epoch === tail.epoch && p.offset === tail.offset + 1) {
        this.#tail = p;
        this.#pumping = true;
        try {
          if (!sink.push(p)) this.#sinkPaused = true;
        } catch (error) {
          this.#finish();
          this.#endPush(error);
        } finally {
          this.#pumping = false;
        }
        // The sink may have ended the stream while it ran (return() → #notify → #pump).
        if (this.#pumpAgain) this.#pump();
        return;
      }
    }
    this.#queue(p);
    this.#notify();
  }

  onLost(latest: StreamPosition, epochChanged: boolean): void {
    if (this.#finished || this.#error !== null) return;
    this.#error = recoveryError(
      this.#channel,
      latest,
      epochChanged ? 'the epoch changed' : 'publications were lost',
    );
    this.#pending = null;
    this.#notify();
  }

  onClose(): void {
    if (this.#finished) return;
    this.#closedByBroker = true;
    this.#finished = true;
    if (this.#onAbort !== undefined) this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#buffer?.clear();
    this.#notify();
  }
}

/** A live subscription: a callback per publication, from `ready` until `close()`. */
class SubscriptionConsumer implements Subscription, Consumer {
  readonly ready: Future<void>;
  readonly #hub: Hub;
  readonly #channel: string;
  readonly #callback: (p: Publication) => void;
  #closed = false;
  #live = false;
  // Publications up to here were published before the subscription was ready.
  #floor: StreamPosition | null = null;

  constructor(hub: Hub, channel: string, callback: (p: Publication) => void) {
    this.#hub = hub;
    this.#channel = channel;
    this.#callback = callback;
    // Quiet: a subscriber that never awaits `ready` must not get an unretrieved-error report.
    this.ready = new QuietFuture<void>();
    hub
      .join(channel, this, () => !this.#closed)
      .then(
        (joined) => {
          if (joined === null || this.#closed) return;
          this.#floor = hub.engine.latestNow?.(channel) ?? joined.feed.tail;
          this.#live = true;
          this.ready.setResult(undefined);
        },
        (error: unknown) => {
          this.#closed = true;
          if (!this.ready.done()) this.ready.setException(error);
        },
      );
  }

  close(): Future<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#hub.leave(this.#channel, this);
      if (!this.ready.done()) this.ready.setResult(undefined);
    }
    const done = new Future<void>();
    done.setResult(undefined);
    return done;
  }

  onPublication(p: Publication): void {
    if (this.#closed || !this.#live) return;
    const floor = this.#floor;
    if (floor !== null && p.epoch === floor.epoch && p.offset <= floor.offset) return;
    this.#floor = null;
    try {
      this.#callback(p);
    } catch (error) {
      appLog.error(`broker: subscriber of channel ${JSON.stringify(this.#channel)} failed`, error);
    }
  }

  onLost(latest: StreamPosition, epochChanged: boolean): void {
    if (this.#closed || !this.#live || epochChanged) return;
    appLog.warning(
      `broker: subscriber of channel ${JSON.stringify(this.#channel)} missed publications ` +
        `older than the history; continuing at ${latest.offset}@${latest.epoch}`,
    );
  }

  onClose(): void {
    this.#closed = true;
    if (!this.ready.done()) this.ready.setException(new BrokerClosedError());
  }
}
