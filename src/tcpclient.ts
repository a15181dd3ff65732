/// <reference types="node" preserve="true" />

/**
 * `TCPClient`: open a TCP (or TLS) connection and get it as an {@link IOStream}.
 *
 * Host names are resolved without blocking the loop and, when a name has both IPv6 and IPv4
 * addresses, the two families are tried the "happy eyeballs" way (Node's `autoSelectFamily`,
 * the same idea as Tornado's `_Connector`). Every failure — refused, unreachable, a failed TLS
 * handshake, or the `timeout` passing — rejects with {@link typhoon/errors!ConnectError | ConnectError}, whose `cause` is the
 * underlying error ({@link TimeoutError} for a timeout), and the socket is always released.
 *
 * @example
 * ```ts
 * import { TCPClient } from 'typhoon';
 * const stream = await new TCPClient().connect('127.0.0.1', 6379, { timeout: 5000 });
 * await stream.write('PING\r\n');
 * console.log((await stream.readUntil('\r\n')).toString()); // +PONG
 * ```
 * Tornado: `tornado.tcpclient.TCPClient`.
 * @module typhoon/tcpclient
 */

// First, so that an unsupported Node.js fails with one clear sentence (see there).
import './internal/node-version.ts';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { Future } from './concurrent.ts';
import { TimeoutError } from './errors.ts';
import { IOStream, type IOStreamOptions } from './iostream/index.ts';
import { kAfterHandshake } from './internal/symbols.ts';

/** Options of {@link TCPClient.connect}. */
export interface TCPClientConnectOptions extends IOStreamOptions {
  /**
   * Connect with TLS: the options of `tls.connect` (`ca`, `cert`, `key`, `servername`,
   * `rejectUnauthorized`, …). The server's certificate is verified against `host` (or
   * `servername`) unless `rejectUnauthorized: false`. Tornado: `ssl_options`.
   */
  sslOptions?: tls.ConnectionOptions;
  /** Give up after this many milliseconds (TLS handshake included). Default: no timeout. */
  timeout?: number;
  /** Local address to connect from. Tornado: `source_ip`. */
  sourceIp?: string;
  /** Local port to connect from. Tornado: `source_port`. */
  sourcePort?: number;
  /** Only use addresses of this family: 4, 6, or 0 for either (default). Tornado: `af`. */
  family?: 0 | 4 | 6;
}

/**
 * A non-blocking TCP connection factory. Stateless; one instance can open any number of
 * connections.
 *
 * @example
 * ```ts
 * const client = new TCPClient();
 * const [a, b] = await Promise.all([client.connect('10.0.0.1', 80), client.connect('10.0.0.2', 80)]);
 * ```
 * Tornado: `tornado.tcpclient.TCPClient`.
 */
export class TCPClient {
  /**
   * Connect to `host:port` and resolve with the connected (and, with `sslOptions`,
   * handshaken) stream. Rejects with {@link typhoon/errors!ConnectError | ConnectError}; see the module documentation.
   *
   * @example
   * ```ts
   * const stream = await new TCPClient().connect('localhost', 8443, {
   *   sslOptions: { ca: readFileSync('ca.pem') },
   *   timeout: 2000,
   * });
   * ```
   * Tornado: `TCPClient.connect`.
   */
  connect(host: string, port: number, options: TCPClientConnectOptions = {}): Future<IOStream> {
    const streamOptions: IOStreamOptions = {};
    if (options.maxBufferSize !== undefined) streamOptions.maxBufferSize = options.maxBufferSize;
    if (options.maxWriteBufferSize !== undefined) {
      streamOptions.maxWriteBufferSize = options.maxWriteBufferSize;
    }
    const family =
      options.family ??
      (options.sourceIp !== undefined ? (net.isIP(options.sourceIp) as 0 | 4 | 6) : 0);
    const where: net.TcpSocketConnectOpts = { host, port, family };
    if (options.sourceIp !== undefined) where.localAddress = options.sourceIp;
    if (options.sourcePort !== undefined) where.localPort = options.sourcePort;

    let stream: IOStream;
    let connected: Future<IOStream>;
    if (options.sslOptions !== undefined) {
      const socket = tls.connect({ ...options.sslOptions, ...where });
      ({ stream, connected } = IOStream[kAfterHandshake](
        socket,
        'secureConnect',
        `${host}:${port}`,
        streamOptions,
      ));
    } else {
      stream = new IOStream(new net.Socket(), streamOptions);
      const { host: _h, port: _p, ...rest } = where;
      connected = stream.connect(port, host, rest as Parameters<IOStream['connect']>[2]);
    }
    if (options.timeout !== undefined) {
      const ms = options.timeout;
      const timer = setTimeout(() => {
        stream.close(new TimeoutError(`Connecting to ${host}:${port} timed out after ${ms} ms`));
      }, ms);
      connected.addDoneCallback(() => clearTimeout(timer));
    }
    return connected;
  }

  /** Nothing to release (kept for Tornado compatibility). Tornado: `TCPClient.close`. */
  close(): void {}
}
