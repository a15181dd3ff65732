/**
 * The broker's vocabulary: the {@link Broker} interface both engines implement, publications,
 * positions and their string form, the limits, and the argument checks every engine applies
 * the same way.
 * @module
 */

import { Buffer } from 'node:buffer';
import type { Future } from '../concurrent.ts';
import { BrokerMessageTooLargeError } from '../errors.ts';

/** A JSON value: what a broker carries as a publication's `data`. */
export type JSONValue =
  null | boolean | number | string | JSONValue[] | { [key: string]: JSONValue };

/**
 * Where a channel stands: the offset of a publication (0 before the first) and the epoch the
 * offset belongs to. Offsets of different epochs are not comparable.
 *
 * @example
 * ```ts
 * const pos: StreamPosition = { offset: 42, epoch: 'kq3xZ1aB9cdE' };
 * formatPosition(pos); // '42@kq3xZ1aB9cdE'
 * ```
 * Tornado: none (Tornado has no broker; this is Centrifugo's stream position).
 */
export interface StreamPosition {
  /** Offset of the publication, counting from 1 per channel; 0 for an empty channel. */
  offset: number;
  /** The engine's epoch: it changes when the engine lost the channel's history. */
  epoch: string;
}

/**
 * One message as the broker delivers it. `data` is the JSON round trip of what was published
 * (serialized once, at publish time); treat it as read-only, since every local subscriber of
 * the channel receives the same object.
 *
 * @example
 * ```ts
 * const pub = await broker.publish('room:1', { text: 'hi' });
 * pub.offset; // 1, then 2, 3, … per channel
 * ```
 * Tornado: none.
 */
export interface Publication<T = JSONValue> {
  /** The channel it was published to. */
  channel: string;
  /** Its offset in the channel: 1, 2, 3, … with no gaps within one epoch. */
  offset: number;
  /** The epoch the offset belongs to. */
  epoch: string;
  /** The published value, as `JSON.parse(JSON.stringify(value))`. */
  data: T;
  /** When the engine stored it, in ms since 1970 (the Redis server's clock for Redis). */
  time: number;
}

/** What {@link Broker.history} returns. */
export interface HistoryResult {
  /** The kept publications after `since`, oldest first, at most `limit`. */
  publications: Publication[];
  /** The channel's latest position (`{offset: 0, epoch}` for a never-published channel). */
  position: StreamPosition;
  /**
   * Whether every publication after `since` is still known: false when `since` is from
   * another epoch, older than the history kept, or ahead of the latest publication.
   */
  recovered: boolean;
}

/** Options of {@link Broker.history}. */
export interface HistoryOptions {
  /** Return what came after this position; null or absent for the whole kept history. */
  since?: StreamPosition | null;
  /** Return at most this many (the first ones after `since`); default `historySize`. */
  limit?: number;
}

/** Options of {@link Broker.stream}. */
export interface StreamOptions {
  /** Start after this position; null or absent to start with the whole kept history. */
  since?: StreamPosition | null;
  /** Ends the stream (the iteration finishes) when aborted. */
  signal?: AbortSignal;
}

/** Options of {@link Broker.waitFor}. */
export interface WaitForOptions {
  /** Resolve with `[]` after this many ms without a publication; default: wait on. */
  timeout?: number;
  /** Resolve with `[]` when aborted. */
  signal?: AbortSignal;
  /** Return at most this many publications, oldest first; default `historySize`. */
  limit?: number;
}

/** A live subscription made by {@link Broker.subscribe}. */
export interface Subscription {
  /** Resolves once publications are being received; nothing is delivered before. */
  readonly ready: Future<void>;
  /** Stop: nothing is delivered after this call. */
  close(): Future<void>;
}

/** The limits every engine takes. */
export interface BrokerLimits {
  /** Publications kept per channel (exactly). Default 1 000. */
  historySize?: number;
  /** How long a channel's history is kept after its last publication, in ms. Default 3 600 000. */
  historyTtl?: number;
  /** Largest `data`, in UTF-8 bytes of `JSON.stringify(data)`. Default 65 536. */
  maxMessageSize?: number;
}

/** Options of `MemoryBroker`. */
export type BrokerOptions = BrokerLimits;

/**
 * A publish/subscribe hub with per-channel history and resumable positions: what a real-time
 * service needs so that a message published in any process reaches every subscriber, and a
 * client that was away resumes from its position or is told plainly that it cannot.
 * `MemoryBroker` serves one process; `RedisBroker` serves many processes and machines.
 *
 * @example
 * ```ts
 * import { MemoryBroker, formatPosition } from 'typhoon/broker';
 * const broker = new MemoryBroker();
 * await broker.publish('news', { title: 'hello' });
 * for await (const pub of broker.stream('news', { since: null, signal })) {
 *   send(formatPosition(pub), pub.data); // an SSE event id, a long-poll cursor
 * }
 * ```
 * Tornado: none (the chat demo's `MessageBuffer`, grown up).
 */
export interface Broker {
  /**
   * Store `data` in the channel's history and deliver it to every subscriber; resolves with
   * the publication (its offset and epoch). Throws `TypeError` for a bad channel name or a
   * value that is not JSON, `BrokerMessageTooLargeError` past `maxMessageSize`.
   */
  publish(channel: string, data: unknown): Future<Publication>;
  /** The kept publications after `options.since` and the channel's latest position. */
  history(channel: string, options?: HistoryOptions): Future<HistoryResult>;
  /**
   * The history after `since`, then live publications, with no gap and no duplicate. A
   * `since` that cannot be recovered makes the first step throw `BrokerRecoveryError`.
   */
  stream(channel: string, options?: StreamOptions): AsyncIterableIterator<Publication>;
  /**
   * The long-poll primitive: the publications after `since` if there are any now, else the
   * first ones to arrive, else `[]` after `timeout`.
   */
  waitFor(
    channel: string,
    since: StreamPosition | null,
    options?: WaitForOptions,
  ): Future<Publication[]>;
  /** Call `callback` with each live publication of the channel (from `ready` to `close()`). */
  subscribe(channel: string, callback: (publication: Publication) => void): Subscription;
  /** Release everything; later calls fail with `BrokerClosedError`. */
  close(): Future<void>;
}

/** Default `historySize`. */
export const DEFAULT_HISTORY_SIZE = 1000;
/** Default `historyTtl` in ms (one hour). */
export const DEFAULT_HISTORY_TTL = 3_600_000;
/** Default `maxMessageSize` in bytes. */
export const DEFAULT_MAX_MESSAGE_SIZE = 65_536;

/** Limits after defaults and checks. */
export interface ResolvedLimits {
  historySize: number;
  historyTtl: number;
  maxMessageSize: number;
  /** How long a channel's offset counter and epoch outlive its last publication. */
  positionTtl: number;
}

// The counter outlives the history so a quiet channel's position stays valid (nothing was
// missed) and its offsets go on instead of starting over; a day bounds what idle channels cost.
const MIN_POSITION_TTL = 86_400_000;

/** Apply the defaults to `options` and check them (`RangeError` for a bad one). */
export function resolveLimits(options: BrokerLimits | undefined): ResolvedLimits {
  const historySize = options?.historySize ?? DEFAULT_HISTORY_SIZE;
  const historyTtl = options?.historyTtl ?? DEFAULT_HISTORY_TTL;
  const maxMessageSize = options?.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  for (const [name, value] of [
    ['historySize', historySize],
    ['historyTtl', historyTtl],
    ['maxMessageSize', maxMessageSize],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
    }
  }
  return {
    historySize,
    historyTtl,
    maxMessageSize,
    positionTtl: Math.max(historyTtl, MIN_POSITION_TTL),
  };
}

// Printable ASCII without the space: what channel names and epochs are made of.
const PRINTABLE = /^[\x21-\x7e]+$/;

/** Throw `TypeError` unless `channel` is 1–255 printable ASCII characters without spaces. */
export function checkChannel(channel: unknown): asserts channel is string {
  if (typeof channel !== 'string' || channel.length > 255 || !PRINTABLE.test(channel)) {
    throw new TypeError(
      'channel must be 1-255 printable ASCII characters without spaces, got ' +
        JSON.stringify(typeof channel === 'string' ? channel.slice(0, 60) : typeof channel),
    );
  }
}

/** Check a `since` argument: null/undefined or a well-formed position, else `TypeError`. */
export function checkSince(since: unknown): StreamPosition | null {
  if (since === undefined || since === null) return null;
  if (typeof since !== 'object') throw new TypeError('since must be a StreamPosition or null');
  const { offset, epoch } = since as Partial<StreamPosition>;
  if (!Number.isSafeInteger(offset) || (offset as number) < 0) {
    throw new TypeError('since.offset must be a non-negative integer');
  }
  if (typeof epoch !== 'string' || epoch.length === 0 || !PRINTABLE.test(epoch)) {
    throw new TypeError('since.epoch must be a non-empty printable ASCII string');
  }
  return { offset: offset as number, epoch };
}

/** Check a `limit` option: absent gives `fallback`; else a non-negative integer. */
export function checkLimit(limit: unknown, fallback: number): number {
  if (limit === undefined) return fallback;
  if (!Number.isSafeInteger(limit) || (limit as number) < 0) {
    throw new TypeError('limit must be a non-negative integer');
  }
  return limit as number;
}

/**
 * Serialize `data` once, at publish time: `TypeError` for what JSON cannot carry,
 * `BrokerMessageTooLargeError` past `maxMessageSize` UTF-8 bytes (exactly the limit passes).
 */
export function encodeData(data: unknown, maxMessageSize: number): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    throw new TypeError(`data is not a JSON value: ${String(error)}`, { cause: error });
  }
  if (typeof json !== 'string') throw new TypeError(`data is not a JSON value (${typeof data})`);
  // Cheap bound first: a UTF-16 code unit is at most 3 UTF-8 bytes.
  if (json.length * 3 > maxMessageSize) {
    const size = Buffer.byteLength(json, 'utf8');
    if (size > maxMessageSize) {
      throw new BrokerMessageTooLargeError(
        `message of ${size} bytes exceeds maxMessageSize ${maxMessageSize}`,
      );
    }
  }
  return json;
}

// The JSON text of each publication's data, kept so fan-out (SSE, WebSocket) writes the same
// text to every client without encoding it again.
const encoded = new WeakMap<object, string>();

/** Remember the JSON text `json` of `publication.data`. @internal */
export function rememberEncoding(publication: Publication, json: string): void {
  encoded.set(publication, json);
}

/**
 * The JSON text of `publication.data`, encoded once by the broker and shared by everyone who
 * sends it on (an SSE `data:` line, a WebSocket message), so a broadcast to many clients does
 * not stringify once per client.
 *
 * @example
 * ```ts
 * for await (const pub of broker.stream('news', { since })) {
 *   this.write(`id: ${formatPosition(pub)}\ndata: ${encodedData(pub)}\n\n`);
 * }
 * ```
 * Tornado: none.
 */
export function encodedData(publication: Publication): string {
  let json = encoded.get(publication);
  if (json === undefined) {
    json = JSON.stringify(publication.data);
    encoded.set(publication, json);
  }
  return json;
}

/**
 * The position of a publication (or a copy of a position), as a plain `{offset, epoch}`.
 *
 * @example
 * ```ts
 * const pub = await broker.publish('c', 1);
 * await broker.waitFor('c', position(pub));
 * ```
 * Tornado: none.
 */
export function position(publication: StreamPosition): StreamPosition {
  return { offset: publication.offset, epoch: publication.epoch };
}

/**
 * A position's string form, `"offset@epoch"`: what goes on the wire as an SSE event id or a
 * long-poll cursor. `TypeError` for a malformed position.
 *
 * @example
 * ```ts
 * formatPosition({ offset: 7, epoch: 'abc' }); // '7@abc'
 * ```
 * Tornado: none.
 */
export function formatPosition(pos: StreamPosition): string {
  const checked = checkSince(pos);
  if (checked === null) throw new TypeError('position must be {offset, epoch}');
  return `${checked.offset}@${checked.epoch}`;
}

/**
 * Read `"offset@epoch"` back into a plain `{offset, epoch}`: decimal digits, `@`, a non-empty
 * printable epoch. Anything else (from a client's `Last-Event-ID`, say) throws `TypeError`,
 * which callers treat like an unrecoverable position.
 *
 * @example
 * ```ts
 * parsePosition('7@abc'); // { offset: 7, epoch: 'abc' }
 * parsePosition('x'); // throws TypeError
 * ```
 * Tornado: none.
 */
export function parsePosition(text: string): StreamPosition {
  if (typeof text !== 'string') throw new TypeError('position must be a string');
  const match = /^(\d{1,16})@([\x21-\x7e]+)$/.exec(text);
  const offset = match === null ? NaN : Number(match[1]);
  if (match === null || !Number.isSafeInteger(offset)) {
    throw new TypeError(`malformed position ${JSON.stringify(text.slice(0, 80))}`);
  }
  return { offset, epoch: match[2] as string };
}
