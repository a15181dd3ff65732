/// <reference types="node" preserve="true" />

/**
 * `IOStream`: a non-blocking byte stream over a TCP or TLS socket, read with Futures.
 *
 * The guide's picture of a coroutine waiting on a socket is this module: the loop (libuv) tells
 * Node the socket is readable, the bytes land in the stream's read buffer, and the Future of the
 * pending read — `readUntil('\r\n')`, `readBytes(n)`, … — is resolved as soon as the buffer can
 * satisfy it, which wakes the coroutine that awaits it. Writes return a Future resolved once the
 * bytes have been handed to the operating system, in the order they were written.
 *
 * Memory stays bounded: when no read is pending and 64 KiB (or `maxBufferSize`, if smaller) are
 * buffered, the socket is paused (the kernel's window then pushes back on the peer) until a read
 * needs more than the buffer holds, as Tornado reads only as reads need. While a read is
 * pending, the buffer may grow to `maxBufferSize` (100 MiB by default); past it the read fails
 * with {@link StreamBufferFullError} and the stream closes.
 *
 * Differences from Tornado worth knowing:
 * - A read or write that cannot start (stream closed, another read pending, a full write buffer)
 *   returns a failed Future instead of throwing synchronously, so `await` and `.catch` both see it.
 * - A read past `maxBytes` rejects with {@link UnsatisfiableReadError} itself (Tornado wraps it in
 *   a `StreamClosedError`); the stream is closed either way.
 * - `connect()` fails with {@link ConnectError} (its `cause` is the socket error), so a refused
 *   connection is told apart from a dropped one.
 *
 * @example
 * ```ts
 * import { IOStream } from 'typhoon';
 * import * as net from 'node:net';
 * const stream = new IOStream(new net.Socket());
 * await stream.connect(80, 'example.com');
 * await stream.write('GET / HTTP/1.0\r\nHost: example.com\r\n\r\n');
 * const header = await stream.readUntil('\r\n\r\n');
 * const body = await stream.readUntilClose();
 * ```
 * Tornado: `tornado.iostream`.
 * @module typhoon/iostream
 */

// First, so that an unsupported Node.js fails with one clear sentence (see there).
import '../internal/node-version.ts';
import { Buffer } from 'node:buffer';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { Future, QuietFuture } from '../concurrent.ts';
import {
  ConnectError,
  InvalidStateError,
  ReadInProgressError,
  StreamBufferFullError,
  StreamClosedError,
  UnsatisfiableReadError,
} from '../errors.ts';
import { IOLoop } from '../ioloop.ts';
import { genLog } from '../log.ts';
import { kAfterHandshake } from '../internal/symbols.ts';
import {
  NO_OPTIONS,
  PAUSE_THRESHOLD,
  limitsOf,
  type ConnectOptions,
  type IOStreamOptions,
  type Limits,
  type ReadBytesOptions,
  type ReadUntilOptions,
} from './options.ts';
import { EMPTY, NO_CHUNKS, copyRange, delimiterBytes, findDelimiter } from './read-buffer.ts';
import {
  HANDED_OVER,
  kStream,
  failQuietly,
  nodeEndListener,
  noop,
  refused,
  takeNodeEndListener,
  type Connecting,
  type StreamSocket,
} from './socket.ts';

export { DEFAULT_MAX_BUFFER_SIZE } from './options.ts';
export type {
  ConnectOptions,
  IOStreamOptions,
  ReadBytesOptions,
  ReadUntilOptions,
} from './options.ts';

// `#state` packs the pending read's kind, its `partial` option and the closed flag into one
// small integer: every field of an IOStream costs 8 bytes on each of possibly 10^5 connections.
const NONE = 0;
const UNTIL = 1;
const REGEX = 2;
const BYTES = 3;
const INTO = 4;
const CLOSE = 5;
const KIND = 7;
const PARTIAL = 8;
const CLOSED = 16;
// `#readMax` when there is no limit: the largest small integer, so the field never holds a
// double (which V8 would box in a heap number per stream).
const NO_MAX = 0x7fffffff;

type OwnedSocket = StreamSocket<IOStream>;

/**
 * A non-blocking stream of bytes over a connected (or connecting) `net.Socket` or
 * `tls.TLSSocket`. One read may be pending at a time; writes queue in order. See the module
 * documentation for the buffering rules.
 *
 * @example
 * ```ts
 * class Echo extends TCPServer {
 *   override async handleStream(stream: IOStream) {
 *     for (;;) await stream.write(await stream.readUntil('\n'));
 *   }
 * }
 * ```
 * Tornado: `tornado.iostream.IOStream` (and `SSLIOStream`, which is the same class here).
 */
export class IOStream {
  // Shared listeners find their stream through the socket, so an idle stream costs no
  // closures (this matters with tens of thousands of connections).
  static #onSocketData = function (this: OwnedSocket, chunk: Buffer): void {
    const stream = this[kStream];
    if (stream !== undefined) stream.#handleData(chunk);
  };
  static #onSocketEnd = function (this: OwnedSocket): void {
    // Tornado treats EOF from the peer as the end of the stream.
    this[kStream]?.close();
  };
  static #onSocketEndAfterNode = function (this: OwnedSocket): void {
    nodeEndListener!.call(this);
    this[kStream]?.close();
  };
  static #onSocketClose = function (this: OwnedSocket): void {
    this[kStream]?.close();
  };
  static #onSocketError = function (this: OwnedSocket, error: Error): void {
    this[kStream]?.close(error);
  };

  // Few fields on purpose (an idle server holds one stream per connection): rarely used state
  // is allocated on first use, and mutually exclusive state shares a slot.
  #socket: OwnedSocket;
  #limits: Limits;
  // Read buffer: chunks as received; `#offset` bytes of the first are already consumed.
  #chunks: Buffer[] = NO_CHUNKS;
  #offset = 0;
  #size = 0;
  // Bytes at the front of the buffer known not to start the pending delimiter.
  #scanned = 0;
  // Pending read kind | PARTIAL | CLOSED.
  #state = NONE;
  // The pending read's argument, `maxBytes` (NO_MAX if none) and Future.
  #readArg: Buffer | RegExp | Uint8Array | number | null = null;
  #readMax = NO_MAX;
  #readFuture: Future<unknown> | null = null;
  // Futures of writes not yet handed to the OS (created on the first write).
  #writeFutures: Future<void>[] | null = null;
  #onWrite: ((error?: Error | null) => void) | null = null;
  #connecting: Connecting<IOStream> | null = null;
  // While open: the close callback (or null). Once closed: the error that closed it, if any.
  #closeCallbackOrError: (() => unknown) | Error | null | undefined = null;

  // The packed `#state` is read and written only through these (V8 inlines them).
  #isClosed(): boolean {
    return (this.#state & CLOSED) !== 0;
  }
  #markClosed(): void {
    this.#state |= CLOSED;
  }
  #readKind(): number {
    return this.#state & KIND;
  }
  #isPartial(): boolean {
    return (this.#state & PARTIAL) !== 0;
  }
  #setReadKind(kind: number, partial: boolean): void {
    this.#state = (this.#state & CLOSED) | kind | (partial ? PARTIAL : 0);
  }

  /**
   * Wrap `socket`. The socket may still be connecting (see {@link IOStream.connect}); an
   * `error` listener is attached at once and stays for the socket's lifetime, so a socket error
   * never becomes an uncaught exception.
   */
  constructor(socket: net.Socket, options: IOStreamOptions = NO_OPTIONS) {
    this.#socket = socket;
    this.#limits = limitsOf(options);
    this.#socket[kStream] = this;
    socket.on('error', IOStream.#onSocketError);
    socket.on('data', IOStream.#onSocketData);
    socket.on(
      'end',
      takeNodeEndListener(socket) ? IOStream.#onSocketEndAfterNode : IOStream.#onSocketEnd,
    );
    socket.on('close', IOStream.#onSocketClose);
    if (socket.destroyed) this.close();
  }

  /** The underlying socket (a `tls.TLSSocket` for TLS streams). Tornado: `IOStream.socket`. */
  get socket(): net.Socket {
    return this.#socket;
  }

  /**
   * The error that closed the stream, if it was closed by one (a socket error, a full buffer,
   * an unsatisfiable read, or the argument of {@link IOStream.close}). Tornado: `IOStream.error`.
   */
  get error(): Error | undefined {
    return this.#isClosed() ? (this.#closeCallbackOrError as Error | undefined) : undefined;
  }

  /** Bytes in the read buffer, not yet returned by a read. */
  get readBufferSize(): number {
    return this.#size;
  }

  /** Whether the stream is closed. Tornado: `IOStream.closed()`. */
  closed(): boolean {
    return this.#isClosed();
  }

  /** Whether a read is pending. Tornado: `IOStream.reading()`. */
  reading(): boolean {
    return this.#readKind() !== NONE;
  }

  /** Whether written data is still waiting to be handed to the OS. Tornado: `IOStream.writing()`. */
  writing(): boolean {
    return this.#writeFutures !== null && this.#writeFutures.length > 0;
  }

  /**
   * Connect the (unconnected) socket to `host:port`. Resolves with this stream once connected;
   * fails with {@link ConnectError} (cause: the socket error) and closes the stream otherwise.
   * Reads and writes may be issued once `connect` has been called; they wait for the
   * connection. `options` choose the local address and port and the address family.
   *
   * @example
   * ```ts
   * const stream = await new IOStream(new net.Socket()).connect(6379, '127.0.0.1');
   * ```
   * Tornado: `IOStream.connect`.
   */
  connect(port: number, host = 'localhost', options?: ConnectOptions): Future<IOStream> {
    const future = new Future<IOStream>();
    if (this.#isClosed()) {
      future.setException(
        new ConnectError(`Cannot connect a closed stream`, { cause: this.#closedError() }),
      );
      return future;
    }
    if (this.#connecting !== null) {
      future.setException(new InvalidStateError('Already connecting'));
      return future;
    }
    this.#connecting = { future, target: `${host}:${port}` };
    this.#socket.once('connect', () => this.#connected());
    this.#socket.connect({ ...options, port, host });
    return future;
  }

  #connected(): void {
    const connecting = this.#connecting;
    this.#connecting = null;
    if (connecting !== null && !connecting.future.done()) connecting.future.setResult(this);
  }

  /**
   * Read up to and including `delimiter` (a string, encoded as UTF-8, or bytes). With
   * `maxBytes`, fail with {@link UnsatisfiableReadError} and close the stream if the delimiter
   * has not ended within that many bytes.
   *
   * @example
   * ```ts
   * const line = await stream.readUntil('\r\n', { maxBytes: 8192 });
   * ```
   * Tornado: `IOStream.read_until`.
   */
  readUntil(delimiter: string | Uint8Array, options?: ReadUntilOptions): Future<Buffer> {
    const bytes = delimiterBytes(delimiter);
    if (bytes.length === 0) {
      return refused(new RangeError('readUntil needs a non-empty delimiter'));
    }
    return this.#startRead(UNTIL, bytes, options?.maxBytes, false) as Future<Buffer>;
  }

  /**
   * Read up to and including the end of the first match of `regex`. The buffer is matched as a
   * latin1 string (one character per byte), so write byte-oriented patterns such as `/\r?\n/`;
   * `g` and `y` flags are ignored. Each arrival of data rescans what is buffered, so bound it
   * with `maxBytes` (failing with {@link UnsatisfiableReadError} and closing the stream).
   *
   * @example
   * ```ts
   * const head = await stream.readUntilRegex(/\r?\n\r?\n/, { maxBytes: 65536 });
   * ```
   * Tornado: `IOStream.read_until_regex`.
   */
  readUntilRegex(regex: RegExp, options?: ReadUntilOptions): Future<Buffer> {
    const flags = regex.flags.replace(/[gy]/g, '');
    const re = flags === regex.flags ? regex : new RegExp(regex.source, flags);
    return this.#startRead(REGEX, re, options?.maxBytes, false) as Future<Buffer>;
  }

  /**
   * Read exactly `n` bytes; with `partial`, resolve as soon as any bytes are available, with at
   * most `n` of them.
   *
   * @example
   * ```ts
   * const header = await stream.readBytes(4);
   * const body = await stream.readBytes(header.readUInt32BE(0));
   * ```
   * Tornado: `IOStream.read_bytes`.
   */
  readBytes(n: number, options?: ReadBytesOptions): Future<Buffer> {
    if (!Number.isSafeInteger(n) || n < 0) {
      return refused(new RangeError(`readBytes needs a byte count >= 0, got ${n}`));
    }
    return this.#startRead(BYTES, n, undefined, options?.partial === true) as Future<Buffer>;
  }

  /**
   * Fill `buffer` from the stream and resolve with the number of bytes copied: all of
   * `buffer.length`, or with `partial` as soon as any bytes are available.
   *
   * @example
   * ```ts
   * const buf = Buffer.alloc(1024);
   * const n = await stream.readInto(buf, { partial: true });
   * ```
   * Tornado: `IOStream.read_into`.
   */
  readInto(buffer: Uint8Array, options?: ReadBytesOptions): Future<number> {
    return this.#startRead(INTO, buffer, undefined, options?.partial === true) as Future<number>;
  }

  /**
   * Read everything until the stream closes, and resolve with it then (also after a socket
   * error: the bytes received so far). On an already closed stream, resolves with what is left
   * in the buffer. Bounded by `maxBufferSize`.
   *
   * @example
   * ```ts
   * await stream.write('QUIT\r\n');
   * const rest = await stream.readUntilClose();
   * ```
   * Tornado: `IOStream.read_until_close`.
   */
  readUntilClose(): Future<Buffer> {
    return this.#startRead(CLOSE, null, undefined, false) as Future<Buffer>;
  }

  #startRead(
    kind: number,
    arg: Buffer | RegExp | Uint8Array | number | null,
    maxBytes: number | undefined,
    partial: boolean,
  ): Future<unknown> {
    if (this.#readKind() !== NONE) {
      return refused(
        this.#isClosed() ? this.#closedError() : new ReadInProgressError('Already reading'),
      );
    }
    const future = new QuietFuture<unknown>();
    this.#setReadKind(kind, partial);
    this.#readArg = arg;
    // Floored: the limits it is compared with are whole byte counts.
    this.#readMax = maxBytes !== undefined && maxBytes < NO_MAX ? Math.floor(maxBytes) : NO_MAX;
    this.#readFuture = future;
    this.#scanned = 0;
    if (kind === CLOSE) {
      if (this.#isClosed()) this.#finishRead(this.#size);
    } else if (!this.#tryRead() && this.#isClosed()) {
      // Reads on a closed stream are served from what is left in the buffer, or fail.
      this.#clearRead();
      failQuietly(future, this.#closedError());
    }
    if (this.#readKind() !== NONE && this.#socket.isPaused()) this.#socket.resume();
    return future;
  }

  #clearRead(): void {
    this.#setReadKind(NONE, false);
    this.#readArg = null;
    this.#readFuture = null;
    this.#scanned = 0;
  }

  // Try to satisfy the pending read from the buffer; true if it is done (either way).
  #tryRead(): boolean {
    let pos: number;
    try {
      pos = this.#findReadPos();
    } catch (error) {
      const future = this.#readFuture!;
      this.#clearRead();
      genLog.info(`Unsatisfiable read, closing connection: ${(error as Error).message}`);
      failQuietly(future, error as Error);
      this.close(error);
      return true;
    }
    if (pos < 0) return false;
    this.#finishRead(pos);
    return true;
  }

  // Bytes the pending read would consume now, or -1 if it must wait for more.
  #findReadPos(): number {
    const size = this.#size;
    switch (this.#readKind()) {
      case BYTES:
      case INTO: {
        const n =
          this.#readKind() === BYTES
            ? (this.#readArg as number)
            : (this.#readArg as Uint8Array).length;
        if (size >= n) return n;
        if (this.#isPartial() && size > 0) return size;
        return -1;
      }
      case UNTIL: {
        const end = this.#findDelimiter(this.#readArg as Buffer);
        const limit = end >= 0 ? end : size;
        if (limit > this.#readMax) {
          throw new UnsatisfiableReadError(
            `delimiter ${JSON.stringify((this.#readArg as Buffer).toString('latin1'))} ` +
              `not found within ${this.#readMax} bytes`,
          );
        }
        return end;
      }
      case REGEX: {
        let end = -1;
        if (size > 0) {
          this.#flatten();
          const text = this.#chunks[0]!.toString('latin1', this.#offset, this.#offset + size);
          const match = (this.#readArg as RegExp).exec(text);
          if (match !== null) end = match.index + match[0].length;
        }
        const limit = end >= 0 ? end : size;
        if (limit > this.#readMax) {
          throw new UnsatisfiableReadError(
            `regex ${String(this.#readArg)} not matched within ${this.#readMax} bytes`,
          );
        }
        return end;
      }
      default:
        return -1;
    }
  }

  // End offset (exclusive) of the first `delimiter` in the buffer, or -1. `#scanned` makes
  // repeated calls linear overall.
  #findDelimiter(delimiter: Buffer): number {
    const chunks = this.#chunks;
    if (chunks.length === 0) return -1;
    const end = findDelimiter(chunks, this.#offset, this.#size, this.#scanned, delimiter);
    if (end < 0) this.#scanned = Math.max(this.#scanned, this.#size - delimiter.length + 1, 0);
    return end;
  }

  // Merge the buffer into one chunk (regex reads need contiguous text).
  #flatten(): void {
    if (this.#chunks.length <= 1) return;
    const merged = copyRange(this.#chunks, this.#offset, 0, this.#size);
    this.#chunks = [merged]; // never NO_CHUNKS: it has 2 or more
    this.#offset = 0;
  }

  #finishRead(pos: number): void {
    const future = this.#readFuture!;
    const kind = this.#readKind();
    const target = this.#readArg;
    this.#clearRead();
    if (kind === INTO) {
      this.#consumeInto(target as Uint8Array, pos);
      future.setResult(pos);
    } else {
      future.setResult(this.#consume(pos));
    }
  }

  // Remove and return the first `n` buffered bytes; a view when they lie in one chunk.
  #consume(n: number): Buffer {
    if (n === 0) return EMPTY;
    const first = this.#chunks[0]!;
    const offset = this.#offset;
    const available = first.length - offset;
    let out: Buffer;
    if (n < available) {
      out = first.subarray(offset, offset + n);
      this.#offset = offset + n;
    } else if (n === available) {
      out = offset === 0 ? first : first.subarray(offset);
      this.#dropFirstChunk();
    } else {
      out = Buffer.allocUnsafe(n);
      this.#consumeInto(out, n);
      return out;
    }
    this.#size -= n;
    return out;
  }

  #consumeInto(target: Uint8Array, n: number): void {
    let written = 0;
    while (written < n) {
      const chunk = this.#chunks[0]!;
      const take = Math.min(chunk.length - this.#offset, n - written);
      chunk.copy(target, written, this.#offset, this.#offset + take);
      written += take;
      if (this.#offset + take === chunk.length) {
        this.#dropFirstChunk();
      } else {
        this.#offset += take;
      }
    }
    this.#size -= n;
  }

  // An emptied buffer lets go of its array, so an idle stream keeps none.
  #dropFirstChunk(): void {
    const chunks = this.#chunks;
    if (chunks.length === 1) this.#chunks = NO_CHUNKS;
    else chunks.shift();
    this.#offset = 0;
  }

  #handleData(chunk: Buffer): void {
    if (this.#isClosed() || chunk.length === 0) return;
    if (this.#size === 0 && this.#readKind() !== NONE && this.#takeWhole(chunk)) return;
    if (this.#chunks === NO_CHUNKS) this.#chunks = [chunk];
    else this.#chunks.push(chunk);
    this.#size += chunk.length;
    if (this.#readKind() !== NONE && this.#readKind() !== CLOSE) this.#tryRead();
    if (this.#isClosed()) return;
    const maxBufferSize = this.#limits.maxBufferSize;
    if (this.#readKind() === NONE) {
      // Nobody is reading: stop taking bytes off the socket so memory stays bounded. The
      // next read that the buffer cannot satisfy resumes it (see `#startRead`), so a reader
      // that keeps up is never cut off by what the peer sent ahead.
      if (this.#size >= PAUSE_THRESHOLD || this.#size > maxBufferSize) this.#socket.pause();
    } else if (this.#size > maxBufferSize) {
      // The pending read needs more than the buffer may hold.
      const error = new StreamBufferFullError(
        `Reached maximum read buffer size (${maxBufferSize} bytes)`,
      );
      genLog.info(`${error.message}, closing connection`);
      const future = this.#readFuture;
      this.#clearRead();
      if (future !== null) failQuietly(future, error);
      this.close(error);
    }
  }

  // A chunk that arrives while the buffer is empty and is exactly what the pending read asks
  // for (the usual case for a line or a length-prefixed message) is handed over as it is,
  // without entering the buffer. True if it was.
  #takeWhole(chunk: Buffer): boolean {
    const length = chunk.length;
    switch (this.#readKind()) {
      case UNTIL: {
        const delimiter = this.#readArg as Buffer;
        const d = delimiter.length;
        if (length < d || length > this.#readMax) return false;
        const idx = d === 1 ? chunk.indexOf(delimiter[0]!) : chunk.indexOf(delimiter);
        if (idx + d !== length) return false;
        break;
      }
      case BYTES: {
        const n = this.#readArg as number;
        if (length !== n && (!this.#isPartial() || length > n)) return false;
        break;
      }
      default:
        return false;
    }
    const future = this.#readFuture!;
    this.#clearRead();
    future.setResult(chunk);
    return true;
  }

  /**
   * Write `data` (bytes, or a string encoded as UTF-8). The Future resolves once the bytes
   * have been handed to the operating system; Futures of successive writes resolve in order.
   * Awaiting it is how a producer respects backpressure. When the socket takes all the bytes
   * inside the call (the usual case while the peer keeps up), the Future returned is already
   * done: one shared, finished Future serves all such writes. Fails with {@link StreamClosedError}
   * on a closed stream (or if the stream closes first), and with {@link StreamBufferFullError}
   * when `maxWriteBufferSize` would be passed (the stream stays open).
   *
   * @example
   * ```ts
   * for (const chunk of chunks) await stream.write(chunk); // never more than one chunk queued
   * ```
   * Tornado: `IOStream.write`.
   */
  write(data: Uint8Array | string): Future<void> {
    if (this.#isClosed()) return refused(this.#closedError());
    const socket = this.#socket;
    const maxWriteBufferSize = this.#limits.maxWriteBufferSize;
    if (maxWriteBufferSize !== Infinity) {
      const length = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
      if (socket.writableLength + length > maxWriteBufferSize) {
        return refused(
          new StreamBufferFullError(
            `Reached maximum write buffer size (${maxWriteBufferSize} bytes)`,
          ),
        );
      }
    }
    // One callback per stream, not per write: the socket calls write callbacks in order, and
    // each one belongs to the first Future of the queue.
    const onWrite = (this.#onWrite ??= this.#written.bind(this));
    const queue = this.#writeFutures;
    if (
      socket.writableLength === 0 &&
      (queue === null || queue.length === 0) &&
      !socket.destroyed &&
      (socket as { encrypted?: boolean }).encrypted !== true
    ) {
      // Nothing is waiting: node hands the bytes to the OS inside `write`, and an empty buffer
      // right after shows it took them all (the common case on a socket that keeps up), so
      // the Future is done now. Written without a callback, which spares node's stream a
      // tick per write. (TLS writes finish after the call: they keep the callback.)
      socket.write(data);
      if (socket.writableLength === 0 && socket.errored === null) return HANDED_OVER;
      // The OS took part (or the write failed): an empty write queued behind the data
      // reports when it has all gone, or the error.
      socket.write(EMPTY, onWrite);
    } else socket.write(data, onWrite);
    const future = new QuietFuture<void>();
    if (queue === null) this.#writeFutures = [future];
    else queue.push(future);
    return future;
  }

  #written(error?: Error | null): void {
    const future = this.#writeFutures?.shift();
    if (future === undefined) return; // already failed by close()
    if (error)
      failQuietly(future, new StreamClosedError(undefined, { realError: this.error ?? error }));
    else future.setResult(undefined);
  }

  /**
   * Close the stream and its socket. Pending reads fail with {@link StreamClosedError} (a
   * pending {@link IOStream.readUntilClose} resolves with the buffered bytes), unflushed writes
   * fail, and the close callback runs on the loop. `error`, if given, becomes
   * {@link IOStream.error} and the `realError` of later failures. Closing twice does nothing.
   *
   * Tornado: `IOStream.close`.
   */
  close(error?: unknown): void {
    if (this.#isClosed()) return;
    const callback = this.#closeCallbackOrError as (() => unknown) | null;
    this.#markClosed();
    this.#closeCallbackOrError = error instanceof Error ? error : undefined;
    if (this.#readKind() === CLOSE) {
      this.#finishRead(this.#size);
    } else if (this.#readKind() !== NONE) {
      const future = this.#readFuture!;
      this.#clearRead();
      failQuietly(future, this.#closedError());
    }
    const writes = this.#writeFutures;
    if (writes !== null && writes.length > 0) {
      this.#writeFutures = null;
      for (const future of writes) failQuietly(future, this.#closedError());
    }
    if (this.#connecting !== null) {
      const { future, target } = this.#connecting;
      this.#connecting = null;
      failQuietly(
        future,
        target !== null
          ? new ConnectError(`Could not connect to ${target}: ${this.error?.message ?? 'closed'}`, {
              cause: this.error,
            })
          : this.#closedError(),
      );
    }
    this.#socket.destroy();
    if (callback !== null) IOLoop.current().addCallback(callback);
  }

  #closedError(): StreamClosedError {
    return new StreamClosedError(undefined, { realError: this.error });
  }

  /**
   * Call `callback` (on the loop) once the stream closes, for whatever reason; `null` removes
   * it. An exception it throws is logged on `appLog`. Tornado: `IOStream.set_close_callback`.
   */
  setCloseCallback(callback: (() => unknown) | null): void {
    if (!this.#isClosed()) this.#closeCallbackOrError = callback;
    else if (callback !== null) IOLoop.current().addCallback(callback);
  }

  /**
   * Turn Nagle's algorithm off (`true`: small writes go out at once) or back on.
   * Tornado: `IOStream.set_nodelay`.
   */
  setNodelay(value: boolean): void {
    if (!this.#isClosed()) this.#socket.setNoDelay(value);
  }

  /**
   * Upgrade this plain stream to TLS (STARTTLS) and resolve with a new {@link IOStream} over
   * the `tls.TLSSocket`; this stream is unusable afterwards and its close callback moves to the
   * new one. The stream must be idle: no pending read or write and nothing buffered (a
   * {@link InvalidStateError} otherwise). `options` are those of `tls.connect` (client side;
   * set `servername` to verify a host name) or of `new tls.TLSSocket` (server side: `key`,
   * `cert`, … or `secureContext`). A failed handshake rejects with {@link StreamClosedError}
   * whose `realError` is the TLS error.
   *
   * @example
   * ```ts
   * await stream.write('STARTTLS\r\n');
   * await stream.readUntil('\r\n');
   * const secure = await stream.startTls(false, { ca, servername: 'mail.example.com' });
   * ```
   * Tornado: `IOStream.start_tls`.
   */
  startTls(
    serverSide: boolean,
    options: tls.ConnectionOptions | tls.TLSSocketOptions = {},
    streamOptions?: IOStreamOptions,
  ): Future<IOStream> {
    if (this.#isClosed()) return refused(this.#closedError());
    if (this.#readKind() !== NONE || this.writing() || this.#size > 0 || this.#connecting) {
      return refused(
        new InvalidStateError('startTls needs an idle stream (no pending I/O, empty buffer)'),
      );
    }
    const socket = this.#socket;
    socket.off('data', IOStream.#onSocketData);
    socket.off('end', IOStream.#onSocketEnd);
    if (socket.listeners('end').includes(IOStream.#onSocketEndAfterNode)) {
      socket.off('end', IOStream.#onSocketEndAfterNode);
      socket.on('end', nodeEndListener!); // give Node its own listener back
    }
    socket.off('close', IOStream.#onSocketClose);
    socket.off('error', IOStream.#onSocketError);
    socket.on('error', noop); // the TLS socket owns it now; keep errors from going uncaught
    socket[kStream] = undefined;
    const closeCallback = this.#closeCallbackOrError as (() => unknown) | null;
    this.#markClosed();
    this.#closeCallbackOrError = undefined;
    const opts = {
      maxBufferSize: this.#limits.maxBufferSize,
      maxWriteBufferSize: this.#limits.maxWriteBufferSize,
      ...streamOptions,
    };
    const tlsSocket = serverSide
      ? new tls.TLSSocket(socket, { ...(options as tls.TLSSocketOptions), isServer: true })
      : tls.connect({ ...(options as tls.ConnectionOptions), socket });
    const stream = new IOStream(tlsSocket, opts);
    stream.setCloseCallback(closeCallback);
    if (stream.#isClosed()) return refused(stream.#closedError());
    return stream.#waitSecure(serverSide ? 'secure' : 'secureConnect', null);
  }

  /** @internal Resolve with this stream once the TLS handshake completes (see TCPClient). */
  #waitSecure(event: string, target: string | null): Future<IOStream> {
    const future = new Future<IOStream>();
    this.#connecting = { future, target };
    this.#socket.once(event, () => this.#connected());
    return future;
  }

  /**
   * @internal Wrap a TLS socket whose handshake is under way (`event` is `secure` on the server
   * side, `secureConnect` on the client side) and resolve once it completes. Failures reject
   * with {@link ConnectError} naming `target`, or {@link StreamClosedError} when `target` is null.
   */
  static [kAfterHandshake](
    socket: tls.TLSSocket,
    event: 'secure' | 'secureConnect',
    target: string | null,
    options?: IOStreamOptions,
  ): { stream: IOStream; connected: Future<IOStream> } {
    const stream = new IOStream(socket, options);
    if (stream.#isClosed()) {
      const error =
        target !== null
          ? new ConnectError(`Could not connect to ${target}`)
          : stream.#closedError();
      return { stream, connected: refused(error) };
    }
    return { stream, connected: stream.#waitSecure(event, target) };
  }
}
