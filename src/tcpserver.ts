/// <reference types="node" preserve="true" />

/**
 * `TCPServer`: accept TCP (or TLS) connections and hand each one, as an {@link IOStream}, to
 * your `handleStream(stream, address)`.
 *
 * Subclass it and implement `handleStream`, which may be `async`: each connection runs as its
 * own coroutine. An exception it throws (or an async one it rejects with) is logged on `appLog`
 * with its stack, and only that connection is closed; the server carries on. A
 * {@link StreamClosedError} that escapes after the stream has closed is the ordinary end of a
 * connection (the peer went away mid-read) and is logged at debug level only — Tornado logs it
 * as an error, which makes every example catch it.
 *
 * With `sslOptions` every accepted socket is wrapped in TLS and `handleStream` is called once the
 * handshake has completed; a failed handshake is logged as a warning (a reset or an EOF from the
 * client quietly), as Tornado does, and never reaches your code.
 *
 * @example
 * ```ts
 * import { TCPServer, StreamClosedError, type IOStream } from 'typhoon';
 *
 * class EchoServer extends TCPServer {
 *   override async handleStream(stream: IOStream) {
 *     for (;;) {
 *       const line = await stream.readUntil('\n', { maxBytes: 64 * 1024 });
 *       await stream.write(line);
 *     }
 *   }
 * }
 * const port = await new EchoServer().listen(8888, '127.0.0.1');
 * ```
 * Tornado: `tornado.tcpserver.TCPServer`.
 * @module typhoon/tcpserver
 */

// First, so that an unsupported Node.js fails with one clear sentence (see there).
import './internal/node-version.ts';
import type * as net from 'node:net';
import * as tls from 'node:tls';
import { isThenable } from './concurrent.ts';
import { StreamClosedError, TimeoutError } from './errors.ts';
import { IOStream, type IOStreamOptions } from './iostream/index.ts';
import { appLog, genLog } from './log.ts';
import {
  bindSockets,
  peerAddress,
  type BindSocketsOptions,
  type StreamAddress,
} from './netutil.ts';
import { kAfterHandshake } from './internal/symbols.ts';

/** Options of {@link TCPServer}. */
export interface TCPServerOptions extends IOStreamOptions {
  /**
   * Serve TLS: the options of `tls.createSecureContext` (`key`, `cert`, `ca`, …) plus
   * server-side connection options (`requestCert`, `rejectUnauthorized`, `ALPNProtocols`, …).
   * Tornado: `ssl_options`.
   */
  sslOptions?: tls.TlsOptions;
  /** Milliseconds a client has to complete the TLS handshake. Default 120 000 (as Node's). */
  handshakeTimeout?: number;
}

// A client that resets or hangs up during the handshake is not worth a warning.
const QUIET_TLS_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * A non-blocking, single-threaded TCP server. Subclass it and implement
 * {@link TCPServer.handleStream}. See the module documentation.
 *
 * @example
 * ```ts
 * class Greeter extends TCPServer {
 *   override async handleStream(stream: IOStream, address: StreamAddress) {
 *     await stream.write(`hello ${address.address}\n`);
 *     stream.close();
 *   }
 * }
 * const server = new Greeter({ sslOptions: { key, cert } });
 * await server.listen(8443);
 * // later: server.stop();
 * ```
 * Tornado: `tornado.tcpserver.TCPServer`.
 */
export abstract class TCPServer {
  #servers: net.Server[] = [];
  #streamOptions: IOStreamOptions;
  #secureContext: tls.SecureContext | null = null;
  #tlsOptions: tls.TLSSocketOptions | null = null;
  #handshakeTimeout: number;
  #onConnection = (socket: net.Socket): void => this.#accept(socket);
  #onServerError = (error: Error): void => {
    appLog.error('Error on listening socket', error);
  };

  constructor(options: TCPServerOptions = {}) {
    const streamOptions: IOStreamOptions = {};
    if (options.maxBufferSize !== undefined) streamOptions.maxBufferSize = options.maxBufferSize;
    if (options.maxWriteBufferSize !== undefined) {
      streamOptions.maxWriteBufferSize = options.maxWriteBufferSize;
    }
    this.#streamOptions = streamOptions;
    this.#handshakeTimeout = options.handshakeTimeout ?? 120_000;
    if (options.sslOptions !== undefined) {
      // Built once; every connection shares it (building one per handshake is costly).
      const secureContext =
        options.sslOptions.secureContext ?? tls.createSecureContext(options.sslOptions);
      this.#secureContext = secureContext;
      this.#tlsOptions = { ...options.sslOptions, isServer: true, secureContext };
    }
  }

  /**
   * Handle one connection. Called once per accepted connection (after the TLS handshake with
   * `sslOptions`); may return a Promise, and the connection's errors are handled as the module
   * documentation says. `address` is the peer's `{address, port, family}`.
   *
   * Tornado: `TCPServer.handle_stream`.
   */
  abstract handleStream(stream: IOStream, address: StreamAddress): unknown;

  /**
   * Start accepting connections on `port` of `host` (every address it resolves to; all
   * interfaces when omitted). Resolves with the bound port — pass 0 to get a free one.
   *
   * @example
   * ```ts
   * const port = await server.listen(0, '127.0.0.1');
   * ```
   * Tornado: `TCPServer.listen`.
   */
  async listen(port: number, host?: string, options?: BindSocketsOptions): Promise<number> {
    const servers = await bindSockets(port, host, options);
    this.addSockets(servers);
    return (servers[0]!.address() as net.AddressInfo).port;
  }

  /**
   * Start accepting connections on listening servers you created, e.g. with
   * {@link bindSockets} or {@link typhoon/netutil!bindUnixSocket | bindUnixSocket}. They are closed by {@link TCPServer.stop}.
   *
   * Tornado: `TCPServer.add_sockets`.
   */
  addSockets(servers: Iterable<net.Server>): void {
    for (const server of servers) {
      server.on('connection', this.#onConnection);
      server.on('error', this.#onServerError);
      this.#servers.push(server);
    }
  }

  /** Like {@link TCPServer.addSockets} for one server. Tornado: `TCPServer.add_socket`. */
  addSocket(server: net.Server): void {
    this.addSockets([server]);
  }

  /**
   * Bind `port` on `host` with {@link bindSockets} and start accepting on the new sockets;
   * resolves with the servers (their addresses tell the port). {@link TCPServer.listen} is the
   * usual shortcut. Tornado: `TCPServer.bind` + `start`.
   */
  async bindSockets(
    port: number,
    host?: string,
    options?: BindSocketsOptions,
  ): Promise<net.Server[]> {
    const servers = await bindSockets(port, host, options);
    this.addSockets(servers);
    return servers;
  }

  /** The listening servers, e.g. to read their addresses. */
  get servers(): readonly net.Server[] {
    return this.#servers;
  }

  /**
   * Stop listening: the listening sockets are closed at once, so new connections are refused.
   * Connections already accepted carry on until they end. Tornado: `TCPServer.stop`.
   */
  stop(): void {
    const servers = this.#servers;
    this.#servers = [];
    for (const server of servers) {
      server.off('connection', this.#onConnection);
      server.close();
      // Keep a listener: a late error on a closing server must not become uncaught.
      server.on('error', this.#onServerError);
    }
  }

  #accept(socket: net.Socket): void {
    const address = peerAddress(socket);
    if (this.#tlsOptions === null) {
      this.#run(new IOStream(socket, this.#streamOptions), address, true);
      return;
    }
    socket.on('error', noop); // the TLS socket reports errors; the raw one must not throw
    const tlsSocket = new tls.TLSSocket(socket, this.#tlsOptions);
    const timeout = this.#handshakeTimeout;
    const timer = setTimeout(() => {
      tlsSocket.destroy(new TimeoutError(`TLS handshake not completed within ${timeout} ms`));
    }, timeout);
    IOStream[kAfterHandshake](tlsSocket, 'secure', null, this.#streamOptions).connected.then(
      (stream) => {
        clearTimeout(timer);
        this.#run(stream, address, false);
      },
      (error: unknown) => {
        clearTimeout(timer);
        const real = error instanceof StreamClosedError ? error.realError : error;
        const code = (real as NodeJS.ErrnoException | undefined)?.code;
        if (real === undefined || (code !== undefined && QUIET_TLS_ERRORS.has(code))) {
          genLog.debug(`TLS handshake with ${address.address}:${address.port} ended early`);
        } else {
          genLog.warning(
            `TLS error on handshake with ${address.address}:${address.port}: ${String((real as Error).message ?? real)}`,
          );
        }
      },
    );
  }

  // `plain`: the stream's socket is the accepted one, whose peer address Node has cached.
  #run(stream: IOStream, address: StreamAddress, plain: boolean): void {
    let result: unknown;
    try {
      result = this.handleStream(stream, address);
    } catch (error) {
      handlerFailed(stream, address, error);
      return;
    }
    if (!isThenable(result)) return;
    // This hook lives as long as the connection: for plain TCP, a bound function (48 bytes)
    // rather than a closure over stream and address and its context (about twice that).
    result.then(
      undefined,
      plain
        ? plainHandlerFailed.bind(stream)
        : (error: unknown) => handlerFailed(stream, address, error),
    );
  }
}

function noop(): void {}

// `this` is the stream of a plain TCP connection. Its peer address is read again rather than
// kept: Node cached it on the socket when `#accept` read it, so it survives the socket's close.
function plainHandlerFailed(this: IOStream, error: unknown): void {
  handlerFailed(this, peerAddress(this.socket), error);
}

function handlerFailed(stream: IOStream, address: StreamAddress, error: unknown): void {
  if (error instanceof StreamClosedError && stream.closed()) {
    genLog.debug(`Connection from ${address.address}:${address.port} closed`);
  } else {
    appLog.error(`Error in connection callback for ${address.address}:${address.port}`, error);
  }
  stream.close();
}
