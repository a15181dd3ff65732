/**
 * What both ends of a typhoon WebSocket share: message types, the encoding of what
 * `writeMessage` takes, permessage-deflate options, close codes and keep-alive pings. The
 * public names are re-exported from `typhoon/websocket`.
 *
 * @example
 * ```ts
 * import type { WebSocketMessage } from 'typhoon/websocket';
 * function describe(message: WebSocketMessage) {
 *   return typeof message === 'string' ? `text ${message}` : `${message.length} bytes`;
 * }
 * ```
 * Tornado: the shared parts of `tornado.websocket` (`WebSocketProtocol`).
 * @module
 */

import { Buffer } from 'node:buffer';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { WebSocket, type PerMessageDeflateOptions, type RawData } from 'ws';
import { Future, resolvedFuture } from '../concurrent.ts';
import { WebSocketClosedError } from '../errors.ts';
import { genLog } from '../log.ts';
import { isPlainObject } from '../internal/guards.ts';

/** Largest message accepted by default: 10 MiB, as in Tornado. Larger ones close with 1009. */
export const DEFAULT_MAX_MESSAGE_SIZE = 10 * 1024 * 1024;

/**
 * Most unsent data a `WebSocketHandler` holds for one client by default: 16 MiB (setting
 * `websocketMaxWriteBuffer`). Past it the write rejects and the connection closes with 1008.
 */
export const DEFAULT_MAX_WRITE_BUFFER = 16 * 1024 * 1024;

/** How long `close()` waits for the peer's close frame before dropping the connection. (internal) */
export const CLOSE_TIMEOUT = 5_000;
/** Tornado's floor for the default ping timeout (three intervals, at least 30 s). */
const MIN_DEFAULT_PING_TIMEOUT = 30_000;
/** @internal */
export const DEFAULT_CONNECT_TIMEOUT = 20_000;
/** @internal */
export const DEFAULT_MAX_QUEUED_MESSAGES = 16;
/** @internal */
export const EMPTY = Buffer.alloc(0);

/** A received message: a string for a text frame, a Buffer for a binary one. */
export type WebSocketMessage = string | Buffer;

/**
 * What `writeMessage` sends: a string, bytes, or a plain object (sent as JSON text, as
 * Tornado does for a dict). Arrays are refused with a TypeError; wrap them in an object.
 */
export type WebSocketWritable = string | Uint8Array | Readonly<Record<string, unknown>>;

/** Options of `writeMessage`. */
export interface WriteMessageOptions {
  /** Send a binary frame instead of a text frame. Default false. */
  binary?: boolean;
}

/**
 * permessage-deflate settings, from {@link WebSocketHandler.getCompressionOptions} or the
 * client's `compressionOptions`. An empty object turns compression on with the defaults.
 */
export interface CompressionOptions {
  /** zlib level 0–9 (Tornado's `compression_level`). Default 6. */
  compressionLevel?: number;
  /** zlib memLevel 1–9 (Tornado's `mem_level`). Default 8. */
  memLevel?: number;
  /** Messages smaller than this many bytes are sent uncompressed. Default 1024. */
  threshold?: number;
}

/** Turn what the user passed into what `ws.send` takes. (internal) */
export function encodeMessage(message: WebSocketWritable): string | Uint8Array {
  if (typeof message === 'string' || message instanceof Uint8Array) return message;
  if (Array.isArray(message)) {
    throw new TypeError('writeMessage() refuses arrays (as Tornado does); wrap it in an object');
  }
  if (isPlainObject(message)) return JSON.stringify(message);
  throw new TypeError(`writeMessage() cannot send ${Object.prototype.toString.call(message)}`);
}

/** @internal */
export function decodeMessage(data: RawData, isBinary: boolean): WebSocketMessage {
  // binaryType is 'nodebuffer', so ws hands over one Buffer (or, for fragments, a list).
  const buffer = Array.isArray(data)
    ? Buffer.concat(data)
    : Buffer.isBuffer(data)
      ? data
      : Buffer.from(data);
  if (isBinary) return buffer;
  // toString() without arguments is Node's direct UTF-8 path (no encoding lookup).
  const text = buffer.toString();
  // ws let only valid UTF-8 through, so these bytes are exactly what encoding `text` gives.
  rememberText(text, buffer);
  return text;
}

// The last text decoded or encoded here, and its UTF-8 bytes: a handler that sends on the
// text it received (an echo, a relay), or sends one text to many clients, encodes it once.
// Kept only up to this size, so what the entry holds on to stays small.
const TEXT_CACHE_MAX = 64 * 1024;
let lastText: string | undefined;
let lastTextBytes: Buffer = EMPTY;

function rememberText(text: string, bytes: Buffer): void {
  if (bytes.length > TEXT_CACHE_MAX) return;
  lastText = text;
  lastTextBytes = bytes;
}

/**
 * The UTF-8 bytes of `text`, for a server's frame (never masked, so `ws` writes them as they
 * are and they can be shared between writes).
 * @internal
 */
export function textBytes(text: string): Buffer {
  if (text === lastText) return lastTextBytes;
  const bytes = Buffer.from(text);
  rememberText(text, bytes);
  return bytes;
}

// ws only reads its send options (it copies them into its own): one object each, not one
// per message.
const BINARY = Object.freeze({ binary: true });
const TEXT = Object.freeze({ binary: false });

// What a write the OS took at once returns: an already-resolved Future, shared, since nothing
// can change it (it cannot be cancelled or completed again).
const SENT: Future<void> = resolvedFuture(undefined);

/**
 * Send one message, already through {@link encodeMessage}; the Future resolves when `ws`
 * handed it to the socket.
 *
 * `direct`, when given, is the plain TCP socket of an uncompressed `ws` with nothing queued
 * (`bufferedAmount` 0, which the caller has just read): then `ws` writes the frame into it at
 * once, and whether the OS took all of it shows right after the send. Such a frame is sent
 * without a callback: with one, node's stream adds a tick, a copy of its corked chunks and a
 * closure per write (≈ 1 400 instructions per echoed message, measured with callgrind). A frame the OS took only part of is followed by an empty write, whose
 * callback runs once everything before it has gone (or with the error that stopped it).
 * @internal
 */
export function sendEncoded(
  ws: WebSocket,
  data: string | Uint8Array,
  binary: boolean,
  direct?: Socket,
): Future<void> {
  const options = binary ? BINARY : TEXT;
  if (direct !== undefined && !direct.destroyed) {
    ws.send(data, options);
    if (direct.writableLength === 0 && direct.errored === null) return SENT;
    const future = new Future<void>();
    direct.write(EMPTY, (error) => settleWrite(future, error));
    return future;
  }
  // Queued behind other data, or the socket is gone (its close has not reached ws yet: the
  // callback then reports the failed write).
  const future = new Future<void>();
  ws.send(data, options, (error) => settleWrite(future, error));
  return future;
}

function settleWrite(future: Future<void>, error: Error | null | undefined): void {
  if (error === undefined || error === null) future.setResult(undefined);
  else future.setException(new WebSocketClosedError(error.message, { cause: error }));
}

/**
 * The socket {@link sendEncoded} may write around `ws`'s callback on: plain TCP, and no
 * extension (permessage-deflate queues frames inside `ws`). TLS is left out: its writes finish
 * later than the call, so every one would take the slower empty-write path.
 * @internal
 */
export function directSocket(ws: WebSocket, socket: Socket | undefined): Socket | undefined {
  if (socket === undefined || ws.extensions !== '') return undefined;
  return (socket as { encrypted?: boolean }).encrypted === true ? undefined : socket;
}

/** Whether `ws` takes messages now: open, and its owner has not started closing. @internal */
export function canSend(ws: WebSocket | undefined, closing: boolean): ws is WebSocket {
  return ws !== undefined && !closing && ws.readyState === WebSocket.OPEN;
}

/** Send a ping frame; throws {@link WebSocketClosedError} when `ws` takes no messages. @internal */
export function sendPing(ws: WebSocket | undefined, closing: boolean, data: string | Buffer): void {
  if (!canSend(ws, closing)) throw new WebSocketClosedError();
  ws.ping(data);
}

/** Start the closing handshake; a reason alone means 1000 (normal closure). @internal */
export function startClose(ws: WebSocket, code?: number, reason?: string): void {
  ws.close(code === undefined && reason !== undefined ? 1000 : code, reason);
}

/** @internal */
export function compressionToDeflate(
  options: CompressionOptions | null | undefined,
): PerMessageDeflateOptions | false {
  if (options === null || options === undefined) return false;
  const zlib: { level?: number; memLevel?: number } = {};
  if (options.compressionLevel !== undefined) zlib.level = options.compressionLevel;
  if (options.memLevel !== undefined) zlib.memLevel = options.memLevel;
  return {
    zlibDeflateOptions: zlib,
    ...(options.threshold !== undefined ? { threshold: options.threshold } : {}),
  };
}

/** @internal */
export function closeInfo(code: number, reason: Buffer): [number | null, string | null] {
  // 1005 (no status) and 1006 (no close frame) are never sent on the wire: Tornado leaves
  // close_code unset then, and so do we.
  const closeCode = code === 1005 || code === 1006 ? null : code;
  return [closeCode, reason.length > 0 ? reason.toString('utf8') : null];
}

/**
 * Send a ping every `interval` ms; drop the connection when no pong came for `timeout` ms (a
 * peer that stopped answering pings will not answer a close frame either).
 * @internal
 */
export function startKeepalive(
  ws: WebSocket,
  interval: number,
  timeout: number,
  describe: () => string,
): { stop(): void } {
  let lastPong = performance.now();
  const onPong = () => {
    lastPong = performance.now();
  };
  ws.on('pong', onPong);
  const timer = setInterval(() => {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (performance.now() - lastPong > timeout) {
      genLog.info(`WebSocket ping timeout after ${timeout}ms: ${describe()}`);
      ws.terminate();
      return;
    }
    ws.ping();
  }, interval);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      ws.off('pong', onPong);
    },
  };
}

/** @internal */
export function defaultPingTimeout(interval: number): number {
  return Math.max(3 * interval, MIN_DEFAULT_PING_TIMEOUT);
}

/** @internal */
export function positiveNumber(
  value: unknown,
  name: string,
  unit = 'milliseconds',
): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !(value >= 0)) {
    throw new TypeError(`${name} must be a non-negative number of ${unit}`);
  }
  return value;
}
