/// <reference types="node" preserve="true" />

/**
 * WebSockets: {@link WebSocketHandler} serves them inside an `Application`, and
 * {@link websocketConnect} opens one as a client.
 *
 * The framing is `ws`'s (its `handleUpgrade` on the server, its client on the other side); this
 * module gives it Tornado's shape: a handler class with `open`, `onMessage` and `onClose`
 * hooks that may be async (messages wait, one at a time, until the previous hook's Promise
 * settled), `writeMessage` returning a Future, Tornado's handshake answers and limits, and a
 * client whose `readMessage()` resolves to `null` once the connection is closed.
 *
 * Every `ws` socket gets an `error` listener: `ws` reports an oversized or malformed frame by
 * emitting `error`, which without a listener would take the whole process down.
 *
 * @example
 * ```ts
 * class EchoWebSocket extends WebSocketHandler {
 *   override open() { console.log('WebSocket opened'); }
 *   override onMessage(message: string | Buffer) { void this.writeMessage(`You said: ${message}`); }
 *   override onClose() { console.log('WebSocket closed'); }
 * }
 * await new Application([['/websocket', EchoWebSocket]]).listen(8888);
 *
 * const conn = await websocketConnect('ws://127.0.0.1:8888/websocket');
 * await conn.writeMessage('hello');
 * await conn.readMessage(); // 'You said: hello'
 * ```
 * Tornado: `tornado.websocket`.
 * @module typhoon/websocket
 */

// First, so that an unsupported Node.js fails with one clear sentence (see there).
import '../internal/node-version.ts';
import { Buffer } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { failedFuture, isThenable, type Future } from '../concurrent.ts';
import { WebSocketClosedError, WebSocketError } from '../errors.ts';
import { isGeneratorObject } from '../internal/guards.ts';
import { coroutine } from '../gen.ts';
import { appLog, genLog } from '../log.ts';
import { RequestHandler } from '../web/index.ts';
import { kConnectionClose, kDetach, kFinished, kServerStopping } from '../internal/symbols.ts';
import {
  CLOSE_TIMEOUT,
  DEFAULT_MAX_MESSAGE_SIZE,
  DEFAULT_MAX_WRITE_BUFFER,
  EMPTY,
  canSend,
  closeInfo,
  compressionToDeflate,
  decodeMessage,
  directSocket,
  defaultPingTimeout,
  encodeMessage,
  positiveNumber,
  sendEncoded,
  sendPing,
  startClose,
  startKeepalive,
  textBytes,
  type CompressionOptions,
  type WebSocketMessage,
  type WebSocketWritable,
  type WriteMessageOptions,
} from './protocol.ts';

export { DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_WRITE_BUFFER } from './protocol.ts';
export type {
  CompressionOptions,
  WebSocketMessage,
  WebSocketWritable,
  WriteMessageOptions,
} from './protocol.ts';
export { WebSocketClientConnection, websocketConnect } from './client.ts';
export type { WebSocketConnectOptions } from './client.ts';

const KEY_RE = /^[+/0-9A-Za-z]{22}==$/;
const ORIGIN_RE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/;

/** What the shared `ws` servers need to know about one handshake in progress. */
interface PendingHandshake {
  protocol: string | null;
  headers: Array<[string, string]>;
}

const pendingHandshakes = new WeakMap<IncomingMessage, PendingHandshake>();

// One `ws` server per distinct (maxPayload, compression) pair, shared by every handler that
// uses it: per-handshake choices (subprotocol, extra headers) travel in pendingHandshakes.
const servers = new Map<string, WebSocketServer>();
const MAX_SERVERS = 64;

function handleProtocols(_protocols: Set<string>, req: IncomingMessage): string | false {
  return pendingHandshakes.get(req)?.protocol ?? false;
}

function onHandshakeHeaders(headers: string[], req: IncomingMessage): void {
  const pending = pendingHandshakes.get(req);
  if (pending === undefined) return;
  for (const [name, value] of pending.headers) headers.push(`${name}: ${value}`);
}

function serverFor(maxPayload: number, compression: CompressionOptions | null): WebSocketServer {
  const key = `${maxPayload}|${compression === null ? '-' : JSON.stringify(compression)}`;
  let server = servers.get(key);
  if (server === undefined) {
    if (servers.size >= MAX_SERVERS) servers.clear();
    server = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload,
      perMessageDeflate: compressionToDeflate(compression),
      handleProtocols,
      // ws 8.23 takes closeTimeout; @types/ws does not list it yet.
      ...{ closeTimeout: CLOSE_TIMEOUT },
    });
    server.on('headers', onHandshakeHeaders);
    servers.set(key, server);
  }
  return server;
}

// Headers of the handler that make no sense on a 101 (or are the handshake's own).
const NOT_FORWARDED = new Set([
  'content-type',
  'content-length',
  'content-encoding',
  'content-language',
  'transfer-encoding',
  'etag',
  'connection',
  'upgrade',
  'sec-websocket-accept',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
]);

/**
 * Subclass to serve WebSockets. Override `open` (called with the path's groups once the
 * handshake is done), `onMessage` and `onClose`; send with `writeMessage`. `open` and
 * `onMessage` may be async (or generator coroutines): messages that arrive meanwhile wait,
 * and are handed over one at a time once the previous hook's Promise settled — the socket is
 * paused meanwhile, so a slow handler slows its client down instead of buffering without end.
 *
 * The handshake runs in `get()` with Tornado's answers: 400 `Can "Upgrade" only to
 * "WebSocket".` for a request without `Upgrade: websocket`, 400 for a missing `Connection:
 * Upgrade` or a bad `Sec-WebSocket-Key`, 403 when {@link WebSocketHandler.checkOrigin}
 * refuses the `Origin`, 426 for an unsupported version. `prepare()` runs before it, so
 * authentication works as for any handler; headers set before the handshake (cookies) go out
 * with the 101.
 *
 * An exception (or rejection) from `open` or `onMessage` is logged once on `appLog` and the
 * connection is closed with 1011; `onClose` still runs, once. A message larger than
 * {@link WebSocketHandler.maxMessageSize} closes the connection with 1009. Application
 * settings `websocketPingInterval` / `websocketPingTimeout` (ms) turn on keep-alive pings;
 * `websocketMaxMessageSize` changes the size limit.
 *
 * Messages that arrived before the peer's close frame are all handed to `onMessage` before
 * `onClose` runs, even when they came in one packet with the close; a reply written then
 * rejects with {@link WebSocketClosedError} (the peer said it is done). Writes are bounded:
 * past {@link WebSocketHandler.maxWriteBuffer} bytes of unsent data (a client that stopped
 * reading) the write rejects and the connection is closed with 1008. When the server stops
 * (`HTTPServer.stop()`), every open WebSocket is sent a 1001 Going Away close frame. Once
 * upgraded, the HTTP response methods (`setHeader`, `setCookie`, `setStatus`, `redirect`,
 * `write`, `flush`, `finish`) throw {@link WebSocketError}: there is no response any more.
 *
 * @example
 * ```ts
 * class ChatSocket extends WebSocketHandler {
 *   static clients = new Set<ChatSocket>();
 *   override async open(room: string) {
 *     this.room = await rooms.load(room);
 *     ChatSocket.clients.add(this);
 *   }
 *   override onMessage(message: string | Buffer) {
 *     for (const c of ChatSocket.clients) void c.writeMessage({ text: String(message) });
 *   }
 *   override onClose() { ChatSocket.clients.delete(this); }
 * }
 * new Application([['/chat/(\\w+)', ChatSocket]], { websocketPingInterval: 20_000 });
 * ```
 * Tornado: `tornado.websocket.WebSocketHandler`.
 */
export class WebSocketHandler extends RequestHandler {
  /**
   * The close code the peer sent, once closed (`null` when it sent none or the connection
   * dropped). Tornado: `close_code`.
   */
  closeCode: number | null = null;
  /** The close reason the peer sent, once closed (`null` when none). Tornado: `close_reason`. */
  closeReason: string | null = null;
  /** The subprotocol chosen by {@link WebSocketHandler.selectSubprotocol}, if any. */
  selectedSubprotocol: string | null = null;

  #ws: WebSocket | undefined;
  #socket: Socket | undefined;
  // The socket writeMessage may write around ws's callback on (see `directSocket`).
  #direct: Socket | undefined;
  /** True once the connection was handed to ws: the HTTP response is gone. */
  #upgraded = false;
  #closing = false;
  #closed = false;
  #closeNotified = false;
  #failed = false;
  #busy = false;
  #queue: WebSocketMessage[] = [];
  #keepalive: { stop(): void } | undefined;
  // The handler's own `signal` (made on first read): the HTTP one ends at the upgrade, which
  // marks the response finished, but a WebSocket lives on until its connection closes.
  #abortController: AbortController | undefined;

  // --- hooks ---------------------------------------------------------------------------------

  /**
   * Called once the connection is open, with the path's groups (like `get()`). May be async:
   * messages wait until it resolves. Tornado: `WebSocketHandler.open`.
   */
  open(..._args: never[]): unknown {
    return undefined;
  }

  /**
   * Called for each message: a string for text, a Buffer for binary. May be async: the next
   * message waits until it resolves. Must be overridden. Tornado: `on_message`.
   */
  onMessage(_message: WebSocketMessage): unknown {
    throw new Error(`${this.constructor.name}.onMessage() is not implemented`);
  }

  /**
   * Called once when the connection is closed, by either side, after every message that
   * arrived before the close was handled. {@link WebSocketHandler.closeCode} and
   * {@link WebSocketHandler.closeReason} are set by then. Tornado: `on_close`.
   */
  onClose(): void {}

  /**
   * Live while the WebSocket is open (though the HTTP response ended at the upgrade), and
   * aborted when the connection closes, by either side, right after `onClose` runs (or when
   * the handshake was refused or the client left before it). Pass it to waits the handler
   * starts in the background (a broker subscription, a fetch) so they end with the
   * connection. Do not await such a wait in `open` or `onMessage` itself: while a hook's
   * Promise is pending no frame is read, the peer's close included.
   *
   * @example
   * ```ts
   * open() {
   *   void (async () => {
   *     for await (const event of broker.subscribe('news', { signal: this.signal })) {
   *       await this.writeMessage(event);
   *     }
   *   })();
   * }
   * ```
   * Tornado: none (Tornado handlers override `on_close`).
   */
  override get signal(): AbortSignal {
    let controller = this.#abortController;
    if (controller === undefined) {
      controller = this.#abortController = new AbortController();
      // Over already: the socket closed, or the request ended without an upgrade.
      if (this.#closed || (!this.#upgraded && this.finished)) controller.abort();
    }
    return controller.signal;
  }

  /** A refused handshake (its response finished): over before it opened. */
  override [kFinished](): void {
    super[kFinished]();
    this.#abortController?.abort();
  }

  /** The client left before the upgrade. */
  override [kConnectionClose](): void {
    super[kConnectionClose]();
    this.#abortController?.abort();
  }

  /** Called when a ping frame arrives (the pong is sent automatically). Tornado: `on_ping`. */
  onPing(_data: Buffer): void {}

  /** Called when a pong frame arrives. Tornado: `on_pong`. */
  onPong(_data: Buffer): void {}

  /**
   * Decide whether a browser page from `origin` may connect (the `Origin` header; not called
   * when there is none, which is the case for non-browser clients). The default accepts only
   * the same host and port as the request's `Host`; override to allow others — WebSockets
   * are not covered by the same-origin policy, so this is the CSRF defence.
   * Tornado: `check_origin`.
   */
  checkOrigin(origin: string): boolean {
    const match = ORIGIN_RE.exec(origin);
    if (match === null) return false;
    const host = this.request.headers.get('Host');
    return host !== undefined && match[1]!.toLowerCase() === host.toLowerCase();
  }

  /**
   * Pick one of the subprotocols the client offered (`Sec-WebSocket-Protocol`), or return
   * null for none (the client may then give up). Must return one of `subprotocols`.
   * Tornado: `select_subprotocol`.
   */
  selectSubprotocol(_subprotocols: string[]): string | null | undefined {
    return null;
  }

  /**
   * Return compression options to offer permessage-deflate (an empty object for the
   * defaults), or null (the default) for no compression. Tornado: `get_compression_options`.
   */
  getCompressionOptions(): CompressionOptions | null {
    return null;
  }

  /**
   * Largest message accepted, in bytes (after decompression); a larger one closes the
   * connection with 1009. Setting `websocketMaxMessageSize`, default 10 MiB.
   * Tornado: `max_message_size`.
   */
  get maxMessageSize(): number {
    return (
      positiveNumber(this.settings.websocketMaxMessageSize, 'websocketMaxMessageSize') ??
      DEFAULT_MAX_MESSAGE_SIZE
    );
  }

  /**
   * Most unsent data, in bytes, this connection may hold (setting `websocketMaxWriteBuffer`,
   * default 16 MiB). A `writeMessage` that would take the data waiting for the client past it
   * rejects with {@link WebSocketClosedError}, as does every later one, and the connection is
   * closed with 1008: a client that stops reading costs at most this much memory.
   */
  get maxWriteBuffer(): number {
    return (
      positiveNumber(this.settings.websocketMaxWriteBuffer, 'websocketMaxWriteBuffer', 'bytes') ??
      DEFAULT_MAX_WRITE_BUFFER
    );
  }

  /** Keep-alive ping period in ms (setting `websocketPingInterval`); 0 = none. */
  get pingInterval(): number {
    return positiveNumber(this.settings.websocketPingInterval, 'websocketPingInterval') ?? 0;
  }

  /**
   * How long without a pong before the connection is dropped, in ms (setting
   * `websocketPingTimeout`; default three intervals, at least 30 s). Tornado: `ping_timeout`.
   */
  get pingTimeout(): number {
    return (
      positiveNumber(this.settings.websocketPingTimeout, 'websocketPingTimeout') ??
      defaultPingTimeout(this.pingInterval)
    );
  }

  // --- the handshake -------------------------------------------------------------------------

  /** Runs the handshake; do not override (use `open`). Tornado: `WebSocketHandler.get`. */
  override get(...args: never[]): unknown {
    const headers = this.request.headers;
    if ((headers.get('Upgrade') ?? '').toLowerCase() !== 'websocket') {
      return this.#refuse(400, 'Can "Upgrade" only to "WebSocket".');
    }
    const connection = (headers.get('Connection') ?? '').split(',');
    if (!connection.some((token) => token.trim().toLowerCase() === 'upgrade')) {
      return this.#refuse(400, '"Connection" must be "Upgrade".');
    }
    const origin = headers.get('Origin') ?? headers.get('Sec-Websocket-Origin');
    if (origin !== undefined && !this.checkOrigin(origin)) {
      return this.#refuse(403, 'Cross origin websockets not allowed');
    }
    const version = headers.get('Sec-WebSocket-Version');
    if (version !== '13' && version !== '8') {
      this.setHeader('Sec-WebSocket-Version', '13, 8');
      return this.#refuse(426, 'Upgrade Required');
    }
    if (!KEY_RE.test(headers.get('Sec-WebSocket-Key') ?? '')) {
      return this.#refuse(400, 'Missing/Invalid WebSocket headers');
    }
    const connectionObject = this.request.connection;
    if (connectionObject === undefined || connectionObject.raw.res !== undefined) {
      // Only an HTTP server's upgrade path gives us a socket to hand to ws.
      return this.#refuse(400, 'Can "Upgrade" only to "WebSocket".');
    }

    const offered = (headers.get('Sec-WebSocket-Protocol') ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p.length > 0);
    const selected = this.selectSubprotocol(offered) ?? null;
    if (selected !== null && !offered.includes(selected)) {
      throw new Error(`selectSubprotocol() returned ${selected}, which the client did not offer`);
    }
    const server = serverFor(this.maxMessageSize, this.getCompressionOptions());
    const extra: Array<[string, string]> = [];
    for (const [name, value] of this.responseHeaders.getAll()) {
      if (!NOT_FORWARDED.has(name.toLowerCase())) extra.push([name, value]);
    }

    const maxWriteBuffer = this.maxWriteBuffer;
    const raw = connectionObject.detach();
    this[kDetach]();
    this.#upgraded = true;
    this.#maxWriteBuffer = maxWriteBuffer;
    this.#socket = raw.socket;
    pendingHandshakes.set(raw.req, { protocol: selected, headers: extra });
    server.handleUpgrade(raw.req, raw.socket, raw.head ?? EMPTY, (ws) => {
      pendingHandshakes.delete(raw.req);
      this.#accept(ws, args);
    });
    return undefined;
  }

  #refuse(status: number, message: string): unknown {
    genLog.debug(`${message} ${this.requestSummary()}`);
    this.setStatus(status);
    return this.finish(message);
  }

  #maxWriteBuffer = DEFAULT_MAX_WRITE_BUFFER;

  #accept(ws: WebSocket, args: never[]): void {
    this.#ws = ws;
    this.#direct = directSocket(ws, this.#socket);
    ws.binaryType = 'nodebuffer';
    // The HTTP server calls this when it stops: say goodbye with a close frame (RFC 6455
    // 1001, "going away") instead of letting the connection be cut.
    if (this.#socket !== undefined) {
      (this.#socket as StoppableSocket)[kServerStopping] = () => this.close(1001, 'Going Away');
    }
    this.selectedSubprotocol = ws.protocol === '' ? null : ws.protocol;
    ws.on('error', (error: Error) => {
      // Protocol errors (oversized or malformed frames, bad UTF-8): ws closes with the right
      // code itself; this listener is what keeps the process alive.
      genLog.info(`WebSocket error from ${this.request.remoteIp}: ${error.message}`);
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const message = decodeMessage(data, isBinary);
      // The usual case, an idle handler and nothing queued: straight to onMessage, without a
      // trip through the queue (ws emits no message after close, so there is no onClose due).
      if (!this.#busy && !this.#failed && this.#queue.length === 0) this.#start(message);
      else {
        this.#queue.push(message);
        this.#pump();
      }
    });
    ws.on('ping', (data: Buffer) => this.#safely('onPing', () => this.onPing(data)));
    ws.on('pong', (data: Buffer) => this.#safely('onPong', () => this.onPong(data)));
    ws.on('close', (code: number, reason: Buffer) => {
      [this.closeCode, this.closeReason] = closeInfo(code, reason);
      this.#closed = true;
      this.#keepalive?.stop();
      this.#pump();
      // After onClose, as an HTTP handler's signal follows onConnectionClose.
      this.#abortController?.abort();
    });
    const interval = this.pingInterval;
    if (interval > 0) {
      this.#keepalive = startKeepalive(ws, interval, this.pingTimeout, () => this.requestSummary());
    }
    super.setStatus(101);
    this.application.logRequest(this);
    // `open`, then whatever messages are waiting.
    this.#start(undefined, args);
    this.#pump();
  }

  /**
   * Call `onMessage(message)`, or `open(...args)` when there is no message. While the Promise
   * it returned is pending the handler is busy: later messages wait in the queue and the
   * socket is paused (Tornado reads no frame until `on_message`'s Future resolved). Taking the
   * message itself, not a closure over it, spares an allocation per message.
   */
  #start(message: WebSocketMessage | undefined, args?: never[]): void {
    let result: unknown;
    try {
      result = message === undefined ? this.open(...args!) : this.onMessage(message);
      // A generator result runs as a coroutine, like a RequestHandler method.
      if (isGeneratorObject(result)) {
        const generator = result;
        result = coroutine(() => generator)();
      }
    } catch (error) {
      if (!this.#closedUnderHook(error)) this.#fail(error);
      return;
    }
    if (!isThenable(result)) return;
    this.#busy = true;
    this.#ws?.pause();
    result.then(
      () => {
        this.#busy = false;
        if (!this.#closed) this.#ws?.resume();
        this.#pump();
      },
      (error: unknown) => {
        this.#busy = false;
        if (!this.#closedUnderHook(error)) this.#fail(error);
        // Keep reading even so: the peer's answer to our close frame must get through.
        if (!this.#closed) this.#ws?.resume();
        this.#pump();
      },
    );
  }

  /** Hand waiting messages over one at a time; after the last one, report the close. */
  #pump(): void {
    while (!this.#busy) {
      const message = this.#queue.shift();
      if (message === undefined) break;
      if (this.#failed) {
        this.#queue.length = 0;
        break;
      }
      this.#start(message);
    }
    if (!this.#busy && this.#closed && !this.#closeNotified) {
      this.#closeNotified = true;
      this.#safely('onClose', () => this.onClose());
    }
  }

  /**
   * A hook failed only because it wrote to a connection the peer (or the write bound, or
   * the server stopping) had already closed: messages that arrived before the close frame
   * are still delivered after it, and their replies cannot go out. That is the connection
   * ending, not a bug in the handler: no error log, and the remaining messages still arrive.
   */
  #closedUnderHook(error: unknown): boolean {
    if (!(error instanceof WebSocketClosedError) || !(this.#closing || this.#closed)) return false;
    genLog.debug(`WebSocket hook ended by the closed connection: ${this.requestSummary()}`);
    return true;
  }

  /** A hook failed: log it once and close with 1011 (Tornado aborts the connection). */
  #fail(error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#queue.length = 0;
    appLog.error(`Uncaught exception in ${this.request.path}`, error);
    const ws = this.#ws;
    if (canSend(ws, this.#closing)) {
      this.#closing = true;
      ws.close(1011, 'Internal Server Error');
    }
  }

  #safely(name: string, fn: () => unknown): void {
    try {
      const result = fn();
      if (isThenable(result)) {
        result.then(undefined, (error: unknown) =>
          appLog.error(`Exception in ${name} of ${this.request.path}`, error),
        );
      }
    } catch (error) {
      appLog.error(`Exception in ${name} of ${this.request.path}`, error);
    }
  }

  // --- sending -------------------------------------------------------------------------------

  /** The client fell `pending` bytes behind: close with 1008, once, and fail this write. */
  #tooSlow(ws: WebSocket, pending: number, size: number): Future<void> {
    const message =
      `WebSocket client too slow: ${pending} bytes unsent, a ${size}-byte message would pass ` +
      `websocketMaxWriteBuffer (${this.#maxWriteBuffer}); closing ${this.requestSummary()}`;
    genLog.info(message);
    this.#closing = true;
    // Queued behind the data already accepted (ws's sender keeps order); if the client never
    // reads that far, ws drops the connection CLOSE_TIMEOUT later and the memory goes with it.
    ws.close(1008, 'write buffer full');
    return failedFuture(new WebSocketClosedError(message));
  }

  /**
   * Send a message: text by default, binary with `{binary: true}`; a plain object goes as
   * JSON text. Once the connection is closed or closing, the Future rejects with
   * {@link WebSocketClosedError} (nothing is logged if you handle it; an unhandled one is
   * reported like any Future's failure); so does the write that would take the unsent data
   * past {@link WebSocketHandler.maxWriteBuffer}, which also closes the connection with 1008.
   * The Future resolves when the message was handed to the OS (it comes back already
   * resolved when the OS took the whole message at once); awaiting it gives flow control.
   * A value that cannot be sent (an array) throws a TypeError. Tornado: `write_message`
   * (which raises at once instead of rejecting).
   *
   * @example
   * ```ts
   * await this.writeMessage({ type: 'hello' });
   * await this.writeMessage(Buffer.from([1, 2, 3]), { binary: true });
   * ```
   */
  writeMessage(message: WebSocketWritable, options: WriteMessageOptions = {}): Future<void> {
    const encoded = encodeMessage(message);
    const ws = this.#ws;
    if (!canSend(ws, this.#closing)) return failedFuture(new WebSocketClosedError());
    // Text goes to ws as its UTF-8 bytes, encoded once here: the size check needs them
    // anyway, and a string would be measured again by ws and written through the socket's
    // mixed string/Buffer writev. (A server does not mask, so ws sends these bytes as they are.)
    const data = typeof encoded === 'string' ? textBytes(encoded) : encoded;
    const size = data.byteLength;
    const pending = ws.bufferedAmount;
    if (pending + size > this.#maxWriteBuffer) return this.#tooSlow(ws, pending, size);
    // Nothing queued: the frame may go out around ws's callback (see sendEncoded).
    return sendEncoded(ws, data, options.binary === true, pending === 0 ? this.#direct : undefined);
  }

  /**
   * Send a ping frame (at most 125 bytes of data); the peer's pong arrives in `onPong`.
   * Throws {@link WebSocketClosedError} when closed. Tornado: `ping`.
   */
  ping(data: string | Buffer = EMPTY): void {
    sendPing(this.#ws, this.#closing, data);
  }

  /**
   * Start the closing handshake with an optional status `code` (RFC 6455 §7.4.1) and
   * `reason` (a reason alone means 1000). The connection is dropped if the peer does not
   * answer within 5 s. Does nothing when already closing. Tornado: `close`.
   */
  close(code?: number, reason?: string): void {
    const ws = this.#ws;
    if (ws === undefined || this.#closing) return;
    startClose(ws, code, reason);
    this.#closing = true;
  }

  /** Turn Nagle's algorithm off (true) or on for this connection. Tornado: `set_nodelay`. */
  setNodelay(value: boolean): void {
    this.#socket?.setNoDelay(value);
  }

  // A WebSocket has no HTTP response once upgraded: these would silently do nothing (or
  // write into a socket ws owns), so they throw, as Tornado's raise.

  #notSupported(method: string): WebSocketError {
    return new WebSocketError(
      `${method}() is not supported on a WebSocket once the handshake is done ` +
        `(${this.request.path}); set headers and cookies in prepare() or before the upgrade`,
    );
  }

  /** Throws {@link WebSocketError} after the handshake. */
  override setHeader(...args: Parameters<RequestHandler['setHeader']>): void {
    if (this.#upgraded) throw this.#notSupported('setHeader');
    super.setHeader(...args);
  }

  /** Throws {@link WebSocketError} after the handshake. */
  override addHeader(...args: Parameters<RequestHandler['addHeader']>): void {
    if (this.#upgraded) throw this.#notSupported('addHeader');
    super.addHeader(...args);
  }

  /** Throws {@link WebSocketError} after the handshake. */
  override clearHeader(...args: Parameters<RequestHandler['clearHeader']>): void {
    if (this.#upgraded) throw this.#notSupported('clearHeader');
    super.clearHeader(...args);
  }

  /** Throws {@link WebSocketError} after the handshake. */
  override setCookie(...args: Parameters<RequestHandler['setCookie']>): void {
    if (this.#upgraded) throw this.#notSupported('setCookie');
    super.setCookie(...args);
  }

  /** Throws {@link WebSocketError} after the handshake. */
  override clearCookie(...args: Parameters<RequestHandler['clearCookie']>): void {
    if (this.#upgraded) throw this.#notSupported('clearCookie');
    super.clearCookie(...args);
  }

  /** Throws {@link WebSocketError} after the handshake. */
  override setSignedCookie(...args: Parameters<RequestHandler['setSignedCookie']>): void {
    if (this.#upgraded) throw this.#notSupported('setSignedCookie');
    super.setSignedCookie(...args);
  }

  /** Throws {@link WebSocketError} after the handshake. */
  override setStatus(...args: Parameters<RequestHandler['setStatus']>): void {
    if (this.#upgraded) throw this.#notSupported('setStatus');
    super.setStatus(...args);
  }

  /** Throws {@link WebSocketError} after the handshake. */
  override redirect(...args: Parameters<RequestHandler['redirect']>): void {
    if (this.#upgraded) throw this.#notSupported('redirect');
    super.redirect(...args);
  }

  /** Throws {@link WebSocketError} after the handshake. */
  override write(...args: Parameters<RequestHandler['write']>): void {
    if (this.#upgraded) throw this.#notSupported('write');
    super.write(...args);
  }

  /** Throws {@link WebSocketError} after the handshake. */
  override flush(): Future<void> {
    if (this.#upgraded) throw this.#notSupported('flush');
    return super.flush();
  }

  /** Throws {@link WebSocketError} after the handshake. */
  override finish(...args: Parameters<RequestHandler['finish']>): Future<void> {
    if (this.#upgraded) throw this.#notSupported('finish');
    return super.finish(...args);
  }
}

/** A socket the HTTP server may ask to close gracefully when it stops. */
type StoppableSocket = Socket & { [kServerStopping]?: () => void };
