/// <reference types="node" preserve="true" />

/**
 * Network helpers shared by the TCP server and client: binding listening sockets on every
 * address of a host, Unix sockets, accept handlers, address checks and TLS contexts.
 *
 * Listening sockets are Node `net.Server` objects here (Tornado's are raw `socket` objects);
 * {@link bindSockets} returns them already listening and not yet accepting into anything, so
 * a {@link typhoon/tcpserver!TCPServer | TCPServer} (or your own code, through {@link addAcceptHandler}) can take them over.
 *
 * @example
 * ```ts
 * import { bindSockets } from 'typhoon';
 * const servers = await bindSockets(8888, 'localhost'); // 127.0.0.1 and ::1 when available
 * myServer.addSockets(servers);
 * ```
 * Tornado: `tornado.netutil`.
 * @module typhoon/netutil
 */

// First, so that an unsupported Node.js fails with one clear sentence (see there).
import './internal/node-version.ts';
import * as dns from 'node:dns';
import { lstatSync, chmodSync, unlinkSync } from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { reusePortByDefault } from './internal/fork-state.ts';

/** The peer address handed to `TCPServer.handleStream`. */
export interface StreamAddress {
  /** IP address of the peer (`''` for a Unix socket). */
  address: string;
  /** Port of the peer (0 for a Unix socket). */
  port: number;
  /** `'IPv4'`, `'IPv6'`, or `'unix'`. */
  family: string;
}

/** Options of {@link bindSockets}. */
export interface BindSocketsOptions {
  /** Only bind addresses of this family: 4, 6, or 0 for both (default). */
  family?: 0 | 4 | 6;
  /** Length of the queue of pending connections. Default 511 (Node's default; Tornado 128). */
  backlog?: number;
  /**
   * Let several processes bind the same port (`SO_REUSEPORT`; Linux, FreeBSD). Default: on in
   * the children of `forkProcesses` when the port is not 0, off otherwise.
   */
  reusePort?: boolean;
}

/**
 * Create listening sockets bound to `port` on every address `address` resolves to (both
 * 127.0.0.1 and ::1 for `localhost`), or on all interfaces when `address` is empty. With port
 * 0, the first socket picks a free port and the others reuse it. IPv6 sockets are bound
 * IPv6-only when an IPv4 socket shares the port, so the two never conflict. On failure every
 * socket already bound is closed and the error (e.g. `EADDRINUSE`) is thrown.
 *
 * @example
 * ```ts
 * const [server] = await bindSockets(0, '127.0.0.1');
 * const port = (server!.address() as net.AddressInfo).port;
 * ```
 * Tornado: `tornado.netutil.bind_sockets`.
 */
export async function bindSockets(
  port: number,
  address?: string | null,
  options: BindSocketsOptions = {},
): Promise<net.Server[]> {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`port must be an integer 0..65535, got ${port}`);
  }
  const family = options.family ?? 0;
  const hosts: Array<{ host: string | undefined; ipv6Only: boolean }> = [];
  if (!address) {
    // Node's unspecified-host listen is one dual-stack socket (:: with IPv4 mapped, or
    // 0.0.0.0 where IPv6 is absent); an explicit family narrows it.
    hosts.push({
      host: family === 4 ? '0.0.0.0' : family === 6 ? '::' : undefined,
      ipv6Only: family === 6,
    });
  } else {
    const found = await dns.promises.lookup(address, { all: true, family });
    const seen = new Set<string>();
    for (const entry of found) {
      if (seen.has(entry.address)) continue;
      seen.add(entry.address);
      hosts.push({ host: entry.address, ipv6Only: entry.family === 6 });
    }
    if (hosts.length === 0) throw new Error(`${address} resolved to no addresses`);
  }
  const servers: net.Server[] = [];
  let boundPort = port;
  try {
    for (const { host, ipv6Only } of hosts) {
      const server = net.createServer({ pauseOnConnect: false });
      await listen(server, {
        port: boundPort,
        host,
        ipv6Only,
        backlog: options.backlog ?? 511,
        // Default: on in forkProcesses children for a fixed port (internal/fork-state.ts).
        reusePort: options.reusePort ?? reusePortByDefault(port),
      });
      servers.push(server);
      if (boundPort === 0) boundPort = (server.address() as net.AddressInfo).port;
    }
  } catch (error) {
    for (const server of servers) server.close();
    throw error;
  }
  return servers;
}

function listen(server: net.Server, options: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(options, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Options of {@link bindUnixSocket}. */
export interface BindUnixSocketOptions {
  /** File mode of the socket. Default `0o600` (owner only), as Tornado. */
  mode?: number;
  /** Length of the queue of pending connections. Default 511. */
  backlog?: number;
}

/**
 * Create a listening Unix-domain socket at `path`. A stale socket file left at `path` is
 * removed first; any other kind of file there is an error (`EEXIST`), never deleted.
 *
 * @example
 * ```ts
 * server.addSockets([await bindUnixSocket('/tmp/app.sock')]);
 * ```
 * Tornado: `tornado.netutil.bind_unix_socket`.
 */
export async function bindUnixSocket(
  path: string,
  options: BindUnixSocketOptions = {},
): Promise<net.Server> {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    stat = undefined;
  }
  if (stat !== undefined) {
    if (!stat.isSocket()) {
      throw Object.assign(new Error(`File ${path} exists and is not a socket`), { code: 'EEXIST' });
    }
    unlinkSync(path);
  }
  const server = net.createServer();
  await listen(server, { path, backlog: options.backlog ?? 511 });
  chmodSync(path, options.mode ?? 0o600);
  return server;
}

/**
 * Call `callback(socket, address)` for every connection `server` accepts. Returns a function
 * that stops it (the server keeps listening; close it yourself). An exception in `callback` is
 * not caught here: wrap your own work, as {@link typhoon/tcpserver!TCPServer | TCPServer} does.
 *
 * @example
 * ```ts
 * const remove = addAcceptHandler(server, (socket) => socket.end('bye\n'));
 * ```
 * Tornado: `tornado.netutil.add_accept_handler`.
 */
export function addAcceptHandler(
  server: net.Server,
  callback: (socket: net.Socket, address: StreamAddress) => void,
): () => void {
  const onConnection = (socket: net.Socket) => callback(socket, peerAddress(socket));
  server.on('connection', onConnection);
  return () => {
    server.off('connection', onConnection);
  };
}

/**
 * The peer address of a connected socket, as {@link StreamAddress} (what `handleStream`
 * receives). No Tornado equivalent: Tornado passes `socket.accept()`'s address tuple.
 *
 * @example
 * ```ts
 * server.on('connection', (socket) => console.log(peerAddress(socket).address));
 * ```
 */
export function peerAddress(socket: net.Socket): StreamAddress {
  const family = socket.remoteFamily;
  return {
    address: socket.remoteAddress ?? '',
    port: socket.remotePort ?? 0,
    family: family ?? 'unix',
  };
}

/**
 * True if `ip` is a literal IPv4 or IPv6 address (not a host name).
 *
 * @example
 * ```ts
 * isValidIp('::1'); // true
 * isValidIp('localhost'); // false
 * ```
 * Tornado: `tornado.netutil.is_valid_ip`.
 */
export function isValidIp(ip: string): boolean {
  if (typeof ip !== 'string' || ip === '' || ip.includes('\x00')) return false;
  return net.isIP(ip) !== 0;
}

/**
 * Turn TLS options (`key`, `cert`, `ca`, …) into a `tls.SecureContext`, once, so it can be
 * shared by every connection; a context passed in is returned as it is.
 *
 * @example
 * ```ts
 * const context = sslOptionsToContext({ key: readFileSync('key.pem'), cert: readFileSync('cert.pem') });
 * ```
 * Tornado: `tornado.netutil.ssl_options_to_context`.
 */
export function sslOptionsToContext(
  options: tls.SecureContextOptions | tls.SecureContext,
): tls.SecureContext {
  if (isSecureContext(options)) return options;
  return tls.createSecureContext(options);
}

function isSecureContext(x: unknown): x is tls.SecureContext {
  // A SecureContext carries its native handle as `context`; no option of that name exists.
  return typeof x === 'object' && x !== null && 'context' in x;
}

/** One address a host name resolves to. */
export interface ResolvedAddress {
  /** 4 or 6. */
  family: number;
  /** The IP address. */
  address: string;
  /** The port asked for. */
  port: number;
}

/**
 * Resolves host names without blocking the loop: `dns.lookup` runs on libuv's thread pool,
 * the equivalent of Tornado's thread-backed default resolver.
 *
 * @example
 * ```ts
 * const addresses = await new DefaultResolver().resolve('localhost', 80);
 * ```
 * Tornado: `tornado.netutil.DefaultExecutorResolver`.
 */
export class DefaultResolver {
  /**
   * Resolve `host` to its addresses (all of them, IPv6 and IPv4 in system order) for `port`;
   * `family` narrows to 4 or 6. Rejects with the resolver's error (`ENOTFOUND`, …).
   * Tornado: `Resolver.resolve`.
   */
  async resolve(host: string, port: number, family: 0 | 4 | 6 = 0): Promise<ResolvedAddress[]> {
    const found = await dns.promises.lookup(host, { all: true, family });
    return found.map((entry) => ({ family: entry.family, address: entry.address, port }));
  }
}
