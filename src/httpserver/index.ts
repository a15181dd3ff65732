/// <reference types="node" preserve="true" />

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
 * | HTTP/0.9 (no version) / a major version other than 1    | `400` / `505`                |
 * | `CONNECT` (no proxying here)                            | the application's `405`      |
 * | with `decompressRequest`, a `Content-Encoding` not gzip | `415`                        |
 * | headers slower than `headerTimeout`, body slower than `bodyTimeout` | `408`            |
 *
 * Each refusal is logged once on `genLog` at info level (as Tornado logs malformed messages)
 * and the server keeps serving.
 *
 * This module is the listener's lifetime (options, listen, stop and drain, upgrade routing,
 * parser errors); the checks of one request's framing and the bare refusals are in
 * `framing.ts`, and the per-request connection and body reader in
 * `connection.ts`.
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
 * @module typhoon/httpserver
 */

// First, so that an unsupported Node.js fails with one clear sentence (see there).
import '../internal/node-version.ts';
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type * as tls from 'node:tls';
import { genLog, appLog } from '../log.ts';
import { isThenable } from '../concurrent.ts';
import { kServerStopping } from '../internal/symbols.ts';
import { reusePortByDefault } from '../internal/fork-state.ts';
import {
  DEFAULT_MAX_FIELDS,
  HTTPHeaders,
  HTTPServerRequest,
  type HTTPConnection,
  type HTTPMessageDelegate,
  type HTTPRequestCallback,
  type HTTPServerConnectionDelegate,
} from '../httputil/index.ts';
import {
  BARE_RESPONSES,
  checkFraming,
  kRejected,
  rejectRequest,
  remoteAddressOf,
} from './framing.ts';
import {
  BodyDeadlines,
  RequestContext,
  activeCount,
  addActive,
  eachActive,
  isActive,
  kConnection,
  whenResponsesOut,
  onSocketClose,
  type ConnectionState,
  type LiveSet,
  type ServerSettings,
  type TaggedSocket,
} from './connection.ts';

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
  /**
   * A request body that delivers no byte for this long gets 408 and the connection is closed
   * (a progress guard under Tornado's total `bodyTimeout`; time the server itself paused the
   * body for a streaming handler does not count). Checked by a sweep every quarter of the
   * shortest of this and `writeTimeout` (at most 5 s), so it fires up to that much late.
   * 0 disables. Default 60 000.
   */
  bodyIdleTimeout?: number;
  /**
   * A connection whose pending response bytes make no progress towards the client for this
   * long is closed (a client that stopped reading a static file or a handler's body): the
   * handler's `flush()` rejects with `StreamClosedError` and `onConnectionClose()` runs. A
   * slow client that still takes bytes is not cut. Checked by the same sweep as
   * `bodyIdleTimeout`. 0 disables. Default 60 000.
   */
  writeTimeout?: number;
  /**
   * Most connections this server holds at once in this process; past it a new connection is
   * closed as soon as it is accepted, and the refusals are counted in a warning at most every
   * 10 s (and once more as the server stops, so none goes unreported). Default: 95 % of the
   * soft open-file limit (read from `/proc/self/limits` where it exists, else no cap), so
   * descriptors remain for files and outgoing connections. 0 means no cap. Under
   * `forkProcesses` (node:cluster) a child at its cap drops the connection itself
   * (`dropMaxConnection`) rather than handing it back to the primary for another child: with
   * round-robin every child is about as full, and a handle bounced between full children
   * would be held by the primary, whose descriptors are the fleet's bottleneck.
   */
  maxConnections?: number;
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

/** How often refused connections are reported, at most. */
const DROP_LOG_INTERVAL = 10_000;

let maxConnectionsDefault: number | null | undefined;

/**
 * 95 % of the soft open-file limit, read once from `/proc/self/limits`; undefined where that
 * file does not exist (no cap then).
 */
function defaultMaxConnections(): number | undefined {
  if (maxConnectionsDefault === undefined) {
    maxConnectionsDefault = null;
    try {
      const limits = readFileSync('/proc/self/limits', 'latin1');
      const soft = /^Max open files\s+(\d+)/m.exec(limits)?.[1];
      if (soft !== undefined) maxConnectionsDefault = Math.floor(Number(soft) * 0.95);
    } catch {
      // Not Linux: no cap by default.
    }
  }
  return maxConnectionsDefault ?? undefined;
}

/** The libuv stream under a socket: bytes handed to it, and those it has not yet written. */
type SocketWithHandle = net.Socket & {
  _handle?: { bytesWritten?: number; writeQueueSize?: number } | null;
};

/**
 * The write side of one connection in the sweep: true when it was closed for a write that
 * made no progress for `writeTimeout` ms. Progress is the kernel taking bytes: the handle's
 * bytes written less those still in libuv's queue grew. That count only moves when the
 * client reads, so a slow reader that still takes bytes keeps its connection, and bytes the
 * application adds meanwhile (they wait in node's buffer) are not mistaken for progress.
 */
function sweepWrites(state: ConnectionState, now: number, writeTimeout: number): boolean {
  const socket = state.socket;
  const pending = socket.writableLength;
  if (pending === 0 || socket.destroyed) {
    state.pending = 0;
    return false;
  }
  const handle = (socket as SocketWithHandle)._handle;
  const sent = (handle?.bytesWritten ?? 0) - (handle?.writeQueueSize ?? 0);
  if (state.pending === 0 || sent !== state.sent) {
    state.lastProgress = now;
  } else if (now - state.lastProgress >= writeTimeout) {
    genLog.info(
      `Closing connection to ${remoteAddressOf(socket)}: ${pending} bytes unsent, no progress for ${writeTimeout} ms (writeTimeout)`,
    );
    socket.destroy();
    return true;
  }
  state.pending = pending;
  state.sent = sent;
  return false;
}

/** An upgraded socket's errors (a client reset) just close it. */
function onUpgradedSocketError(this: net.Socket): void {
  this.destroy();
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
      bodyIdleTimeout: options.bodyIdleTimeout ?? 60_000,
      writeTimeout: options.writeTimeout ?? 60_000,
      protocol: options.sslOptions ? 'https' : 'http',
      stopping: false,
      bodyDeadlines: new BodyDeadlines(),
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
    // Without a listener node destroys a CONNECT's socket unanswered; served like an upgrade,
    // the application answers it (a RequestHandler: 405, CONNECT not being supported).
    server.on('connect', this.#onUpgrade);
    const maxConnections = options.maxConnections ?? defaultMaxConnections();
    if (maxConnections !== undefined && maxConnections > 0) {
      // node:net closes a connection past the cap as it is accepted (no request is parsed);
      // in a cluster child, drop it rather than hand it to another child (see the option).
      server.maxConnections = maxConnections;
      (server as { dropMaxConnection?: boolean }).dropMaxConnection = true;
      server.on('drop', this.#onDrop);
    }
    this.#server = server;
  }

  /** The connection cap in force (`maxConnections`), or undefined for none. */
  get maxConnections(): number | undefined {
    const cap = this.#server.maxConnections;
    return cap === undefined || cap === null || cap <= 0 ? undefined : cap;
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
      // forkProcesses children share a fixed port by SO_REUSEPORT (see internal/fork-state.ts).
      server.listen({ port, host, reusePort: reusePortByDefault(port) }, () => {
        server.off('error', onError);
        this.#startSweep();
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
    server.once('close', () => {
      this.#stopSweep();
      // Report the refusals still waiting for the interval: the process may exit next.
      clearTimeout(this.#dropLogTimer);
      this.#logDrops(false);
    });
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
      // Upgraded connections (WebSockets) are told first, so they can close gracefully
      // (1001 Going Away) instead of being cut.
      for (const socket of this.#upgraded) {
        (socket as net.Socket & { [kServerStopping]?: () => void })[kServerStopping]?.();
      }
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

  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #drops = 0;
  #dropLogTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * One timer per server, not per request: every few seconds it walks the live connections
   * for a stalled write (`writeTimeout`) or a body that stopped arriving (`bodyIdleTimeout`).
   * The hot path pays nothing for either.
   */
  #startSweep(): void {
    const { writeTimeout, bodyIdleTimeout } = this.#settings;
    const shortest = Math.min(
      writeTimeout > 0 ? writeTimeout : Infinity,
      bodyIdleTimeout > 0 ? bodyIdleTimeout : Infinity,
    );
    if (shortest === Infinity || this.#sweepTimer !== undefined) return;
    const every = Math.max(10, Math.min(5000, Math.floor(shortest / 4)));
    this.#sweepTimer = setInterval(this.#sweep, every);
    this.#sweepTimer.unref();
  }

  #stopSweep(): void {
    if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
  }

  #sweep = (): void => {
    const { writeTimeout, bodyIdleTimeout } = this.#settings;
    const now = performance.now();
    const check = (ctx: RequestContext): void => ctx.checkBodyProgress(now, bodyIdleTimeout);
    for (const state of this.#live) {
      if (writeTimeout > 0 && sweepWrites(state, now, writeTimeout)) continue;
      if (bodyIdleTimeout > 0 && activeCount(state) > 0) eachActive(state, check);
    }
  };

  /** node:net closed a connection past `maxConnections`: count it, log at most every 10 s. */
  #onDrop = (): void => {
    this.#drops++;
    if (this.#dropLogTimer !== undefined) return;
    this.#logDrops();
  };

  #logDrops(rearm = true): void {
    const drops = this.#drops;
    this.#drops = 0;
    this.#dropLogTimer = undefined;
    if (drops === 0) return;
    genLog.warning(
      `Refused ${drops} connection${drops === 1 ? '' : 's'} over maxConnections=${this.#server.maxConnections}`,
    );
    if (!rearm) return;
    this.#dropLogTimer = setTimeout(() => this.#logDrops(), DROP_LOG_INTERVAL);
    this.#dropLogTimer.unref();
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
    if (state?.afterActive !== undefined) return; // answered already, once the others finish
    // A request whose body broke the parser (a bad chunk size) never completes: it is
    // abandoned like a request whose client left, and the error answer takes its place.
    let broken = state?.last;
    if (broken !== undefined && isActive(state!, broken) && !broken.req.complete) {
      if (broken.res.headersSent) {
        // Never inject an error response into the middle of another one.
        genLog.info(`Malformed HTTP message from ${remoteAddressOf(socket)}: ${error.message}`);
        socket.destroy();
        return;
      }
      broken.notifyClose();
    } else broken = undefined;
    let status = 400;
    if (code === 'HPE_HEADER_OVERFLOW') status = 431;
    else if (code === 'ERR_HTTP_REQUEST_TIMEOUT') status = 408;
    else if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') status = 413;
    if (status === 408)
      genLog.info(`Timeout reading request headers from ${remoteAddressOf(socket)}`);
    else genLog.info(`Malformed HTTP message from ${remoteAddressOf(socket)}: ${error.message}`);
    // Requests before the bad one may be in flight (pipelined) or their answers still queued:
    // each handler that ran gets its response out first, then the error answer goes and the
    // connection closes. Nothing more is read meanwhile; the parser has failed.
    const answer = (): void =>
      whenResponsesOut(socket, (broken ? state?.previous : state?.last)?.res, broken?.res, () => {
        if (socket.destroyed || !socket.writable) socket.destroy();
        else socket.end(BARE_RESPONSES[status] ?? BARE_RESPONSES[400]!, () => socket.destroy());
      });
    if (state === undefined || activeCount(state) === 0) {
      answer();
      return;
    }
    socket.pause();
    state.afterActive = answer;
  };

  #handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    expectContinue: boolean,
    head?: Buffer,
  ): void {
    const settings = this.#settings;
    const framing = checkFraming(req, res, settings.maxHeaderCount);
    if (framing === undefined) return;
    const host = framing.host;
    if (settings.decompressRequest && framing.contentEncoding !== undefined) {
      const encoding = framing.contentEncoding.trim().toLowerCase();
      if (encoding !== 'gzip' && encoding !== 'identity') {
        // Asked to decompress bodies: one it cannot decode must not reach the handler as if
        // it were plain bytes.
        rejectRequest(
          req,
          res,
          415,
          `unsupported Content-Encoding ${JSON.stringify(framing.contentEncoding.slice(0, 100))}`,
        );
        return;
      }
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
      state = {
        first: undefined,
        more: undefined,
        last: undefined,
        previous: undefined,
        live: this.#live,
        socket,
        remoteIp: remoteAddressOf(socket),
        pending: 0,
        sent: 0,
        lastProgress: 0,
      };
      this.#live.add(state);
      socket[kConnection] = state;
      socket.on('close', onSocketClose);
    }
    const ctx = new RequestContext(req, res, settings, state, head);
    ctx.framing = framing;
    addActive(state, ctx);
    state.previous = state.last;
    state.last = ctx;

    let remoteIp = state.remoteIp;
    let protocol = settings.protocol;
    if (settings.xheaders) [remoteIp, protocol] = this.#applyXheaders(req, remoteIp, protocol);
    const request = new HTTPServerRequest({
      method: req.method ?? 'GET',
      uri: req.url ?? '/',
      version: req.httpVersion === '1.1' ? 'HTTP/1.1' : `HTTP/${req.httpVersion}`,
      headers: req.rawHeaders,
      remoteIp,
      protocol,
      connection: ctx,
      maxFields: settings.maxFields,
    });
    if (host !== undefined) request.host = host;
    if (settings.decompressRequest) {
      const encoding = framing.contentEncoding;
      if (encoding !== undefined && encoding.trim().toLowerCase() === 'gzip') {
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
            if (!ctx.done) ctx.readBody(expectContinue);
          },
          (error: unknown) => ctx.failDelegate(error),
        );
        return;
      }
    } catch (error) {
      ctx.failDelegate(error);
      return;
    }
    ctx.readBody(expectContinue);
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
}
