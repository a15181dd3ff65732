/**
 * The engine of typhoon's `AsyncHTTPClient` (see `httpclient.ts` for the public class): the
 * `maxClients` slots and FIFO queue, undici dispatchers per TLS/proxy setting, and one fetch's
 * life across its hops — timers, the redirect policy, bounded decoding, and the mapping of
 * every failure to an `HTTPClientError`.
 *
 * ```
 *  fetch() ─▶ resolve options ─▶ inFlight < maxClients ? ─ yes ─▶ attempt (hop) ─▶ undici
 *                  │ bad input            │ no                        │ 3xx + Location
 *                  ▼                      ▼                           ▼
 *             reject 599            FIFO queue (queueTimeout)     next hop, same slot
 * ```
 * Not a public module: nothing here is exported from `src/index.ts`.
 * @module
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import type * as net from 'node:net';
import { Agent, ProxyAgent, buildConnector, errors as undiciErrors, type Dispatcher } from 'undici';
import { HTTPClientError, TimeoutError } from '../errors.ts';
import { appLog } from '../log.ts';
import { Future } from '../concurrent.ts';
import { IOLoop } from '../ioloop.ts';
import { HTTPHeaders } from '../httputil/index.ts';
import { BodyDecoder, DecodeError, parseContentEncoding } from './decode.ts';
import {
  HTTPRequest,
  HTTPResponse,
  REQUEST_DEFAULTS,
  REQUEST_OPTION_NAMES,
  clientError,
  resolveRequest,
  type BodyProducer,
  type FetchOptions,
  type HTTPRequestOptions,
  type HeaderMap,
  type ResolvedRequest,
  type TimeInfo,
} from './request.ts';

/** Default `maxBodySize`: 100 MiB, counted after decompression. Tornado: `max_body_size`. */
export const DEFAULT_MAX_BODY_SIZE = 100 * 1024 * 1024;
/** Default `maxHeaderSize`: 64 KiB for the status line and all headers together.
 * Tornado: `max_header_size`. */
export const DEFAULT_MAX_HEADER_SIZE = 64 * 1024;
/** Default `maxClients`, as in Tornado (`max_clients`). */
export const DEFAULT_MAX_CLIENTS = 10;
const USER_AGENT = 'typhoon/0.1';
const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);
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

/** Writable view of the error's `response`, set once the response object exists. */
type WritableError = { response: HTTPResponse | undefined };

/**
 * The machinery behind one `AsyncHTTPClient`: the `maxClients` slots and FIFO queue,
 * the undici dispatchers, and the client-wide limits. Kept apart so that the public class
 * shows only `fetch`, `stats` and `close`.
 * @internal
 */
export class ClientCore {
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
    const dispatchers = [...this.#dispatchers.values()];
    if (this.#agent !== null) dispatchers.push(this.#agent);
    this.#dispatchers.clear();
    this.#agent = null;
    await Promise.all(dispatchers.map((d) => d.destroy().catch(() => undefined)));
  }

  /** Called by a finished request: free its slot and start the next queued one. */
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
      this.#queue = [];
      this.#queueHead = 0;
    } else if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
  }

  /** A queued request timed out: it no longer counts as queued. */
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

function positiveMin(a: number, b: number): number {
  if (a > 0 && b > 0) return Math.min(a, b);
  return a > 0 ? a : b > 0 ? b : 0;
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

/** A readable body fed by a {@link BodyProducer}. */
function producerBody(producer: BodyProducer): Readable {
  const stream = new PassThrough();
  const write = (chunk: string | Uint8Array): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (stream.destroyed || stream.writableEnded) {
        reject(new Error('request body stream is closed'));
        return;
      }
      if (stream.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)) {
        resolve();
        return;
      }
      const done = () => {
        stream.off('drain', done);
        stream.off('close', done);
        if (stream.destroyed) reject(new Error('request body stream is closed'));
        else resolve();
      };
      stream.on('drain', done);
      stream.on('close', done);
    });
  Promise.resolve()
    .then(() => producer(write))
    .then(
      () => stream.end(),
      (err: unknown) => stream.destroy(err instanceof Error ? err : new Error(String(err))),
    );
  return stream;
}

/** Turn an undici / socket error into a readable 599 message. */
function describeNetworkError(err: Error, maxHeaderSize: number): string {
  const code = (err as { code?: unknown }).code;
  switch (code) {
    case 'ECONNREFUSED':
      return `Connection refused (${err.message})`;
    case 'ECONNRESET':
      return `Connection reset by the server (${err.message})`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `Name resolution failed (${err.message})`;
    case 'UND_ERR_SOCKET':
      return `Connection closed by the server before the response was complete (${err.message})`;
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return `Response body did not match its Content-Length (${err.message})`;
    case 'UND_ERR_HEADERS_OVERFLOW':
      return `Response headers exceed maxHeaderSize (${maxHeaderSize} bytes)`;
    case 'HPE_HEADER_OVERFLOW':
      return `Response headers exceed maxHeaderSize (${maxHeaderSize} bytes)`;
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'Timeout while connecting';
    case 'UND_ERR_INVALID_ARG':
      return `Invalid request: ${err.message}`;
    default:
      if (typeof code === 'string' && code.startsWith('HPE_')) {
        return `Malformed HTTP response (${code}: ${err.message})`;
      }
      if (typeof code === 'string' && (code.startsWith('ERR_TLS') || code.includes('CERT'))) {
        return `TLS error (${code}: ${err.message})`;
      }
      return typeof code === 'string' ? `${code}: ${err.message}` : err.message || String(err);
  }
}

const EMPTY_BODY = Buffer.alloc(0);
/** Reason given to a hop that is abandoned because its fetch already finished. */
const FINISHED = new Error('the fetch already finished');

/**
 * One fetch, from `fetch()` to its settled Future, across queueing and redirect hops.
 * @internal
 */
class FetchState {
  readonly client: ClientCore;
  readonly request: HTTPRequest;
  readonly future: Future<HTTPResponse>;
  readonly raiseError: boolean;
  readonly callback: ((response: HTTPResponse) => void) | undefined;
  resolved: ResolvedRequest | null = null;
  done = false;
  readonly started = performance.now();
  readonly startWall = Date.now();
  queueTime = 0;
  hopStart = 0;
  connectAt: number | undefined = undefined;
  firstByteAt: number | undefined = undefined;
  redirects = 0;
  /** The current hop's URL, method, headers and body (redirects change them). */
  url: URL | null = null;
  method = 'GET';
  headers: HeaderMap | null = null;
  body: string | Uint8Array | undefined = undefined;
  bodyProducer: BodyProducer | undefined = undefined;
  attempt: Attempt | null = null;
  #queueTimer: ReturnType<typeof setTimeout> | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #queuedAt = 0;
  #inQueue = false;

  constructor(
    client: ClientCore,
    request: HTTPRequest,
    future: Future<HTTPResponse>,
    options: FetchOptions,
  ) {
    this.client = client;
    this.request = request;
    this.future = future;
    this.raiseError = options.raiseError ?? true;
    this.callback = options.callback;
  }

  enqueued(): void {
    this.#inQueue = true;
    this.#queuedAt = performance.now();
    const timeout = this.resolved!.queueTimeout;
    if (timeout > 0) {
      this.#queueTimer = setTimeout(() => {
        this.#queueTimer = null;
        if (this.done || !this.#inQueue) return;
        this.#inQueue = false;
        this.client.leftQueue();
        this.queueTime = performance.now() - this.#queuedAt;
        this.fail(
          clientError('Timeout in request queue', new TimeoutError('Timeout in request queue')),
        );
      }, timeout);
    }
  }

  dequeued(): void {
    this.#inQueue = false;
    this.queueTime = performance.now() - this.#queuedAt;
    if (this.#queueTimer !== null) {
      clearTimeout(this.#queueTimer);
      this.#queueTimer = null;
    }
  }

  /** Got a slot: send the first hop. */
  begin(): void {
    const r = this.resolved!;
    this.url = r.url;
    this.method = r.method;
    this.headers = r.headers;
    this.body = r.body;
    this.bodyProducer = r.bodyProducer;
    this.#hop();
  }

  #hop(): void {
    const r = this.resolved!;
    const url = this.url!;
    this.hopStart = performance.now();
    this.connectAt = undefined;
    this.firstByteAt = undefined;
    const attempt = new Attempt(this, r);
    this.attempt = attempt;
    // One timer per hop: it first guards the connect phase, then (re-armed for what is left)
    // the whole request. With Tornado's defaults (both 20 s) it fires at most once.
    const first = positiveMin(r.connectTimeout, r.requestTimeout);
    if (first > 0) this.#timer = setTimeout(this.#onTimer, first);
    let dispatcher: Dispatcher;
    try {
      dispatcher = this.client.dispatcherFor(r);
      const options: Dispatcher.DispatchOptions = {
        origin: url.origin,
        path: url.pathname + url.search,
        method: this.method as Dispatcher.HttpMethod,
        headers: this.headers!,
        body:
          this.bodyProducer !== undefined
            ? producerBody(this.bodyProducer)
            : this.body === undefined
              ? null
              : typeof this.body === 'string' || Buffer.isBuffer(this.body)
                ? this.body
                : Buffer.from(this.body.buffer, this.body.byteOffset, this.body.byteLength),
      };
      dispatcher.dispatch(options, attempt);
    } catch (err) {
      this.fail(
        err instanceof HTTPClientError
          ? (err as HTTPClientError<HTTPResponse>)
          : clientError(describeNetworkError(err as Error, this.client.maxHeaderSize), err),
      );
    }
  }

  connected(): void {
    this.connectAt = performance.now();
  }

  #onTimer = (): void => {
    this.#timer = null;
    const r = this.resolved!;
    const elapsed = performance.now() - this.hopStart;
    if (this.connectAt === undefined && r.connectTimeout > 0 && elapsed >= r.connectTimeout - 1) {
      const message = 'Timeout while connecting';
      this.fail(clientError(message, new TimeoutError(message)));
      return;
    }
    const left = r.requestTimeout - elapsed;
    if (r.requestTimeout > 0 && left <= 1) {
      const message =
        this.connectAt === undefined ? 'Timeout while connecting' : 'Timeout during request';
      this.fail(clientError(message, new TimeoutError(message)));
      return;
    }
    if (r.requestTimeout > 0) this.#timer = setTimeout(this.#onTimer, left);
  };

  /** Follow a redirect from the current hop to `location` (already resolved and checked). */
  redirect(code: number, target: URL): void {
    this.#clearHopTimers();
    const previous = this.url!;
    const headers: HeaderMap = Object.assign(Object.create(null) as HeaderMap, this.headers);
    delete headers.host;
    if (
      (code === 303 && this.method !== 'HEAD') ||
      ((code === 301 || code === 302) && this.method === 'POST')
    ) {
      this.method = 'GET';
      this.body = undefined;
      this.bodyProducer = undefined;
      delete headers['content-length'];
      delete headers['content-type'];
      delete headers['content-encoding'];
      delete headers['transfer-encoding'];
    }
    if (target.origin !== previous.origin) {
      // Credentials are for the origin that was asked; never hand them to another one.
      delete headers.authorization;
      delete headers.cookie;
      delete headers['proxy-authorization'];
    }
    this.headers = headers;
    this.url = target;
    this.redirects++;
    this.#hop();
  }

  #clearHopTimers(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  #timeInfo(): TimeInfo {
    const base = this.started;
    const info: TimeInfo = {
      queue: this.queueTime,
      total: performance.now() - this.started,
      redirects: this.redirects,
    };
    if (this.connectAt !== undefined) info.connect = this.connectAt - base;
    if (this.firstByteAt !== undefined) info.startTransfer = this.firstByteAt - base;
    return info;
  }

  /** Finish with a response (which may be a non-2xx one). */
  succeed(
    code: number,
    reason: string,
    headers: HTTPHeaders,
    body: Buffer,
    extraError?: string,
  ): void {
    if (this.done) return;
    const timeInfo = this.#timeInfo();
    let error: HTTPClientError<HTTPResponse> | undefined;
    if (code < 200 || code >= 300) {
      error = new HTTPClientError<HTTPResponse>(code, extraError ?? reason);
    }
    const response = new HTTPResponse(this.request, code, {
      reason,
      headers,
      body,
      effectiveUrl: this.url!.href,
      error,
      requestTime: timeInfo.total,
      startTime: this.startWall,
      timeInfo,
    });
    if (error !== undefined) (error as unknown as WritableError).response = response;
    this.#settle(response, error, true);
  }

  /**
   * Finish with an error that is not a status: code 599 (or a refused redirect). `partial`
   * is the response received so far, attached to the error when there was one.
   */
  fail(
    error: HTTPClientError<HTTPResponse>,
    partial?: { code: number; reason: string; headers: HTTPHeaders },
  ): void {
    if (this.done) return;
    const timeInfo = this.#timeInfo();
    const response = new HTTPResponse(this.request, partial?.code ?? 599, {
      reason: partial?.reason ?? '',
      headers: partial?.headers,
      body: EMPTY_BODY,
      effectiveUrl: this.url?.href ?? this.request.url,
      error,
      requestTime: timeInfo.total,
      startTime: this.startWall,
      timeInfo,
    });
    if (partial !== undefined) (error as unknown as WritableError).response = response;
    this.#settle(response, error, false);
  }

  onFutureDone = (future: Future<HTTPResponse>): void => {
    if (future.cancelled() && !this.done) this.fail(clientError('fetch cancelled'));
  };

  #settle(
    response: HTTPResponse,
    error: HTTPClientError<HTTPResponse> | undefined,
    statusError: boolean,
  ): void {
    this.done = true;
    if (this.#inQueue) {
      this.#inQueue = false;
      this.client.leftQueue();
    }
    this.#clearHopTimers();
    if (this.#queueTimer !== null) {
      clearTimeout(this.#queueTimer);
      this.#queueTimer = null;
    }
    if (this.attempt !== null) {
      // A shared reason: building an Error (and its stack) per successful request is costly.
      this.attempt.abandon(error ?? FINISHED);
      this.attempt = null;
    }
    this.client.release(this);
    if (this.future.done()) return; // cancelled by the caller
    if (error !== undefined && (this.raiseError || !statusError)) {
      this.future.setException(error);
      // With a callback the response (and its error) is delivered there; awaiting the Future
      // stays possible, but nobody has to.
      if (this.callback !== undefined) this.future.exception();
    } else {
      this.future.setResult(response);
    }
    if (this.callback !== undefined) IOLoop.current().addCallback(this.callback, response);
  }
}

/**
 * undici's handler for one hop: collects the status, headers and body, decodes the body,
 * enforces the size limits and reports to its {@link FetchState}.
 * @internal
 */
class Attempt implements Dispatcher.DispatchHandler {
  readonly #state: FetchState;
  readonly #r: ResolvedRequest;
  #controller: Dispatcher.DispatchController | null = null;
  #abandoned: Error | null = null;
  #redirect: URL | null = null;
  #code = 0;
  #reason = '';
  #headers: HTTPHeaders | null = null;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #decoder: BodyDecoder | null = null;

  constructor(state: FetchState, r: ResolvedRequest) {
    this.#state = state;
    this.#r = r;
  }

  /** The fetch is over (finished, timed out, failed): stop this hop and free its socket. */
  abandon(reason: Error): void {
    if (this.#abandoned !== null) return;
    this.#abandoned = reason;
    this.#decoder?.destroy();
    this.#decoder = null;
    const controller = this.#controller;
    if (controller !== null && !controller.aborted && this.#finished === false)
      controller.abort(reason);
  }

  #finished = false;

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.#abandoned !== null) {
      controller.abort(this.#abandoned);
      return;
    }
    this.#controller = controller;
    this.#state.connected();
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    _parsed: unknown,
    statusMessage?: string,
  ): void {
    if (this.#abandoned !== null) return;
    const state = this.#state;
    const r = this.#r;
    state.firstByteAt = performance.now();
    this.#code = statusCode;
    this.#reason = statusMessage ?? '';
    const raw = (controller.rawHeaders ?? []) as Array<Buffer | string>;
    const headers = new HTTPHeaders();
    for (let i = 0; i + 1 < raw.length; i += 2) {
      headers.add(raw[i]!.toString(), raw[i + 1]!.toString('latin1'));
    }
    this.#headers = headers;

    const location = headers.get('location');
    if (r.followRedirects && REDIRECT_CODES.has(statusCode) && location !== undefined) {
      if (state.redirects < r.maxRedirects) {
        let target: URL;
        try {
          target = new URL(location, state.url!);
        } catch (err) {
          this.#failHop(
            clientError(`Invalid redirect Location ${JSON.stringify(location)}`, err),
            true,
          );
          return;
        }
        if (target.protocol !== 'http:' && target.protocol !== 'https:') {
          this.#failHop(
            clientError(`Refusing to follow redirect to non-HTTP URL ${target.protocol}//…`),
            true,
          );
          return;
        }
        this.#redirect = target;
        return; // the redirect's own body is read and dropped, keeping the connection reusable
      }
    }

    if (r.headerCallback !== undefined) {
      try {
        r.headerCallback(`HTTP/1.1 ${statusCode} ${this.#reason}\r\n`);
        for (let i = 0; i + 1 < raw.length; i += 2) {
          r.headerCallback(`${raw[i]!.toString()}: ${raw[i + 1]!.toString('latin1')}\r\n`);
        }
        r.headerCallback('\r\n');
      } catch (err) {
        this.#failHop(clientError(`headerCallback failed: ${String(err)}`, err), false);
        return;
      }
    }

    const contentEncoding = headers.get('content-encoding');
    if (r.decompressResponse && contentEncoding !== undefined) {
      let codings: string[] | null;
      try {
        codings = parseContentEncoding(contentEncoding);
      } catch (err) {
        this.#failHop(clientError((err as Error).message, err), true);
        return;
      }
      if (codings !== null) {
        // As Tornado: the coding is consumed, and says so.
        headers.set('X-Consumed-Content-Encoding', contentEncoding);
        headers.delete('content-encoding');
        this.#decoder = new BodyDecoder(codings, r.maxBodySize, {
          data: (chunk) => this.#deliver(chunk),
          end: () => this.#complete(),
          error: (err) => this.#decodeFailed(err),
        });
        return;
      }
    }
    const length = headers.get('content-length');
    if (length !== undefined && Number(length) > r.maxBodySize) {
      this.#failHop(
        clientError(
          `Response Content-Length ${length} exceeds maxBodySize (${r.maxBodySize} bytes)`,
        ),
        true,
      );
    }
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#abandoned !== null || this.#redirect !== null) return;
    if (this.#decoder !== null) {
      this.#decoder.write(chunk);
      return;
    }
    this.#deliver(chunk);
  }

  onResponseEnd(): void {
    this.#finished = true;
    if (this.#abandoned !== null) return;
    if (this.#redirect !== null) {
      this.#state.redirect(this.#code, this.#redirect);
      return;
    }
    if (this.#decoder !== null) {
      this.#decoder.end();
      return;
    }
    this.#complete();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.#finished = true;
    if (this.#abandoned !== null) return;
    this.#state.fail(clientError(describeNetworkError(err, this.#state.client.maxHeaderSize), err));
  }

  #deliver(chunk: Buffer): void {
    if (this.#abandoned !== null) return;
    const r = this.#r;
    this.#bytes += chunk.length;
    if (this.#bytes > r.maxBodySize) {
      this.#failHop(
        clientError(`Response body exceeds maxBodySize (${r.maxBodySize} bytes)`),
        true,
      );
      return;
    }
    if (r.streamingCallback !== undefined) {
      try {
        r.streamingCallback(chunk);
      } catch (err) {
        this.#failHop(clientError(`streamingCallback failed: ${String(err)}`, err), false);
      }
      return;
    }
    this.#chunks.push(chunk);
  }

  #decodeFailed(err: DecodeError): void {
    this.#failHop(clientError(err.message, err), true);
  }

  #complete(): void {
    if (this.#abandoned !== null) return;
    const chunks = this.#chunks;
    const body =
      chunks.length === 0
        ? EMPTY_BODY
        : chunks.length === 1
          ? chunks[0]!
          : Buffer.concat(chunks, this.#bytes);
    this.#state.succeed(this.#code, this.#reason, this.#headers!, body);
  }

  /** Fail the fetch from inside this hop; `withResponse` attaches what was received. */
  #failHop(error: HTTPClientError<HTTPResponse>, withResponse: boolean): void {
    if (withResponse && this.#headers !== null) {
      this.#state.fail(error, { code: this.#code, reason: this.#reason, headers: this.#headers });
    } else {
      this.#state.fail(error);
    }
  }
}
