/**
 * `EventSourceHandler`: Server-Sent Events, the `text/event-stream` a browser's `EventSource`
 * reads. A handler whose `get()` sends events for as long as it runs: the status line and
 * headers go out when `get()` starts (so the browser's `open` fires before the first event),
 * each {@link EventSourceHandler.sendEvent} is written to the socket at once (never buffered,
 * never compressed), and the response ends when `get()` returns. While the stream is idle a
 * comment line goes out every `sseHeartbeatInterval` ms, so proxies and the client's own
 * timeouts see a live connection. A client that stops reading is closed once more than
 * `sseMaxWriteBuffer` bytes wait for it, instead of growing the server's memory.
 *
 * {@link EventSourceHandler.relay} sends a broker stream (or any async iterable) until either
 * side ends, encoding each publication once for all the clients of a process. For a broadcast
 * of your own, encode the event once with {@link EventSourceHandler.encodeEvent} and hand the
 * same bytes to every client with {@link EventSourceHandler.sendEncoded}: fanning one message
 * out to 100,000 clients then costs one encoding, not 100,000.
 *
 * @example
 * ```ts
 * const toEvent = (pub: Publication) => ({ id: formatPosition(pub), data: pub.data });
 *
 * class Events extends EventSourceHandler {
 *   async get(channel: string) {
 *     // A first visit reads the kept history. parsePosition throws on a malformed id:
 *     // examples/realtime answers that, and BrokerRecoveryError, with a reload event.
 *     const since = this.lastEventId === null ? null : parsePosition(this.lastEventId);
 *     await this.relay(broker.stream(channel, { since }), toEvent);
 *   }
 * }
 * ```
 * Tornado: none (Tornado users write `text/event-stream` by hand with `write()` + `flush()`).
 * @module
 */

import { Buffer } from 'node:buffer';
import type * as net from 'node:net';
import { Future, QuietFuture } from '../concurrent.ts';
import { HTTPOutputError, StreamClosedError } from '../errors.ts';
import { genLog } from '../log.ts';
import {
  kConnectionClose,
  kFinished,
  kMethodStart,
  kPushResume,
  kPushTo,
  kSetTransforms,
  type PushSink,
} from '../internal/symbols.ts';
import { RequestHandler } from './request-handler.ts';

/** One Server-Sent Event. At least one field must be given. */
export interface ServerSentEvent {
  /**
   * The payload: a string is sent as it is (each line break — CRLF, CR or LF — starts a new
   * `data:` line, so the client sees the same text); anything else is sent as
   * `JSON.stringify(data)` (the client `JSON.parse`s `event.data`). Absent: no `data:` line
   * (a browser then dispatches nothing, but `id` and `retry` still take effect).
   */
  data?: unknown;
  /** The event's id, which the client sends back as `Last-Event-ID` when it reconnects. */
  id?: string | number;
  /** The event type (`addEventListener(type, …)` on the client); default `message`. */
  event?: string;
  /** How long the client waits before reconnecting, in ms (a non-negative integer). */
  retry?: number;
}

/** Default of the `sseHeartbeatInterval` application setting, in ms. */
export const DEFAULT_SSE_HEARTBEAT_INTERVAL = 15_000;
/** Default of the `sseMaxWriteBuffer` application setting, in bytes (1 MiB). */
export const DEFAULT_SSE_MAX_WRITE_BUFFER = 1024 * 1024;

const LINE_BREAK = /\r\n|\r|\n/g;
const HAS_LINE_BREAK = /[\r\n]/;
const BAD_ID = /[\r\n\0]/;
// A comment line: clients ignore it, proxies see traffic. Shared by every connection.
const HEARTBEAT = Buffer.from(':\n', 'latin1');
// encodeOnce's encodings, by the object they were made for.
const encodedByKey = new WeakMap<object, Buffer>();
// relay()'s encodings: per `toEvent` function, then per item (an item may be relayed with
// different functions, each its own event).
const relayEncodings = new WeakMap<Function, WeakMap<object, Uint8Array>>();

/** What the handler holds of a running relay. */
interface RelayControl {
  stop(): void;
  waitForDrain(socket: net.Socket): void;
}

/** How a relay can write: set by EventSourceHandler, which alone sees its own fields. */
let relayWrite: (handler: EventSourceHandler, bytes: Uint8Array, relay: RelayControl) => boolean;
/** A relay ended: set by EventSourceHandler. */
let relayEnded: (handler: EventSourceHandler, relay: RelayControl) => void;

/** One heartbeat timer for every open stream with the same interval. */
interface Sweep {
  interval: number;
  timer: ReturnType<typeof setInterval>;
  handlers: Set<EventSourceHandler>;
}
// A timer per held connection cost ~190 bytes of heap (a Timeout and its list entry); a Set
// entry in one shared sweep costs a few dozen, and a tick visits each idle stream once.
const sweeps = new Map<number, Sweep>();

/** `prefix` before each line of `text`, every line ended with LF. */
function prefixLines(prefix: string, text: string): string {
  if (!HAS_LINE_BREAK.test(text)) return `${prefix}${text}\n`;
  return `${prefix}${text.replace(LINE_BREAK, `\n${prefix}`)}\n`;
}

/** The wire text of one event; throws (writing nothing) when a field cannot be sent. */
function eventText(event: ServerSentEvent): string {
  if (event === null || typeof event !== 'object') {
    throw new TypeError('an event is an object: {data, id, event, retry}');
  }
  let out = '';
  const { id, event: type, retry, data } = event;
  if (id !== undefined && id !== null) {
    if (typeof id !== 'string' && typeof id !== 'number') {
      throw new TypeError(`an event id is a string or a number, got ${typeof id}`);
    }
    const text = String(id);
    // A client ignores an id with NUL, so it is refused like one with a line break.
    if (BAD_ID.test(text)) throw new TypeError('an event id cannot contain CR, LF or NUL');
    out += `id: ${text}\n`;
  }
  if (type !== undefined && type !== null) {
    if (typeof type !== 'string') {
      throw new TypeError(`an event type is a string, got ${typeof type}`);
    }
    if (HAS_LINE_BREAK.test(type)) throw new TypeError('an event type cannot contain CR or LF');
    out += `event: ${type}\n`;
  }
  if (retry !== undefined && retry !== null) {
    if (typeof retry !== 'number') throw new TypeError(`retry is a number, got ${typeof retry}`);
    if (!Number.isSafeInteger(retry) || retry < 0) {
      throw new RangeError(`retry is a non-negative integer of ms, got ${retry}`);
    }
    out += `retry: ${retry}\n`;
  }
  if (data !== undefined) {
    let text: string | undefined;
    if (typeof data === 'string') text = data;
    else {
      text = JSON.stringify(data) as string | undefined;
      if (text === undefined) throw new TypeError(`event data of type ${typeof data} has no JSON`);
    }
    out += prefixLines('data: ', text);
  }
  if (out === '') throw new TypeError('an event needs at least one of data, id, event, retry');
  return `${out}\n`;
}

/**
 * A handler that streams Server-Sent Events from its `get()`. See the module documentation.
 * Set headers of your own in `prepare()` or `setDefaultHeaders()` (they are sent when `get()`
 * starts), and refuse a request there too (`throw new HTTPError(403)`): once `get()` runs,
 * the `200` is on the wire.
 *
 * Settings read: `sseHeartbeatInterval` (ms, default 15 000; 0 turns heartbeats off) and
 * `sseMaxWriteBuffer` (bytes, default 1 MiB). The bound counts every byte node holds for the
 * client, including those sent in the current loop turn: a burst of more than
 * `sseMaxWriteBuffer` bytes of unawaited events counts as falling behind. Await `sendEvent`
 * (its Future resolves once the bytes reached the OS) to send more at once; a single event
 * larger than the bound still goes out when nothing else waits. When a client is cut off,
 * `onConnectionClose()` runs and `signal` aborts right then.
 *
 * Tornado: none (Tornado users write `text/event-stream` by hand).
 */
export class EventSourceHandler extends RequestHandler {
  /**
   * This handler class's write bound in bytes, when it should differ from the application's
   * `sseMaxWriteBuffer` setting (e.g. a feed of large events). Default: the setting.
   *
   * @example
   * ```ts
   * class BigFeed extends EventSourceHandler {
   *   static override maxWriteBufferSize = 8 * 1024 * 1024;
   * }
   * ```
   * Tornado: none (`IOStream.max_write_buffer_size` is the nearest).
   */
  static maxWriteBufferSize: number | undefined = undefined;

  // Set when the stream opens: what the write bound measures (node's own buffer of unsent
  // bytes for this socket), the bound, and the shared heartbeat sweep this stream is in.
  #socket: net.Socket | undefined;
  #maxWriteBuffer = DEFAULT_SSE_MAX_WRITE_BUFFER;
  #sweep: Sweep | undefined;
  // Something was written since the last heartbeat tick: a boolean, so a write pays no clock
  // read and no timer refresh (a heartbeat comes 1-2 intervals after the last write).
  #wrote = false;
  // Once the stream is closed every send returns this one failed Future.
  #closedFuture: QuietFuture<void> | undefined;
  // onConnectionClose() ran (the server's notice, or our own cut-off of a slow client).
  #closeNotified = false;
  // Running relay() calls: a field for the usual one, a Set only for more at once.
  #relay: RelayControl | undefined;
  #moreRelays: Set<RelayControl> | undefined;

  /**
   * Encode `event` once, to send the same bytes to many clients with
   * {@link EventSourceHandler.sendEncoded}. Throws `TypeError` (or `RangeError` for `retry`)
   * for an event that cannot be sent: an `id` or `event` with CR or LF (or an `id` with NUL),
   * data without a JSON form, or no field at all.
   *
   * @example
   * ```ts
   * const bytes = EventSourceHandler.encodeEvent({ id: '7@e1', data: { text: 'hi' } });
   * for (const client of clients) void client.sendEncoded(bytes);
   * ```
   * Tornado: none.
   */
  static encodeEvent(event: ServerSentEvent): Buffer {
    return Buffer.from(eventText(event), 'utf8');
  }

  /**
   * The encoding of the event `make()` returns, made once per `key` object and kept while the
   * key lives (a `WeakMap`): when every client streams the same publication object (as a
   * broker's streams hand out), each client's `sendEncoded` gets the same Buffer and the event
   * is encoded once, not once per client.
   *
   * @example
   * ```ts
   * for await (const pub of broker.stream(room, { since, signal: this.signal })) {
   *   const bytes = EventSourceHandler.encodeOnce(pub, () => ({
   *     id: formatPosition(pub),
   *     data: pub.data,
   *   }));
   *   await this.sendEncoded(bytes);
   * }
   * ```
   * Tornado: none.
   */
  static encodeOnce(key: object, make: () => ServerSentEvent): Buffer {
    let bytes = encodedByKey.get(key);
    if (bytes === undefined) {
      bytes = Buffer.from(eventText(make()), 'utf8');
      encodedByKey.set(key, bytes);
    }
    return bytes;
  }

  /**
   * Encode a comment: each line of `text` becomes a `:` line, so no text ever makes a field.
   *
   * @example
   * ```ts
   * const bytes = EventSourceHandler.encodeComment('server restarting');
   * ```
   * Tornado: none.
   */
  static encodeComment(text: string): Buffer {
    return Buffer.from(prefixLines(': ', String(text)), 'utf8');
  }

  /**
   * The id the client last saw: the `Last-Event-ID` header (sent by `EventSource` when it
   * reconnects), else the `lastEventId` query argument (for a client that opens a new
   * `EventSource` with its last id in the URL), else `null`. An empty value counts as absent.
   *
   * @example
   * ```ts
   * const since = this.lastEventId === null ? undefined : parsePosition(this.lastEventId);
   * ```
   * Tornado: none.
   */
  get lastEventId(): string | null {
    const header = this.request.rawHeader('Last-Event-ID');
    if (header !== undefined && header !== '') return header;
    const query = this.getQueryArgument('lastEventId', null, false);
    return query === null || query === '' ? null : query;
  }

  /**
   * Send one event. The Future resolves once the bytes were handed to the OS, and fails with
   * {@link StreamClosedError} when the client is gone, the stream was finished, or the client
   * fell more than `sseMaxWriteBuffer` bytes behind (the connection is then closed). An
   * unawaited failure is never reported as lost: the close itself is reported through
   * `onConnectionClose()` and `signal`. A refused event (see
   * {@link EventSourceHandler.encodeEvent}) throws and writes nothing.
   *
   * @example
   * ```ts
   * await this.sendEvent({ event: 'joined', id: 12, data: { user: 'ann' } });
   * ```
   * Tornado: none.
   */
  sendEvent(event: ServerSentEvent): Future<void> {
    const text = eventText(event);
    // Checked before encoding: a loop that keeps sending to a closed stream copies nothing.
    const closed = this.#closedFuture;
    if (closed !== undefined) return closed;
    return this.sendEncoded(Buffer.from(text, 'utf8'));
  }

  /**
   * Send a comment (clients ignore it; useful to keep a proxy's connection alive). A
   * multi-line text becomes several comment lines, never a field. Resolves like
   * {@link EventSourceHandler.sendEvent}.
   *
   * @example
   * ```ts
   * await this.sendComment('still here');
   * ```
   * Tornado: none.
   */
  sendComment(text: string): Future<void> {
    const closed = this.#closedFuture;
    if (closed !== undefined) return closed;
    return this.sendEncoded(Buffer.from(prefixLines(': ', String(text)), 'utf8'));
  }

  /**
   * Send bytes made by {@link EventSourceHandler.encodeEvent} (or other well-formed
   * `text/event-stream` bytes) as they are: the same Buffer can go to every client of a
   * broadcast. Resolves like {@link EventSourceHandler.sendEvent}.
   *
   * @example
   * ```ts
   * const bytes = EventSourceHandler.encodeEvent({ data: 'tick' });
   * await Promise.all([...handlers].map((h) => h.sendEncoded(bytes)));
   * ```
   * Tornado: none.
   */
  sendEncoded(bytes: Uint8Array): Future<void> {
    const closed = this.#closedFuture;
    if (closed !== undefined) return closed;
    let socket = this.#socket;
    if (socket === undefined) {
      this.#open();
      socket = this.#socket;
      if (socket === undefined) return this.#closed('the event stream is not open');
    }
    if (this.finished) return this.#closed('the event stream was finished');
    if (socket.destroyed) return this.#closed('the client closed the event stream');
    const pending = socket.writableLength;
    if (pending > 0 && pending + bytes.length > this.#maxWriteBuffer) {
      return this.#tooSlow(socket, pending);
    }
    const future = new QuietFuture<void>();
    this.#wrote = true;
    this.request.connection!.write(bytes, (error) => {
      if (error) future.setException(new StreamClosedError(undefined, { realError: error }));
      else future.setResult(undefined);
    });
    return future;
  }

  /**
   * Send every item of `source` as an event, as it comes, until `source` ends or the client
   * leaves; the Future then resolves. It fails with the error of `source` (for a broker
   * stream, `BrokerRecoveryError` when the client's position cannot be resumed: tell the page
   * to reload) or of `toEvent` (a `TypeError` for an event that cannot be sent), after ending
   * `source`. Ending the stream from the handler (`finish()`) or the client leaving ends
   * `source` too (its `return()`), so a broker stream needs no `signal`.
   *
   * `toEvent(item)` makes the event of one item: a {@link ServerSentEvent}, or bytes from
   * {@link EventSourceHandler.encodeEvent}. Its result is kept per item object and function
   * while the item lives, so a publication relayed to every client of a process is encoded
   * once when they share one `toEvent` (a module-level function, not a closure per request).
   *
   * A client that reads slowly is never buffered for without bound: once node holds more than
   * the socket's high-water mark for it, the relay waits for the socket to drain, and the
   * source holds what comes meanwhile (a broker stream keeps a bounded buffer, then re-reads
   * its history, or fails with `BrokerRecoveryError` when the client fell out of it).
   *
   * A broker stream is relayed without a promise per event (publications are pushed to the
   * socket as they arrive); any other async iterable is read with `next()`.
   *
   * @example
   * ```ts
   * const toEvent = (pub: Publication) => ({ id: formatPosition(pub), data: pub.data });
   *
   * class Events extends EventSourceHandler {
   *   async get(channel: string) {
   *     const since = this.lastEventId === null ? null : parsePosition(this.lastEventId);
   *     try {
   *       await this.relay(broker.stream(channel, { since }), toEvent);
   *     } catch (error) {
   *       if (!(error instanceof BrokerRecoveryError)) throw error;
   *       await this.sendEvent({ event: 'reset', data: error.message });
   *     }
   *   }
   * }
   * ```
   * Tornado: none.
   */
  relay<T>(
    source: AsyncIterable<T>,
    toEvent: (item: T) => ServerSentEvent | Uint8Array,
  ): Future<void> {
    if (typeof toEvent !== 'function') {
      throw new TypeError('relay(source, toEvent): toEvent is a function');
    }
    const iterator = source[Symbol.asyncIterator]();
    const future = new Future<void>();
    if (this.#socket === undefined) this.#open();
    if (this.#socket === undefined || this.#closedFuture !== undefined) {
      // Nothing will be sent: end the source (it may hold a broker subscription).
      endQuietly(iterator);
      future.setResult(undefined);
      return future;
    }
    let cache = relayEncodings.get(toEvent);
    if (cache === undefined) {
      cache = new WeakMap();
      relayEncodings.set(toEvent, cache);
    }
    const relay = new Relay<T>(this, iterator, toEvent, cache, future);
    if (this.#relay === undefined) this.#relay = relay;
    else (this.#moreRelays ??= new Set()).add(relay);
    relay.start();
    return future;
  }

  static {
    relayWrite = (handler, bytes, relay): boolean => {
      if (handler.#closedFuture !== undefined) return false;
      const socket = handler.#socket as net.Socket;
      if (handler.finished || socket.destroyed) {
        void handler.#closed('the client closed the event stream');
        return false;
      }
      const pending = socket.writableLength;
      if (pending > 0 && pending + bytes.length > handler.#maxWriteBuffer) {
        void handler.#tooSlow(socket, pending);
        return false;
      }
      handler.#wrote = true;
      // No callback: a failed write closes the connection, which ends the relay.
      handler.request.connection!.write(bytes);
      if (!socket.writableNeedDrain) return true;
      relay.waitForDrain(socket);
      return false;
    };
    relayEnded = (handler, relay): void => {
      if (handler.#relay === relay) handler.#relay = undefined;
      else handler.#moreRelays?.delete(relay);
    };
  }

  /** `get()` is starting: send the status line and headers now. */
  override [kMethodStart](): void {
    if (this.request.method === 'GET') this.#open();
  }

  #open(): void {
    if (this.#socket !== undefined || this.#closedFuture !== undefined) return;
    const connection = this.request.connection;
    if (connection === undefined) throw new HTTPOutputError('request has no connection');
    if (this.finished) {
      void this.#closed('the event stream was finished');
      return;
    }
    if (!this.headersWritten) {
      this.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
      this.setHeader('Cache-Control', 'no-cache');
      // nginx buffers responses unless told not to.
      this.setHeader('X-Accel-Buffering', 'no');
      this.clearHeader('Content-Length');
      // Never compressed: a gzip stream holds events back until its block fills.
      this[kSetTransforms](null);
      // A failure here is the client leaving, which onConnectionClose and `signal` report.
      this.flush().then(undefined, ignore);
    }
    this.#socket = connection.raw.socket;
    const settings = this.settings;
    const limit =
      (this.constructor as typeof EventSourceHandler).maxWriteBufferSize ??
      settings.sseMaxWriteBuffer;
    if (typeof limit === 'number' && limit >= 0) this.#maxWriteBuffer = limit;
    const interval = settings.sseHeartbeatInterval ?? DEFAULT_SSE_HEARTBEAT_INTERVAL;
    if (typeof interval === 'number' && interval > 0) {
      let sweep = sweeps.get(interval);
      if (sweep === undefined) {
        const handlers = new Set<EventSourceHandler>();
        const timer = setInterval(EventSourceHandler.#sweepTick, interval, handlers);
        timer.unref();
        sweep = { interval, timer, handlers };
        sweeps.set(interval, sweep);
      }
      // The shared timer's next tick may come at once: the headers count as a write, so the
      // first heartbeat comes 1-2 intervals after the open, as after any write.
      this.#wrote = true;
      sweep.handlers.add(this);
      this.#sweep = sweep;
    }
  }

  /** One tick of a shared heartbeat timer: each of its streams in turn. */
  static #sweepTick(this: void, handlers: Set<EventSourceHandler>): void {
    for (const handler of handlers) EventSourceHandler.#tick(handler);
  }

  /** Heartbeat tick: a comment, unless something was written since the last tick. */
  static #tick(this: void, handler: EventSourceHandler): void {
    if (handler.#wrote) {
      handler.#wrote = false;
      return;
    }
    if (handler.#closedFuture !== undefined) return;
    void handler.sendEncoded(HEARTBEAT);
    handler.#wrote = false;
  }

  /** The client fell too far behind: cut it off, once, and fail this send. */
  #tooSlow(socket: net.Socket, pending: number): QuietFuture<void> {
    const message =
      `event stream client too slow: ${pending} bytes unsent, over sseMaxWriteBuffer ` +
      `(${this.#maxWriteBuffer}); closing ${this.requestSummary()}`;
    genLog.info(message);
    const future = this.#closed(message);
    // A reset, not a FIN: nothing queued for this client will be read anyway, and the
    // kernel frees its buffers at once instead of trying to deliver them.
    socket.resetAndDestroy();
    // The connection is gone now: say so now. The server's own notice comes a loop turn
    // later, by when a get() that was waiting on these sends may have finished the request
    // (and a finished request is never told its client left).
    this[kConnectionClose]();
    return future;
  }

  /** Stop the heartbeat and relays, and fail every later send with one shared Future. */
  #closed(message: string): QuietFuture<void> {
    this.#stopHeartbeat();
    if (this.#relay !== undefined) {
      this.#relay.stop();
      this.#relay = undefined;
    }
    if (this.#moreRelays !== undefined) {
      for (const relay of this.#moreRelays) relay.stop();
      this.#moreRelays = undefined;
    }
    let future = this.#closedFuture;
    if (future === undefined) {
      future = new QuietFuture<void>();
      future.setException(new StreamClosedError(message));
      this.#closedFuture = future;
    }
    return future;
  }

  #stopHeartbeat(): void {
    const sweep = this.#sweep;
    if (sweep === undefined) return;
    this.#sweep = undefined;
    sweep.handlers.delete(this);
    if (sweep.handlers.size === 0 && sweeps.get(sweep.interval) === sweep) {
      clearInterval(sweep.timer);
      sweeps.delete(sweep.interval);
    }
  }

  /**
   * As {@link RequestHandler.logException}, except that a {@link StreamClosedError} (from a
   * send) or an `AbortError` (from something given `signal`) after the client left is not
   * logged: the client going away is the normal end of a stream, already reported through
   * `onConnectionClose()` and `signal`, so `get()` may simply let it propagate.
   */
  override logException(error: unknown): void {
    const clientLeft = this.#closeNotified || this.request.connection?.closed === true;
    if (clientLeft && (error instanceof StreamClosedError || isAbortError(error))) return;
    super.logException(error);
  }

  override [kFinished](): void {
    void this.#closed('the event stream was finished');
    super[kFinished]();
  }

  override [kConnectionClose](): void {
    if (this.#closeNotified) return;
    this.#closeNotified = true;
    void this.#closed('the client closed the event stream');
    super[kConnectionClose]();
  }
}

function ignore(): void {}

function endQuietly(iterator: AsyncIterator<unknown>): void {
  try {
    iterator.return?.().then(undefined, ignore);
  } catch {
    // A source that cannot end is left to the garbage collector.
  }
}

/**
 * One relay() call: a {@link PushSink} for a source that pushes, or a `next()` loop for any
 * other, both writing through the handler's bound.
 */
class Relay<T> implements PushSink<T>, RelayControl {
  readonly #handler: EventSourceHandler;
  readonly #iterator: AsyncIterator<T>;
  readonly #toEvent: (item: T) => ServerSentEvent | Uint8Array;
  readonly #cache: WeakMap<object, Uint8Array>;
  readonly #future: Future<void>;
  #failure: unknown = undefined;
  #stopped = false;
  // Waiting for the socket to drain: what resumes the source (made only when needed).
  #onDrain: (() => void) | undefined;
  #drainSocket: net.Socket | undefined;
  #resumeLoop: (() => void) | undefined;
  // Read with next() (not pushed): stopping cannot wait for the pending next() to settle.
  #pulling = false;

  constructor(
    handler: EventSourceHandler,
    iterator: AsyncIterator<T>,
    toEvent: (item: T) => ServerSentEvent | Uint8Array,
    cache: WeakMap<object, Uint8Array>,
    future: Future<void>,
  ) {
    this.#handler = handler;
    this.#iterator = iterator;
    this.#toEvent = toEvent;
    this.#cache = cache;
    this.#future = future;
  }

  start(): void {
    const pushTo = (this.#iterator as { [kPushTo]?: (sink: PushSink<T>) => void })[kPushTo];
    if (typeof pushTo === 'function') {
      try {
        pushTo.call(this.#iterator, this);
        return;
      } catch (error) {
        // Already read with next() by someone: go on reading it that way.
        if (!(error instanceof TypeError)) return this.end(error);
      }
    }
    this.#pulling = true;
    void this.#loop();
  }

  async #loop(): Promise<void> {
    try {
      while (!this.#stopped) {
        const result = await this.#iterator.next();
        if (result.done === true || this.#stopped) break;
        if (!this.push(result.value) && !this.#stopped) {
          await new Promise<void>((resolve) => (this.#resumeLoop = resolve));
        }
      }
    } catch (error) {
      this.#failure ??= error;
      if (!this.#stopped) endQuietly(this.#iterator);
      this.#stopped = true;
    }
    this.end(undefined);
  }

  push(item: T): boolean {
    if (this.#stopped) return false;
    let bytes: Uint8Array;
    try {
      bytes = this.#encode(item);
    } catch (error) {
      this.#failure = error;
      this.stop();
      return false;
    }
    return relayWrite(this.#handler, bytes, this);
  }

  #encode(item: T): Uint8Array {
    if (typeof item !== 'object' || item === null) return eventBytes(this.#toEvent(item));
    let bytes = this.#cache.get(item);
    if (bytes === undefined) {
      bytes = eventBytes(this.#toEvent(item));
      this.#cache.set(item, bytes);
    }
    return bytes;
  }

  /** The socket's buffer is past its high-water mark: resume the source once it drains. */
  waitForDrain(socket: net.Socket): void {
    this.#onDrain ??= (): void => {
      this.#drainSocket = undefined;
      if (this.#stopped) return;
      const resume = this.#resumeLoop;
      this.#resumeLoop = undefined;
      if (resume !== undefined) resume();
      else (this.#iterator as { [kPushResume]?: () => void })[kPushResume]?.();
    };
    this.#drainSocket = socket;
    socket.once('drain', this.#onDrain);
  }

  /** The stream closed, or `toEvent` failed: end the source; `end()` follows from it. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#drainSocket !== undefined && this.#onDrain !== undefined) {
      this.#drainSocket.removeListener('drain', this.#onDrain);
      this.#drainSocket = undefined;
    }
    const resume = this.#resumeLoop;
    this.#resumeLoop = undefined;
    endQuietly(this.#iterator);
    resume?.();
    // A pushing source ends (and calls end()) from return(); a pulled one may be waiting for
    // an item that never comes (an idle queue, a generator inside an await), so the relay
    // ends now and the loop's own end() later changes nothing.
    if (this.#pulling) this.end(undefined);
  }

  end(error: unknown): void {
    this.#stopped = true;
    relayEnded(this.#handler, this);
    const failure = this.#failure ?? error;
    if (this.#future.done()) return;
    if (failure === undefined) this.#future.setResult(undefined);
    else this.#future.setException(failure);
  }
}

function eventBytes(event: ServerSentEvent | Uint8Array): Uint8Array {
  return event instanceof Uint8Array ? event : Buffer.from(eventText(event), 'utf8');
}

function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}
