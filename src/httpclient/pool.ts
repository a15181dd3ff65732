/**
 * The pool behind typhoon's `AsyncHTTPClient` (see index.ts for the public class): the
 * `maxClients` slots and FIFO queue, and the undici dispatchers per TLS/proxy setting. One
 * fetch and its attempts live in fetch.ts; it reaches the pool through its `FetchPool`
 * interface.
 *
 * ```
 *  fetch() ─▶ resolve options ─▶ inFlight < maxClients ? ─ yes ─▶ FetchState.begin() (fetch.ts)
 *                  │ bad input            │ no                        │ done
 *                  ▼                      ▼                           ▼
 *             reject 599            FIFO queue (queueTimeout)     release(): next queued one
 * ```
 * Not a public module: nothing here is exported from `src/index.ts`.
 * @module
 */
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type * as net from 'node:net';
import { Agent, ProxyAgent, buildConnector, errors as undiciErrors, type Dispatcher } from 'undici';
import { HTTPClientError } from '../errors.ts';
import { appLog } from '../log.ts';
import { Future } from '../concurrent.ts';
import {
  HTTPRequest,
  REQUEST_DEFAULTS,
  REQUEST_OPTION_NAMES,
  clientError,
  resolveRequest,
  type FetchOptions,
  type HTTPRequestOptions,
  type HTTPResponse,
  type ResolvedRequest,
} from './request.ts';
import { FetchState, positiveMin, type FetchPool } from './fetch.ts';
import { Deadlines } from './deadlines.ts';

/** Default `maxBodySize`: 100 MiB, counted after decompression. Tornado: `max_body_size`. */
export const DEFAULT_MAX_BODY_SIZE = 100 * 1024 * 1024;
/** Default `maxHeaderSize`: 64 KiB for the status line and all headers together.
 * Tornado: `max_header_size`. */
export const DEFAULT_MAX_HEADER_SIZE = 64 * 1024;
/** Default `maxClients`, as in Tornado (`max_clients`). */
export const DEFAULT_MAX_CLIENTS = 10;
const USER_AGENT = 'typhoon/0.1';
/** Distinct TLS/proxy settings kept as live dispatchers; the oldest is closed past this. */
const MAX_DISPATCHERS = 16;

/**
 * Options of `AsyncHTTPClient` and `AsyncHTTPClient.configure`: client-wide limits and the
 * request defaults.
 *
 * @example
 * ```ts
 * const client = new AsyncHTTPClient({ forceInstance: true, maxClients: 50, maxBodySize: 1 << 20 });
 * ```
 * Tornado: the keyword arguments of `AsyncHTTPClient.configure` / `SimpleAsyncHTTPClient`.
 */
export interface AsyncHTTPClientOptions {
  /** Requests in flight at once; the rest wait in a FIFO queue. Default 10. */
  maxClients?: number;
  /** Request options applied where a request leaves them unset. */
  defaults?: HTTPRequestOptions;
  /** Largest response body, counted after decompression. Default 100 MiB. */
  maxBodySize?: number;
  /** Largest status line plus headers of a response. Default 64 KiB. */
  maxHeaderSize?: number;
  /** How long an idle keep-alive connection is kept, in ms. Default 4000. */
  keepAliveTimeout?: number;
}

/** Constructor options of `AsyncHTTPClient`. */
export interface AsyncHTTPClientConstructorOptions extends AsyncHTTPClientOptions {
  /** Create a private client instead of returning the loop's shared one. */
  forceInstance?: boolean;
}

/**
 * What `AsyncHTTPClient.stats` reports.
 *
 * @example
 * ```ts
 * if (client.stats().queued > 100) console.warn('HTTP client backlog');
 * ```
 * Tornado: none (typhoon makes the `max_clients` queue visible).
 */
export interface HTTPClientStats {
  /** Requests holding one of the `maxClients` slots. */
  inFlight: number;
  /** Requests waiting for a slot. */
  queued: number;
  /** The client's `maxClients`. */
  maxClients: number;
}

/**
 * The machinery behind one `AsyncHTTPClient`: the `maxClients` slots and FIFO queue,
 * the undici dispatchers, and the client-wide limits. Kept apart so that the public class
 * shows only `fetch`, `stats` and `close`.
 * @internal
 */
export class ClientCore implements FetchPool {
  #maxClients = DEFAULT_MAX_CLIENTS;
  #defaults: HTTPRequestOptions = {};
  // The connect limit of a request that sets no timeouts of its own (see `dispatcherFor`).
  #defaultConnectLimit = 0;
  #maxBodySize = DEFAULT_MAX_BODY_SIZE;
  #maxHeaderSize = DEFAULT_MAX_HEADER_SIZE;
  #keepAliveTimeout = 4000;
  #inFlight = new Set<FetchState>();
  #queue: FetchState[] = [];
  #queueHead = 0;
  #queued = 0;
  #warned = false;
  #closed = false;
  #agent: Agent | null = null;
  #dispatchers = new Map<string, Dispatcher>();
  readonly deadlines = new Deadlines();

  constructor(options: AsyncHTTPClientOptions) {
    if (options.maxClients !== undefined) {
      if (!Number.isInteger(options.maxClients) || options.maxClients < 1) {
        throw new RangeError(`maxClients must be a positive integer, got ${options.maxClients}`);
      }
      this.#maxClients = options.maxClients;
    }
    this.#defaults = { ...options.defaults };
    this.#defaultConnectLimit = positiveMin(
      this.#defaults.connectTimeout ?? REQUEST_DEFAULTS.connectTimeout,
      this.#defaults.requestTimeout ?? REQUEST_DEFAULTS.requestTimeout,
    );
    this.#maxBodySize = options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE;
    this.#maxHeaderSize = options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE;
    this.#keepAliveTimeout = options.keepAliveTimeout ?? 4000;
  }

  fetch(urlOrRequest: string | HTTPRequest, options: FetchOptions = {}): Future<HTTPResponse> {
    const future = new Future<HTTPResponse>();
    let request: HTTPRequest;
    if (urlOrRequest instanceof HTTPRequest) {
      request = urlOrRequest;
      for (const key of Object.keys(options)) {
        if (REQUEST_OPTION_NAMES.has(key)) {
          const state = new FetchState(this, request, future, options);
          state.fail(
            clientError(`Request option ${key} cannot be combined with an HTTPRequest object`),
          );
          return future;
        }
      }
    } else {
      request = new HTTPRequest(urlOrRequest, options);
    }
    const state = new FetchState(this, request, future, options);
    if (this.#closed) {
      state.fail(clientError('fetch() called on a closed AsyncHTTPClient'));
      return future;
    }
    try {
      state.resolved = resolveRequest(request, this.#defaults, this.#maxBodySize, USER_AGENT);
    } catch (err) {
      state.fail(err instanceof HTTPClientError ? err : clientError(String(err), err));
      return future;
    }
    // Cancelling the Future stops the request: its slot or queue place is freed and its
    // connection aborted.
    future.addDoneCallback(state.onFutureDone);
    if (this.#inFlight.size < this.#maxClients) {
      this.#start(state);
    } else {
      this.#enqueue(state);
    }
    return future;
  }

  stats(): HTTPClientStats {
    return { inFlight: this.#inFlight.size, queued: this.#queued, maxClients: this.#maxClients };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closedError = () => clientError('AsyncHTTPClient was closed');
    for (let i = this.#queueHead; i < this.#queue.length; i++) this.#queue[i]!.fail(closedError());
    this.#queue = [];
    this.#queueHead = 0;
    this.#queued = 0;
    for (const state of [...this.#inFlight]) state.fail(closedError());
    this.deadlines.close();
    const dispatchers = [...this.#dispatchers.values()];
    if (this.#agent !== null) dispatchers.push(this.#agent);
    this.#dispatchers.clear();
    this.#agent = null;
    await Promise.all(dispatchers.map((d) => d.destroy().catch(() => undefined)));
  }

  release(state: FetchState): void {
    if (!this.#inFlight.delete(state)) return;
    while (this.#queueHead < this.#queue.length && this.#inFlight.size < this.#maxClients) {
      const next = this.#queue[this.#queueHead]!;
      this.#queue[this.#queueHead++] = undefined as unknown as FetchState;
      if (next.done) continue;
      this.#queued--;
      next.dequeued();
      this.#start(next);
    }
    if (this.#queueHead === this.#queue.length) {
      // Emptied (not merely empty, as it is whenever no request waits): let go of the array.
      if (this.#queueHead > 0) {
        this.#queue = [];
        this.#queueHead = 0;
      }
    } else if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
  }

  leftQueue(): void {
    this.#queued--;
  }

  #enqueue(state: FetchState): void {
    if (!this.#warned) {
      this.#warned = true;
      appLog.warning(
        `AsyncHTTPClient: ${this.#maxClients} requests in flight (maxClients); further ` +
          `requests wait in a queue and fail after queueTimeout. Raise maxClients if this is ` +
          `not intended.`,
      );
    }
    this.#queue.push(state);
    this.#queued++;
    state.enqueued();
  }

  #start(state: FetchState): void {
    this.#inFlight.add(state);
    state.begin();
  }

  /**
   * The dispatcher for a request's TLS and proxy settings and its connect time limit. The
   * limit is part of the key because the dispatcher's connector enforces it: a request that
   * gives up connecting sooner than the defaults allow must not leave its half-open socket to
   * live on until the default limit.
   */
  dispatcherFor(r: ResolvedRequest): Dispatcher {
    const tlsDefault =
      r.validateCert &&
      r.caCerts === undefined &&
      r.clientCert === undefined &&
      r.clientKey === undefined;
    const connectLimit = positiveMin(r.connectTimeout, r.requestTimeout);
    if (tlsDefault && r.proxy === undefined && connectLimit === this.#defaultConnectLimit) {
      if (this.#agent === null) this.#agent = new Agent(this.#agentOptions({}, connectLimit));
      return this.#agent;
    }
    const tls: Record<string, unknown> = { rejectUnauthorized: r.validateCert };
    const keyParts = [String(connectLimit), String(r.validateCert)];
    for (const [name, value] of [
      ['ca', r.caCerts],
      ['cert', r.clientCert],
      ['key', r.clientKey],
    ] as const) {
      if (value === undefined) {
        keyParts.push('');
        continue;
      }
      const pem = loadPem(value, name);
      tls[name] = pem;
      keyParts.push(createHash('sha256').update(pem).digest('hex'));
    }
    if (r.proxy !== undefined) {
      keyParts.push(
        r.proxy.host,
        String(r.proxy.port),
        r.proxy.username ?? '',
        r.proxy.password ?? '',
      );
    }
    const key = keyParts.join('|');
    let dispatcher = this.#dispatchers.get(key);
    if (dispatcher === undefined) {
      if (r.proxy !== undefined) {
        const proxyOptions: ProxyAgent.Options = {
          ...this.#agentOptions({}, connectLimit),
          uri: `http://${r.proxy.host.includes(':') ? `[${r.proxy.host}]` : r.proxy.host}:${r.proxy.port}`,
          requestTls: tls,
        };
        if (r.proxy.username !== undefined) {
          proxyOptions.token = `Basic ${Buffer.from(`${r.proxy.username}:${r.proxy.password ?? ''}`).toString('base64')}`;
        }
        dispatcher = new ProxyAgent(proxyOptions);
      } else {
        dispatcher = new Agent(this.#agentOptions(tls, connectLimit));
      }
      if (this.#dispatchers.size >= MAX_DISPATCHERS) {
        const [oldestKey, oldest] = this.#dispatchers.entries().next().value!;
        this.#dispatchers.delete(oldestKey);
        oldest.close().catch(() => undefined);
      }
      this.#dispatchers.set(key, dispatcher);
    }
    return dispatcher;
  }

  // `timeout`: how long a connection (with its TLS handshake) may take before its socket is
  // destroyed. typhoon's per-request timers decide when the fetch fails; this bounds the
  // socket's life. Headers/body timeouts are typhoon's requestTimeout.
  #agentOptions(tls: Record<string, unknown>, timeout: number): Agent.Options {
    return {
      // The server's Keep-Alive hint may shorten, never lengthen, the idle time.
      // Never more connections per origin than requests in flight: without a cap, undici
      // opens a new socket whenever the idle ones are in its one-turn reuse check.
      connections: this.#maxClients,
      keepAliveTimeout: this.#keepAliveTimeout,
      keepAliveMaxTimeout: this.#keepAliveTimeout,
      headersTimeout: 0,
      bodyTimeout: 0,
      maxHeaderSize: this.#maxHeaderSize,
      connect: timedConnector(tls, timeout),
    };
  }

  get maxHeaderSize(): number {
    return this.#maxHeaderSize;
  }
}

// undici's own connect timer is coarse past one second (its timers tick about twice a second),
// so a socket typhoon had given up on could live up to a second longer. This connector times
// each connection attempt, TLS handshake included, with a plain timer instead.
type SocketConnector = (
  options: buildConnector.Options,
  callback: buildConnector.Callback,
) => net.Socket;
function timedConnector(tls: Record<string, unknown>, timeout: number): buildConnector.connector {
  // Typed as returning void; it returns the socket it creates (undici's own Client uses it).
  const connect = buildConnector({ ...tls, timeout: 0 }) as unknown as SocketConnector;
  if (!(timeout > 0)) return connect;
  return (options, callback) => {
    let timer: NodeJS.Timeout | undefined;
    const socket = connect(options, (...args) => {
      clearTimeout(timer);
      callback(...args);
    });
    timer = setTimeout(() => {
      socket.destroy(
        new undiciErrors.ConnectTimeoutError(
          `Connect Timeout Error (attempted address: ${options.hostname}:${options.port}, ` +
            `timeout: ${timeout}ms)`,
        ),
      );
    }, timeout);
  };
}

const pemFiles = new Map<string, Buffer>();
function loadPem(value: string | Buffer, what: string): string | Buffer {
  if (typeof value !== 'string' || value.includes('-----BEGIN')) return value;
  let pem = pemFiles.get(value);
  if (pem === undefined) {
    try {
      pem = readFileSync(value);
    } catch (err) {
      throw clientError(`Cannot read ${what} file ${value}`, err);
    }
    pemFiles.set(value, pem);
  }
  return pem;
}
