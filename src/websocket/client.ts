/**
 * The client end of typhoon's WebSockets: {@link websocketConnect} and the
 * {@link WebSocketClientConnection} it resolves to. Import them from `typhoon/websocket`.
 *
 * @example
 * ```ts
 * import { websocketConnect } from 'typhoon/websocket';
 * const conn = await websocketConnect('ws://127.0.0.1:8888/echo');
 * await conn.writeMessage('hello');
 * console.log(await conn.readMessage());
 * conn.close();
 * ```
 * Tornado: `tornado.websocket.websocket_connect`, `WebSocketClientConnection`.
 * @module
 */

import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { WebSocket, type RawData } from 'ws';
import { Future, failedFuture, isThenable, resolvedFuture } from '../concurrent.ts';
import { HTTPClientError, WebSocketClosedError } from '../errors.ts';
import { HTTPHeaders, type HTTPHeadersInit } from '../httputil/index.ts';
import { appLog, genLog } from '../log.ts';
import {
  CLOSE_TIMEOUT,
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_MAX_MESSAGE_SIZE,
  DEFAULT_MAX_QUEUED_MESSAGES,
  EMPTY,
  canSend,
  closeInfo,
  compressionToDeflate,
  decodeMessage,
  defaultPingTimeout,
  encodeMessage,
  sendEncoded,
  sendPing,
  startClose,
  startKeepalive,
  type CompressionOptions,
  type WebSocketMessage,
  type WebSocketWritable,
  type WriteMessageOptions,
} from './protocol.ts';

/** Options of {@link websocketConnect}. Times are in milliseconds. */
export interface WebSocketConnectOptions {
  /** Extra request headers (`Origin`, `Cookie`, `Authorization`, …). */
  headers?: HTTPHeadersInit;
  /** Subprotocols to offer; the server's choice is `selectedSubprotocol`. */
  subprotocols?: readonly string[];
  /** Offer permessage-deflate with these options (`{}` for defaults). Default: off. */
  compressionOptions?: CompressionOptions | null;
  /** Verify the server's TLS certificate (`wss://`). Default true. */
  validateCert?: boolean;
  /** CA certificates for `wss://`: a PEM file path, PEM text, or a Buffer of PEM. */
  caCerts?: string | Buffer;
  /** Give up on the connection and handshake after this long (599). Default 20 000. */
  connectTimeout?: number;
  /** Largest message accepted (1009 past it). Default 10 MiB. */
  maxMessageSize?: number;
  /** Send a keep-alive ping this often. Default: never. */
  pingInterval?: number;
  /** Drop the connection when no pong came this long. Default 3 intervals, at least 30 s. */
  pingTimeout?: number;
  /**
   * Unread messages kept before the client stops reading from the socket (the server then
   * feels the back-pressure). Default 16.
   */
  maxQueuedMessages?: number;
  /**
   * Receive messages here instead of through `readMessage()`; called with `null` once
   * closed. Tornado: `on_message_callback`.
   */
  onMessageCallback?: (message: WebSocketMessage | null) => unknown;
}

/**
 * The client end of a WebSocket, from {@link websocketConnect}. Read with `readMessage()`
 * (or `for await`), send with `writeMessage()`. Unread messages are kept in a small bounded
 * queue; when it is full the connection stops reading, so a slow reader slows the server
 * down instead of filling memory.
 *
 * @example
 * ```ts
 * const conn = await websocketConnect('ws://127.0.0.1:8888/echo');
 * await conn.writeMessage('hi');
 * for await (const message of conn) console.log(message); // until the server closes
 * ```
 * Tornado: `tornado.websocket.WebSocketClientConnection`.
 */
export class WebSocketClientConnection implements AsyncIterable<WebSocketMessage> {
  /** The close code the server sent, once closed (`null` when none). Tornado: `close_code`. */
  closeCode: number | null = null;
  /** The close reason the server sent, once closed. Tornado: `close_reason`. */
  closeReason: string | null = null;
  /** The subprotocol the server chose, or null. Tornado: `selected_subprotocol`. */
  readonly selectedSubprotocol: string | null;
  /** The headers of the server's 101 response. Tornado: `headers`. */
  readonly headers: HTTPHeaders;

  #ws: WebSocket;
  #queue: WebSocketMessage[] = [];
  #readers: Array<Future<WebSocketMessage | null>> = [];
  #maxQueued: number;
  #callback: ((message: WebSocketMessage | null) => unknown) | undefined;
  #closing = false;
  #closed = false;
  #keepalive: { stop(): void } | undefined;

  /** Made by {@link websocketConnect}; not meant to be called directly. @internal */
  constructor(ws: WebSocket, headers: HTTPHeaders, options: WebSocketConnectOptions = {}) {
    this.#ws = ws;
    this.headers = headers;
    this.selectedSubprotocol = ws.protocol === '' ? null : ws.protocol;
    this.#maxQueued = Math.max(1, options.maxQueuedMessages ?? DEFAULT_MAX_QUEUED_MESSAGES);
    this.#callback = options.onMessageCallback;
    ws.on('message', (data: RawData, isBinary: boolean) =>
      this.#receive(decodeMessage(data, isBinary)),
    );
    ws.on('close', (code: number, reason: Buffer) => {
      [this.closeCode, this.closeReason] = closeInfo(code, reason);
      this.#closed = true;
      this.#keepalive?.stop();
      for (const reader of this.#readers.splice(0)) reader.setResult(null);
      if (this.#callback !== undefined) this.#deliver(null);
    });
    const interval = options.pingInterval ?? 0;
    if (interval > 0) {
      this.#keepalive = startKeepalive(
        ws,
        interval,
        options.pingTimeout ?? defaultPingTimeout(interval),
        () => ws.url,
      );
    }
  }

  #receive(message: WebSocketMessage): void {
    if (this.#callback !== undefined) {
      this.#deliver(message);
      return;
    }
    const reader = this.#readers.shift();
    if (reader !== undefined) {
      reader.setResult(message);
      return;
    }
    this.#queue.push(message);
    if (this.#queue.length >= this.#maxQueued) this.#ws.pause();
  }

  #deliver(message: WebSocketMessage | null): void {
    try {
      const result = this.#callback!(message);
      if (isThenable(result)) {
        result.then(undefined, (error: unknown) =>
          appLog.error('Exception in WebSocket onMessageCallback', error),
        );
      }
    } catch (error) {
      appLog.error('Exception in WebSocket onMessageCallback', error);
    }
  }

  /**
   * The next message, or `null` once the connection is closed and every message that came
   * before the close was read. Tornado: `read_message`.
   */
  readMessage(): Future<WebSocketMessage | null> {
    const message = this.#queue.shift();
    if (message !== undefined) {
      if (this.#ws.isPaused && this.#queue.length < this.#maxQueued) this.#ws.resume();
      return resolvedFuture<WebSocketMessage | null>(message);
    }
    if (this.#closed) return resolvedFuture<WebSocketMessage | null>(null);
    const reader = new Future<WebSocketMessage | null>();
    this.#readers.push(reader);
    return reader;
  }

  /** Messages until the connection closes. */
  async *[Symbol.asyncIterator](): AsyncIterator<WebSocketMessage> {
    for (;;) {
      const message = await this.readMessage();
      if (message === null) return;
      yield message;
    }
  }

  /**
   * Send a message (text, binary with `{binary: true}`, or a plain object as JSON). Once
   * closed or closing, the Future rejects with {@link WebSocketClosedError}, as on the
   * server. Tornado: `write_message`.
   */
  writeMessage(message: WebSocketWritable, options: WriteMessageOptions = {}): Future<void> {
    const data = encodeMessage(message);
    if (!canSend(this.#ws, this.#closing)) return failedFuture(new WebSocketClosedError());
    return sendEncoded(this.#ws, data, options.binary === true);
  }

  /** Send a ping frame (at most 125 bytes). Tornado: `ping`. */
  ping(data: string | Buffer = EMPTY): void {
    sendPing(this.#ws, this.#closing, data);
  }

  /**
   * Start the closing handshake (`code`, `reason` as on the server). `readMessage()` resolves
   * to null once it completed. Tornado: `close`.
   */
  close(code?: number, reason?: string): void {
    if (this.#closing || this.#closed) return;
    startClose(this.#ws, code, reason);
    this.#closing = true;
  }
}

function loadPem(value: string | Buffer): string | Buffer {
  if (typeof value !== 'string' || value.includes('-----BEGIN')) return value;
  return readFileSync(value);
}

/**
 * Open a WebSocket to `url` (`ws://` or `wss://`). Resolves to a
 * {@link WebSocketClientConnection} once the handshake is done; rejects with
 * {@link HTTPClientError} carrying the status when the server answers something other than
 * 101 (a 403 from `checkOrigin`, a 404), or with code 599 for a network failure or when
 * `connectTimeout` passes.
 *
 * @example
 * ```ts
 * const conn = await websocketConnect('ws://127.0.0.1:8888/chat', {
 *   subprotocols: ['chat.v2'],
 *   compressionOptions: {},
 * });
 * await conn.writeMessage({ text: 'hello' });
 * const reply = await conn.readMessage(); // null once closed
 * conn.close(1000, 'bye');
 * ```
 * Tornado: `tornado.websocket.websocket_connect`.
 */
export function websocketConnect(
  url: string | URL,
  options: WebSocketConnectOptions = {},
): Future<WebSocketClientConnection> {
  const future = new Future<WebSocketClientConnection>();
  const headers: Record<string, string> = {};
  if (options.headers !== undefined) {
    for (const [name, value] of new HTTPHeaders(options.headers).getAll()) {
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
  }
  let ws: WebSocket;
  try {
    ws = new WebSocket(url, options.subprotocols === undefined ? [] : [...options.subprotocols], {
      headers,
      maxPayload: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
      perMessageDeflate: compressionToDeflate(options.compressionOptions),
      followRedirects: false,
      rejectUnauthorized: options.validateCert ?? true,
      ...(options.caCerts !== undefined ? { ca: loadPem(options.caCerts) } : {}),
      ...{ closeTimeout: CLOSE_TIMEOUT },
    });
  } catch (error) {
    future.setException(error);
    return future;
  }
  ws.binaryType = 'nodebuffer';
  let responseHeaders = new HTTPHeaders();
  const fail = (error: HTTPClientError) => {
    clearTimeout(timer);
    if (!future.done()) future.setException(error);
    ws.terminate();
  };
  const timer = setTimeout(
    () => fail(new HTTPClientError(599, 'Timeout while connecting')),
    options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT,
  );
  // Before `open` every error is a failed connection; after it, the connection's own listener
  // keeps protocol errors (an oversized message: 1009) from crashing the process.
  ws.on('error', (error: Error) => {
    if (!future.done()) fail(new HTTPClientError(599, error.message, { cause: error }));
    else genLog.info(`WebSocket error from ${String(url)}: ${error.message}`);
  });
  ws.on('upgrade', (response: IncomingMessage) => {
    responseHeaders = HTTPHeaders.fromRaw(response.rawHeaders);
  });
  ws.on('unexpected-response', (_request, response: IncomingMessage) => {
    response.resume();
    fail(new HTTPClientError(response.statusCode ?? 599));
  });
  ws.once('open', () => {
    clearTimeout(timer);
    if (future.done()) return;
    future.setResult(new WebSocketClientConnection(ws, responseHeaders, options));
  });
  return future;
}
