/**
 * A non-blocking HTTP/1.1 server on top of `node:http` (llhttp parses; typhoon defends the
 * edges llhttp leaves open and enforces its limits).
 *
 * The server serves an {@link HTTPServerConnectionDelegate} (an `Application`) or a plain
 * {@link HTTPRequestCallback}. For every request it builds an {@link HTTPServerRequest},
 * asks the delegate for an {@link HTTPMessageDelegate}, feeds it the body, and hands it an
 * {@link HTTPConnection} to answer through.
 *
 * What it refuses before anything else runs:
 *
 * | input                                                   | answer                       |
 * | ------------------------------------------------------- | ---------------------------- |
 * | malformed request line, header or chunk framing         | bare `400`, connection closed |
 * | headers over `maxHeaderSize` or `maxHeaderCount` lines  | `431`                        |
 * | body over `maxBodySize` (declared, chunked, or gunzipped) | `413` (counted, never trusted) |
 * | `Expect: 100-continue` with a declared body over the limit | `413`, no `100 Continue`  |
 * | `Transfer-Encoding` other than a lone `chunked`         | `400`                        |
 * | a duplicate or malformed `Host`                         | `400`                        |
 * | headers slower than `headerTimeout`, body slower than `bodyTimeout` | `408`            |
 *
 * Each refusal is logged once on `genLog` at info level (as Tornado logs malformed messages)
 * and the server keeps serving.
 *
 * @example
 * ```ts
 * import { HTTPServer } from 'typhoon';
 * const server = new HTTPServer((request) => {
 *   const body = Buffer.from(`You requested ${request.path}\n`);
 *   request.connection!.writeHeaders(200, 'OK', new HTTPHeaders({ 'Content-Length': String(body.length) }), body);
 *   request.connection!.finish();
 * });
 * const port = await server.listen(8888);
 * ```
 * Tornado: `tornado.httpserver.HTTPServer`.
 * @module
 */

import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type * as tls from 'node:tls';
import * as zlib from 'node:zlib';
import { genLog, appLog } from './log.ts';
import { isThenable } from './concurrent.ts';
import {
  DEFAULT_MAX_FIELDS,
  HTTPHeaders,
  HTTPServerRequest,
  type HTTPConnection,
  type HTTPMessageDelegate,
  type HTTPRequestCallback,
  type HTTPServerConnectionDelegate,
  type RawConnection,
  type WriteCallback,
} from './httputil.ts';

/** Options of {@link HTTPServer}. Times are in milliseconds. */
export interface HTTPServerOptions {
  /** Trust `X-Real-Ip`/`X-Forwarded-For` and `X-Scheme`/`X-Forwarded-Proto`. Default false. */
  xheaders?: boolean;
  /** Proxy addresses skipped when reading `X-Forwarded-For` from the right. */
  trustedDownstream?: readonly string[];
  /** Close every connection after one response. Default false. */
  noKeepAlive?: boolean;
  /** Gunzip request bodies sent with `Content-Encoding: gzip`. Default false. */
  decompressRequest?: boolean;
  /** Largest request head in bytes (431 past it). Default 65 536. */
  maxHeaderSize?: number;
  /** Most header lines in a request (431 past it). Default 100. */
  maxHeaderCount?: number;
  /** Largest request body in bytes, counted after decompression (413 past it). Default 100 MiB. */
  maxBodySize?: number;
  /** Cap on query/form fields of a request (400 past it). Default 1000. */
  maxFields?: number;
  /** Longest wait for a whole request body once its headers arrived (408). Default 3 600 000. */
  bodyTimeout?: number;
  /** Longest wait for a request's headers (408). Default 60 000. */
  headerTimeout?: number;
  /** Close a keep-alive connection idle this long between requests. Default 3 600 000. */
  idleConnectionTimeout?: number;
  /**
   * Initial delay of TCP keep-alive probes on accepted sockets, so a vanished client of a
   * held long poll is detected by the OS. 0 disables. Default 60 000.
   */
  tcpKeepAlive?: number;
  /** Serve HTTPS with these `node:tls` options (`key`, `cert`, …). */
  sslOptions?: tls.SecureContextOptions & tls.TlsOptions;
}

/** Options of {@link HTTPServer.stop}. */
export interface StopOptions {
  /**
   * How long in-flight requests may take to finish before their connections are closed.
   * Default 0: close at once (after which handlers see `onConnectionClose`).
   */
  drainTimeout?: number;
}

const MiB = 1024 * 1024;
const kContext = Symbol('typhoon.httpserver.context');
const kConnection = Symbol('typhoon.httpserver.connection');
const kRejected = Symbol('typhoon.httpserver.rejected');

interface ConnectionState {
  active: Set<RequestContext>;
  /** The server's set of live connection states (for stop() to wait on). */
  live: Set<ConnectionState>;
}

type TaggedSocket = net.Socket & { [kConnection]?: ConnectionState; [kRejected]?: boolean };
type TaggedRequest = http.IncomingMessage & { [kContext]?: RequestContext };

/** Settings resolved once per server, read by every request. */
interface ServerSettings {
  xheaders: boolean;
  trustedDownstream: ReadonlySet<string>;
  noKeepAlive: boolean;
  decompressRequest: boolean;
  maxHeaderCount: number;
  maxBodySize: number;
  maxFields: number;
  bodyTimeout: number;
  protocol: string;
  stopping: boolean;
}

const HOST_RE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;

/**
 * The headers that decide how a request is framed and checked, read from `rawHeaders` in one
 * pass. Node's `req.headers` is built lazily on first access (a lower-cased object of every
 * line); typhoon never touches it on the hot path. Repeated lines combine as node combines
 * them: `Content-Length` keeps the first, `Transfer-Encoding` and `Content-Encoding` join
 * with `, ` (so `chunked` sent twice is refused, as before).
 */
interface FramingHeaders {
  host: string | undefined;
  hostCount: number;
  transferEncoding: string | undefined;
  contentLength: string | undefined;
  contentEncoding: string | undefined;
}

const NO_FRAMING: FramingHeaders = {
  host: undefined,
  hostCount: 0,
  transferEncoding: undefined,
  contentLength: undefined,
  contentEncoding: undefined,
};

function scanHeaders(raw: readonly string[]): FramingHeaders {
  let host: string | undefined;
  let hostCount = 0;
  let te: string | undefined;
  let cl: string | undefined;
  let ce: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // Compare lengths first: only a name of the right length is lower-cased.
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') {
          hostCount++;
          host = raw[i + 1];
        }
        break;
      case 14:
        if (cl === undefined && name.toLowerCase() === 'content-length') cl = raw[i + 1];
        break;
      case 16:
        if (name.toLowerCase() === 'content-encoding')
          ce = ce === undefined ? raw[i + 1] : `${ce}, ${raw[i + 1]!}`;
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding')
          te = te === undefined ? raw[i + 1] : `${te}, ${raw[i + 1]!}`;
        break;
    }
  }
  if (host === undefined && te === undefined && cl === undefined && ce === undefined)
    return NO_FRAMING;
  return {
    host,
    hostCount,
    transferEncoding: te,
    contentLength: cl,
    contentEncoding: ce,
  };
}

/** The last `Host` value that passed {@link HOST_RE}: clients repeat it on every request. */
let lastGoodHost = '';

const BARE_RESPONSES: Record<number, string> = {
  400: 'HTTP/1.1 400 Bad Request\r\n\r\n',
  408: 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n',
  413: 'HTTP/1.1 413 Request Entity Too Large\r\nConnection: close\r\n\r\n',
  431: 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n',
};

/** Adapts a plain request callback to the delegate interface: buffer the body, then call. */
class CallbackDelegate implements HTTPServerConnectionDelegate {
  readonly callback: HTTPRequestCallback;
  constructor(callback: HTTPRequestCallback) {
    this.callback = callback;
  }
  startRequest(connection: HTTPConnection): HTTPMessageDelegate {
    return new CallbackMessage(this.callback, connection);
  }
}

class CallbackMessage implements HTTPMessageDelegate {
  #callback: HTTPRequestCallback;
  #connection: HTTPConnection;
  #request: HTTPServerRequest | undefined;
  #chunks: Buffer[] = [];
  constructor(callback: HTTPRequestCallback, connection: HTTPConnection) {
    this.#callback = callback;
    this.#connection = connection;
  }
  headersReceived(request: HTTPServerRequest): void {
    this.#request = request;
  }
  dataReceived(chunk: Buffer): void {
    this.#chunks.push(chunk);
  }
  finish(): void {
    const request = this.#request!;
    if (this.#chunks.length > 0) request.body = Buffer.concat(this.#chunks);
    try {
      const result = this.#callback(request);
      if (isThenable(result)) {
        result.then(undefined, (error: unknown) => this.#fail(request, error));
      }
    } catch (error) {
      this.#fail(request, error);
    }
  }
  #fail(request: HTTPServerRequest, error: unknown): void {
    appLog.error(`Uncaught exception in request callback ${request.method} ${request.uri}`, error);
    const raw = this.#connection.raw;
    if (raw.res !== undefined && !raw.res.headersSent) {
      this.#connection.writeHeaders(
        500,
        'Internal Server Error',
        new HTTPHeaders({ 'Content-Length': '0' }),
      );
      this.#connection.finish();
    } else {
      raw.socket.destroy();
    }
  }
  onConnectionClose(): void {}
}

/**
 * The response side of one request over Node's `ServerResponse`, and the reader of its body.
 * One object per request; Node's `data`/`end` listeners are shared functions that find it
 * through a symbol on the request, so no closure is allocated per request.
 */
class RequestContext implements HTTPConnection {
  readonly head: Buffer | undefined;
  #raw: RawConnection | undefined;
  readonly req: TaggedRequest;
  readonly res: http.ServerResponse;
  readonly settings: ServerSettings;
  readonly state: ConnectionState;
  delegate!: HTTPMessageDelegate;
  maxBodySize: number;
  bodyTimeout: number;
  bytesReceived = 0;
  decompressed = 0;
  gunzip: zlib.Gunzip | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Framing headers found by the server's one pass over `rawHeaders` (see `scanHeaders`). */
  framing: FramingHeaders = NO_FRAMING;
  done = false;
  aborted = false;
  closeNotified = false;

  constructor(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    settings: ServerSettings,
    state: ConnectionState,
    head?: Buffer,
  ) {
    this.req = req;
    this.res = res;
    this.settings = settings;
    this.state = state;
    this.maxBodySize = settings.maxBodySize;
    this.bodyTimeout = settings.bodyTimeout;
    this.head = head;
  }

  /** The Node objects, made on first use (most requests never detach). */
  get raw(): RawConnection {
    // An upgrade request's `res` only answers refusals; whoever detaches gets the socket.
    return (this.#raw ??=
      this.head === undefined
        ? { req: this.req, res: this.res, socket: this.req.socket }
        : { req: this.req, socket: this.req.socket, head: this.head });
  }

  get closed(): boolean {
    return this.req.socket.destroyed;
  }

  setMaxBodySize(bytes: number): void {
    this.maxBodySize = bytes;
  }

  setBodyTimeout(ms: number): void {
    this.bodyTimeout = ms;
  }

  #prepareKeepAlive(): void {
    const settings = this.settings;
    if (settings.noKeepAlive) {
      this.res.shouldKeepAlive = false;
    } else if (settings.stopping) {
      // Draining: close after this response unless later pipelined requests still need the
      // connection (closing now would lose their answers).
      let last: RequestContext | undefined;
      for (const ctx of this.state.active) last = ctx;
      if (last === this) this.res.shouldKeepAlive = false;
    }
  }

  writeHeaders(
    statusCode: number,
    reason: string,
    headers: HTTPHeaders | readonly string[],
    chunk?: Uint8Array | null,
    callback?: WriteCallback,
  ): void {
    const res = this.res;
    this.#prepareKeepAlive();
    res.writeHead(
      statusCode,
      reason,
      (headers instanceof HTTPHeaders ? headers.toFlatArray() : headers) as string[],
    );
    if (chunk !== undefined && chunk !== null && chunk.length > 0) {
      res.write(chunk, callback);
    } else if (callback !== undefined) {
      res.flushHeaders();
      callback();
    }
  }

  write(chunk: Uint8Array, callback?: WriteCallback): void {
    if (chunk.length === 0) {
      callback?.();
      return;
    }
    this.res.write(chunk, callback);
  }

  detach(): RawConnection {
    this.done = true;
    this.clearTimer();
    this.state.active.delete(this);
    if (this.raw.res === undefined) this.res.detachSocket(this.req.socket);
    return this.raw;
  }

  finish(chunk?: Uint8Array | string | null): void {
    if (this.done) return;
    this.done = true;
    // Answered before the whole body arrived (a handler refusing a streamed upload): the body
    // timer must not keep running for an hour, holding the process open.
    this.clearTimer();
    this.state.active.delete(this);
    if (chunk !== undefined && chunk !== null && chunk.length > 0) this.res.end(chunk);
    else this.res.end();
    if (this.settings.stopping && this.state.active.size === 0) {
      this.res.once('finish', closeAfterDrain);
    }
  }

  /** The client went away before the response was finished. */
  notifyClose(): void {
    if (this.closeNotified) return;
    this.closeNotified = true;
    this.clearTimer();
    this.state.active.delete(this);
    try {
      this.delegate.onConnectionClose();
    } catch (error) {
      appLog.error('Exception in onConnectionClose', error);
    }
  }

  startGunzip(): void {
    const gunzip = zlib.createGunzip();
    this.gunzip = gunzip;
    gunzip.on('data', (chunk: Buffer) => {
      this.decompressed += chunk.length;
      if (this.decompressed > this.maxBodySize) {
        this.abort(413, `decompressed body over the limit of ${this.maxBodySize}`);
        gunzip.destroy();
        return;
      }
      this.deliver(chunk);
    });
    gunzip.on('end', () => {
      if (!this.aborted) this.finishMessage();
    });
    gunzip.on('error', (error) => {
      if (!this.aborted) this.abort(400, `bad gzip request body: ${error.message}`);
    });
  }

  /** A raw body chunk arrived. */
  received(chunk: Buffer): void {
    if (this.aborted) return;
    this.bytesReceived += chunk.length;
    if (this.bytesReceived > this.maxBodySize) {
      this.abort(413, `body over the limit of ${this.maxBodySize}`);
      return;
    }
    if (this.gunzip !== undefined) this.gunzip.write(chunk);
    else this.deliver(chunk);
  }

  /** The raw body ended. */
  ended(): void {
    if (this.aborted) return;
    if (this.gunzip !== undefined) this.gunzip.end();
    else this.finishMessage();
  }

  deliver(chunk: Buffer): void {
    if (this.aborted) return;
    try {
      const pending = this.delegate.dataReceived(chunk);
      if (isThenable(pending)) {
        this.req.pause();
        pending.then(
          () => {
            if (!this.aborted) this.req.resume();
          },
          (error: unknown) => this.failDelegate(error),
        );
      }
    } catch (error) {
      this.failDelegate(error);
    }
  }

  finishMessage(): void {
    this.clearTimer();
    try {
      this.delegate.finish();
    } catch (error) {
      this.failDelegate(error);
    }
  }

  timedOut(): void {
    this.timer = undefined;
    if (this.aborted || this.done) return;
    genLog.info(`Timeout reading request body from ${remoteAddressOf(this.req.socket)}`);
    this.abort(408, null);
  }

  /** Refuse the request (413, 408, 400 on the body): answer, stop reading, tell the delegate. */
  abort(status: number, message: string | null): void {
    this.aborted = true;
    this.clearTimer();
    this.req.off('data', onRequestData);
    if (message !== null) rejectRequest(this.req, this.res, status, message);
    else respondAndClose(this.req, this.res, status);
    this.notifyClose();
  }

  /** The delegate threw: log, answer 500 if nothing was sent yet, forget the request. */
  failDelegate(error: unknown): void {
    this.aborted = true;
    this.clearTimer();
    appLog.error('Uncaught exception in HTTP message delegate', error);
    respondAndClose(this.req, this.res, 500);
    this.done = true;
    this.state.active.delete(this);
  }

  clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}

function respondAndClose(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  status: number,
): void {
  if (res.headersSent) {
    req.socket.destroy();
    return;
  }
  res.shouldKeepAlive = false;
  res.writeHead(status, { 'Content-Length': '0' });
  res.end();
}

function rejectRequest(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  status: number,
  message: string,
): void {
  genLog.info(`Malformed HTTP message from ${remoteAddressOf(req.socket)}: ${message}`);
  // llhttp may trip over the rest of a refused request; that is the same failure, logged once.
  (req.socket as TaggedSocket)[kRejected] = true;
  respondAndClose(req, res, status);
}

function closeAfterDrain(this: http.ServerResponse): void {
  const socket = this.socket;
  if (socket !== null && !socket.destroyed) socket.end();
}

function onUpgradedSocketError(this: net.Socket): void {
  this.destroy();
}

function onSocketClose(this: TaggedSocket): void {
  const state = this[kConnection];
  if (state === undefined) return;
  for (const ctx of [...state.active]) ctx.notifyClose();
  state.live.delete(state);
  if (state.live.size === 0) (state.live as LiveSet).onEmpty?.();
}

type LiveSet = Set<ConnectionState> & { onEmpty?: () => void };

function remoteAddressOf(socket: net.Socket): string {
  return socket.remoteAddress ?? '0.0.0.0';
}

/**
 * A non-blocking, single-threaded HTTP server. See the module documentation.
 *
 * @example
 * ```ts
 * const server = new HTTPServer(app, { maxBodySize: 1024 * 1024, xheaders: true });
 * const port = await server.listen(0, '127.0.0.1');
 * // ...
 * await server.stop({ drainTimeout: 5000 });
 * ```
 * Tornado: `tornado.httpserver.HTTPServer`.
 */
export class HTTPServer {
  #server: http.Server;
  #delegate: HTTPServerConnectionDelegate;
  #settings: ServerSettings;
  #stopPromise: Promise<void> | undefined;
  #live: LiveSet = new Set();
  /** Sockets handed over by an upgrade: node:http no longer tracks them, so stop() must. */
  #upgraded = new Set<net.Socket>();

  constructor(
    target: HTTPServerConnectionDelegate | HTTPRequestCallback,
    options: HTTPServerOptions = {},
  ) {
    this.#delegate = typeof target === 'function' ? new CallbackDelegate(target) : target;
    const maxHeaderCount = options.maxHeaderCount ?? 100;
    const headerTimeout = options.headerTimeout ?? 60_000;
    const tcpKeepAlive = options.tcpKeepAlive ?? 60_000;
    this.#settings = {
      xheaders: options.xheaders ?? false,
      trustedDownstream: new Set(options.trustedDownstream ?? []),
      noKeepAlive: options.noKeepAlive ?? false,
      decompressRequest: options.decompressRequest ?? false,
      maxHeaderCount,
      maxBodySize: options.maxBodySize ?? 100 * MiB,
      maxFields: options.maxFields ?? DEFAULT_MAX_FIELDS,
      bodyTimeout: options.bodyTimeout ?? 3_600_000,
      protocol: options.sslOptions ? 'https' : 'http',
      stopping: false,
    };
    const serverOptions: http.ServerOptions = {
      maxHeaderSize: options.maxHeaderSize ?? 65_536,
      // typhoon times the body itself (bodyTimeout); node's requestTimeout would cut long
      // uploads and cannot be changed per request.
      requestTimeout: 0,
      headersTimeout: headerTimeout,
      // How often node looks for requests whose headers are late; keep it well under the
      // timeout so a 408 comes close to when it is due.
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(headerTimeout / 4))),
      keepAliveTimeout: options.idleConnectionTimeout ?? 3_600_000,
      keepAlive: tcpKeepAlive > 0,
      keepAliveInitialDelay: tcpKeepAlive,
      noDelay: true,
    };
    const server =
      options.sslOptions !== undefined
        ? https.createServer({ ...options.sslOptions, ...serverOptions })
        : http.createServer(serverOptions);
    // node answers past this many header lines with a header overflow (431); typhoon also
    // counts rawHeaders itself in case that behaviour changes.
    server.maxHeadersCount = maxHeaderCount;
    server.on('request', this.#onRequest);
    server.on('checkContinue', this.#onCheckContinue);
    server.on('clientError', this.#onClientError);
    server.on('upgrade', this.#onUpgrade);
    this.#server = server;
  }

  /** The underlying `node:http` (or `node:https`) server. */
  get nodeServer(): http.Server {
    return this.#server;
  }

  /**
   * Start listening on `port` (0 picks a free one) and `host` (all interfaces when omitted).
   * Resolves to the bound port. Tornado: `TCPServer.listen`.
   */
  listen(port = 0, host?: string): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const server = this.#server;
      const onError = (error: Error) => reject(error);
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : port);
      });
    });
  }

  /** The bound address, or null when not listening. */
  address(): net.AddressInfo | null {
    const address = this.#server.address();
    return typeof address === 'object' ? address : null;
  }

  /**
   * Stop accepting connections; let requests in flight finish for up to `drainTimeout` ms,
   * then close whatever is left. Idle keep-alive connections close at once; a request that
   * arrives on a kept connection after this call is answered 503 and the connection closed.
   * Resolves when every connection is closed.
   * Tornado: `HTTPServer.close_all_connections` + `TCPServer.stop` (typhoon adds the drain).
   */
  stop(options: StopOptions = {}): Promise<void> {
    if (this.#stopPromise !== undefined) return this.#stopPromise;
    this.#settings.stopping = true;
    const server = this.#server;
    this.#stopPromise = new Promise<void>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      server.close(() => {
        if (timer !== undefined) clearTimeout(timer);
        // A socket's 'close' (and so its handlers' onConnectionClose) can come after the
        // server's own close callback; resolve once every connection we served is gone.
        const live = this.#live;
        if (live.size === 0) resolve();
        else live.onEmpty = resolve;
      });
      server.closeIdleConnections();
      const drain = options.drainTimeout ?? 0;
      if (drain <= 0) this.closeAllConnections();
      else {
        timer = setTimeout(() => this.closeAllConnections(), drain);
        timer.unref();
      }
    });
    return this.#stopPromise;
  }

  /** Close every open connection now, in flight or idle. Tornado: `close_all_connections`. */
  closeAllConnections(): void {
    this.#server.closeAllConnections();
    for (const socket of this.#upgraded) socket.destroy();
  }

  #onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    this.#handle(req, res, false);
  };

  #onCheckContinue = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    this.#handle(req, res, true);
  };

  /**
   * An `Upgrade` request (a WebSocket handshake): node:http has let go of the socket, so it
   * is served through the same delegate path with a `RawConnection` of `socket` + `head` (no
   * `res`). A handler that detaches takes the socket (a `WebSocketHandler` hands it to `ws`);
   * any other answer goes out through a `ServerResponse` bound to the socket, which is then
   * closed, so a plain handler answers an upgrade request normally.
   */
  #onUpgrade = (req: http.IncomingMessage, socket: net.Socket, head: Buffer): void => {
    // node removed its own listeners: without one an ECONNRESET here would crash the process.
    socket.on('error', onUpgradedSocketError);
    const upgraded = this.#upgraded;
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    const res = new http.ServerResponse(req);
    res.assignSocket(socket);
    res.shouldKeepAlive = false;
    res.once('finish', () => {
      res.detachSocket(socket);
      socket.destroySoon();
    });
    const te = req.headers['transfer-encoding'];
    const cl = req.headers['content-length'];
    if (te !== undefined || (cl !== undefined && cl !== '0')) {
      // The body would be in `head`, unframed: nothing here can read it safely.
      rejectRequest(req, res, 400, 'body on an upgrade request');
      return;
    }
    this.#handle(req, res, false, head);
  };

  #onClientError = (error: Error & { code?: string }, socket: net.Socket): void => {
    const code = error.code;
    if (
      code === 'ECONNRESET' ||
      code === 'EPIPE' ||
      !socket.writable ||
      socket.destroyed ||
      (socket as TaggedSocket)[kRejected] === true
    ) {
      socket.destroy();
      return;
    }
    const state = (socket as TaggedSocket)[kConnection];
    if (state !== undefined) {
      for (const ctx of state.active) {
        if (ctx.res.headersSent) {
          // Never inject an error response into the middle of another one.
          genLog.info(`Malformed HTTP message from ${remoteAddressOf(socket)}: ${error.message}`);
          socket.destroy();
          return;
        }
      }
    }
    let status = 400;
    if (code === 'HPE_HEADER_OVERFLOW') status = 431;
    else if (code === 'ERR_HTTP_REQUEST_TIMEOUT') status = 408;
    else if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') status = 413;
    if (status === 408)
      genLog.info(`Timeout reading request headers from ${remoteAddressOf(socket)}`);
    else genLog.info(`Malformed HTTP message from ${remoteAddressOf(socket)}: ${error.message}`);
    socket.end(BARE_RESPONSES[status] ?? BARE_RESPONSES[400]!, () => socket.destroy());
  };

  #handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    expectContinue: boolean,
    head?: Buffer,
  ): void {
    const settings = this.#settings;
    const raw = req.rawHeaders;
    if (raw.length > settings.maxHeaderCount * 2) {
      rejectRequest(req, res, 431, `more than ${settings.maxHeaderCount} header lines`);
      return;
    }
    const framing = scanHeaders(raw);
    const host = framing.host;
    if (framing.hostCount > 1) {
      rejectRequest(req, res, 400, 'duplicate Host header');
      return;
    }
    if (host !== undefined && host !== lastGoodHost) {
      if (!HOST_RE.test(host)) {
        rejectRequest(req, res, 400, `malformed Host header ${JSON.stringify(host.slice(0, 100))}`);
        return;
      }
      lastGoodHost = host;
    }
    const te = framing.transferEncoding;
    if (te !== undefined && te.toLowerCase() !== 'chunked') {
      rejectRequest(
        req,
        res,
        400,
        `unsupported Transfer-Encoding ${JSON.stringify(te.slice(0, 100))}`,
      );
      return;
    }
    if (settings.stopping) {
      genLog.info(`Refusing request from ${remoteAddressOf(req.socket)}: server is stopping`);
      res.shouldKeepAlive = false;
      res.writeHead(503, { 'Content-Length': '0' });
      res.end();
      return;
    }

    const socket = req.socket as TaggedSocket;
    let state = socket[kConnection];
    if (state === undefined) {
      state = { active: new Set(), live: this.#live };
      this.#live.add(state);
      socket[kConnection] = state;
      socket.on('close', onSocketClose);
    }
    const ctx = new RequestContext(req, res, settings, state, head);
    ctx.framing = framing;
    state.active.add(ctx);

    let remoteIp = remoteAddressOf(socket);
    let protocol = settings.protocol;
    if (settings.xheaders) [remoteIp, protocol] = this.#applyXheaders(req, remoteIp, protocol);
    const request = new HTTPServerRequest({
      method: req.method ?? 'GET',
      uri: req.url ?? '/',
      version: `HTTP/${req.httpVersion}`,
      headers: raw,
      remoteIp,
      protocol,
      connection: ctx,
      maxFields: settings.maxFields,
    });
    if (host !== undefined) request.host = host;
    if (settings.decompressRequest) {
      const encoding = framing.contentEncoding;
      if (encoding !== undefined && encoding.toLowerCase() === 'gzip') {
        // The delegate sees the body decompressed, so it must not see the encoding either.
        request.headers.delete('Content-Encoding');
        request.headers.add('X-Consumed-Content-Encoding', encoding);
      }
    }

    let delegate: HTTPMessageDelegate;
    try {
      delegate = this.#delegate.startRequest(ctx);
      ctx.delegate = delegate;
      const pending = delegate.headersReceived(request);
      if (ctx.done) return; // answered or detached already: the body is not ours to read
      if (isThenable(pending)) {
        req.pause();
        pending.then(
          () => {
            if (!ctx.done) this.#readBody(ctx, expectContinue);
          },
          (error: unknown) => ctx.failDelegate(error),
        );
        return;
      }
    } catch (error) {
      ctx.failDelegate(error);
      return;
    }
    this.#readBody(ctx, expectContinue);
  }

  #applyXheaders(req: http.IncomingMessage, remoteIp: string, protocol: string): [string, string] {
    let ip = remoteIp;
    const forwarded: unknown = req.headers['x-forwarded-for'];
    if (typeof forwarded === 'string') {
      const hops = forwarded.split(',');
      for (let i = hops.length - 1; i >= 0; i--) {
        ip = hops[i]!.trim();
        if (!this.#settings.trustedDownstream.has(ip)) break;
      }
    }
    const real = req.headers['x-real-ip'];
    if (typeof real === 'string') ip = real.trim();
    if (net.isIP(ip) !== 0) remoteIp = ip;
    const scheme: unknown = req.headers['x-scheme'] ?? req.headers['x-forwarded-proto'];
    if (typeof scheme === 'string') {
      const parts = scheme.split(',');
      const proto = parts[parts.length - 1]!.trim().toLowerCase();
      if (proto === 'http' || proto === 'https') protocol = proto;
    }
    return [remoteIp, protocol];
  }

  #readBody(ctx: RequestContext, expectContinue: boolean): void {
    const req = ctx.req;
    const framing = ctx.framing;
    const te = framing.transferEncoding;
    const cl = framing.contentLength;
    if (te === undefined && (cl === undefined || cl === '0')) {
      ctx.finishMessage();
      return;
    }
    if (cl !== undefined && Number(cl) > ctx.maxBodySize) {
      ctx.abort(413, `Content-Length ${cl} over the limit of ${ctx.maxBodySize}`);
      return;
    }
    if (expectContinue) ctx.res.writeContinue();
    if (this.#settings.decompressRequest) {
      const encoding = framing.contentEncoding;
      if (encoding !== undefined && encoding.toLowerCase() === 'gzip') ctx.startGunzip();
    }
    if (ctx.bodyTimeout > 0) ctx.timer = setTimeout(onBodyTimeout, ctx.bodyTimeout, ctx);
    req[kContext] = ctx;
    req.on('data', onRequestData);
    req.on('end', onRequestEnd);
    req.resume();
  }
}

// Shared listeners: `this` is the IncomingMessage, which carries its context.
function onRequestData(this: TaggedRequest, chunk: Buffer): void {
  this[kContext]?.received(chunk);
}

function onRequestEnd(this: TaggedRequest): void {
  this[kContext]?.ended();
}

function onBodyTimeout(ctx: RequestContext): void {
  ctx.timedOut();
}
