/**
 * One fetch of typhoon's `AsyncHTTPClient`, from `fetch()` to its settled Future: its hops
 * (redirects), the per-hop timer, the redirect policy, bounded decoding, and the mapping of
 * every failure to an `HTTPClientError`. The pool that gives it a slot (pool.ts) is reached
 * through the {@link FetchPool} interface declared here, so this file does not import it.
 *
 * ```
 *  begin() ─▶ hop: Attempt ─▶ undici ─▶ onResponseStart ─▶ 3xx + Location ─▶ redirect() ─▶ hop
 *                                          │ otherwise
 *                                          ▼
 *                              headers ▶ decoder? ▶ body ▶ succeed() / fail() ─▶ pool.release()
 * ```
 * Not a public module: nothing here is exported from `src/index.ts`.
 * @module
 */
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { PassThrough, type Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { HTTPClientError, TimeoutError } from '../errors.ts';
import { Future } from '../concurrent.ts';
import { IOLoop } from '../ioloop.ts';
import { HTTPHeaders } from '../httputil/index.ts';
import { BodyDecoder, DecodeError, parseContentEncoding } from './decode.ts';
import type { Deadlines, Timed } from './deadlines.ts';
import {
  HTTPResponse,
  clientError,
  setParsedHeaders,
  type ParsedHeaders,
  type BodyProducer,
  type FetchOptions,
  type HTTPRequest,
  type HeaderMap,
  type ResolvedRequest,
  type TimeInfo,
} from './request.ts';

const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);
const EMPTY_BODY = Buffer.alloc(0);
/** Reason given to a hop that is abandoned because its fetch already finished. */
const FINISHED = new Error('the fetch already finished');

/** Writable view of the error's `response`, set once the response object exists. */
type WritableError = { response: HTTPResponse | undefined };

/**
 * What a fetch needs from the pool that runs it (pool.ts's `ClientCore`).
 * @internal
 */
export interface FetchPool {
  /** The undici dispatcher for the request's TLS, proxy and connect-limit settings. */
  dispatcherFor(r: ResolvedRequest): Dispatcher;
  /** The fetch finished: free its slot and start the next queued one. */
  release(state: FetchState): void;
  /** The fetch timed out while queued: it no longer counts as queued. */
  leftQueue(): void;
  /** The client's limit on a response's status line and headers, for error messages. */
  readonly maxHeaderSize: number;
  /** The client's hop deadlines (one timer for all its fetches). */
  readonly deadlines: Deadlines;
}

/** Response headers as the client holds them: built, or as undici parsed them. */
type ResponseHeaders = HTTPHeaders | ParsedHeaders;

/** One header (a lower-case name), repeated values joined as `HTTPHeaders.get` joins them. */
function headerValue(headers: ResponseHeaders, name: string): string | undefined {
  if (headers instanceof HTTPHeaders) return headers.get(name);
  const value = headers[name];
  return value === undefined || typeof value === 'string' ? value : value.join(',');
}

/** `HTTPHeaders` from undici's raw `[name, value, …]` list, in the order received. */
function headersFromRaw(raw: Array<Buffer | string>): HTTPHeaders {
  const headers = new HTTPHeaders();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    headers.add(raw[i]!.toString(), raw[i + 1]!.toString('latin1'));
  }
  return headers;
}

/**
 * True if a raw header name starts with a digit. An object lists integer-like keys first, so
 * undici's parsed object keeps the order received only when there is none.
 */
function hasDigitName(raw: Array<Buffer | string>): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const first = typeof name === 'string' ? name.charCodeAt(0) : name[0];
    if (first !== undefined && first >= 0x30 && first <= 0x39) return true;
  }
  return false;
}

/** The smaller of two limits where 0 (or less) means none; 0 when neither is set. */
export function positiveMin(a: number, b: number): number {
  if (a > 0 && b > 0) return Math.min(a, b);
  return a > 0 ? a : b > 0 ? b : 0;
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

/**
 * One fetch, from `fetch()` to its settled Future, across queueing and redirect hops.
 * @internal
 */
export class FetchState implements Timed {
  readonly pool: FetchPool;
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
  /** The current hop's URL (its origin and path apart), method, headers and body (redirects
   * change them). */
  url: URL | null = null;
  origin = '';
  path = '';
  method = 'GET';
  headers: HeaderMap | null = null;
  body: string | Uint8Array | undefined = undefined;
  bodyProducer: BodyProducer | undefined = undefined;
  attempt: Attempt | null = null;
  // The hop's place in the pool's deadline list (see deadlines.ts); -1 when not listed.
  deadline = -1;
  timedPrev: Timed | null = null;
  timedNext: Timed | null = null;
  #queueTimer: ReturnType<typeof setTimeout> | null = null;
  #queuedAt = 0;
  #inQueue = false;
  // Bound once: the Future's done callback.
  readonly onFutureDone = (future: Future<HTTPResponse>): void => {
    if (future.cancelled() && !this.done) this.fail(clientError('fetch cancelled'));
  };

  constructor(
    pool: FetchPool,
    request: HTTPRequest,
    future: Future<HTTPResponse>,
    options: FetchOptions,
  ) {
    this.pool = pool;
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
        this.pool.leftQueue();
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
    this.origin = r.origin;
    this.path = r.path;
    this.method = r.method;
    this.headers = r.headers;
    this.body = r.body;
    this.bodyProducer = r.bodyProducer;
    this.#hop();
  }

  #hop(): void {
    const r = this.resolved!;
    this.hopStart = performance.now();
    this.connectAt = undefined;
    this.firstByteAt = undefined;
    const attempt = new Attempt(this, r);
    this.attempt = attempt;
    // One deadline per hop: it first guards the connect phase, then (moved to what is left)
    // the whole request. With Tornado's defaults (both 20 s) it is reached at most once.
    const first = positiveMin(r.connectTimeout, r.requestTimeout);
    if (first > 0) this.pool.deadlines.add(this, this.hopStart + first);
    let dispatcher: Dispatcher;
    try {
      dispatcher = this.pool.dispatcherFor(r);
      const options: Dispatcher.DispatchOptions = {
        origin: this.origin,
        path: this.path,
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
          : clientError(describeNetworkError(err as Error, this.pool.maxHeaderSize), err),
      );
    }
  }

  connected(): void {
    this.connectAt = performance.now();
  }

  /** The hop's deadline passed (called by the pool's {@link Deadlines}). */
  deadlineReached(): void {
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
    if (r.requestTimeout > 0) this.pool.deadlines.add(this, this.hopStart + r.requestTimeout);
  }

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
    this.origin = target.origin;
    this.path = target.pathname + target.search;
    this.redirects++;
    this.#hop();
  }

  #clearHopTimers(): void {
    if (this.deadline >= 0) this.pool.deadlines.remove(this);
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
    headers: ResponseHeaders,
    body: Buffer,
    extraError?: string,
  ): void {
    if (this.done) return;
    const timeInfo = this.#timeInfo();
    let error: HTTPClientError<HTTPResponse> | undefined;
    if (code < 200 || code >= 300) {
      error = new HTTPClientError<HTTPResponse>(code, extraError ?? reason);
    }
    const built = headers instanceof HTTPHeaders;
    const response = new HTTPResponse(this.request, code, {
      reason,
      headers: built ? headers : undefined,
      body,
      effectiveUrl: this.url!.href,
      error,
      requestTime: timeInfo.total,
      startTime: this.startWall,
      timeInfo,
    });
    if (!built) setParsedHeaders(response, headers);
    if (error !== undefined) (error as unknown as WritableError).response = response;
    this.#settle(response, error, true);
  }

  /**
   * Finish with an error that is not a status: code 599 (or a refused redirect). `partial`
   * is the response received so far, attached to the error when there was one.
   */
  fail(
    error: HTTPClientError<HTTPResponse>,
    partial?: { code: number; reason: string; headers: ResponseHeaders },
  ): void {
    if (this.done) return;
    const timeInfo = this.#timeInfo();
    const headers = partial?.headers;
    const response = new HTTPResponse(this.request, partial?.code ?? 599, {
      reason: partial?.reason ?? '',
      headers: headers instanceof HTTPHeaders ? headers : undefined,
      body: EMPTY_BODY,
      effectiveUrl: this.url?.href ?? this.request.url,
      error,
      requestTime: timeInfo.total,
      startTime: this.startWall,
      timeInfo,
    });
    if (headers !== undefined && !(headers instanceof HTTPHeaders)) {
      setParsedHeaders(response, headers);
    }
    if (partial !== undefined) (error as unknown as WritableError).response = response;
    this.#settle(response, error, false);
  }

  #settle(
    response: HTTPResponse,
    error: HTTPClientError<HTTPResponse> | undefined,
    statusError: boolean,
  ): void {
    this.done = true;
    if (this.#inQueue) {
      this.#inQueue = false;
      this.pool.leftQueue();
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
    this.pool.release(this);
    if (this.future.done()) return; // cancelled by the caller
    // Settled here, not cancelled: the cancellation watch has nothing left to do, and left in
    // place it would cost a done-callback run per fetch.
    this.future.removeDoneCallback(this.onFutureDone);
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
  #headers: ResponseHeaders | null = null;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #decoder: BodyDecoder | null = null;
  // undici reported the end (or an error) of the response: nothing left to abort.
  #finished = false;

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
    parsedHeaders: unknown,
    statusMessage?: string,
  ): void {
    if (this.#abandoned !== null) return;
    this.#state.firstByteAt = performance.now();
    this.#code = statusCode;
    this.#reason = statusMessage ?? '';
    const raw = (controller.rawHeaders ?? []) as Array<Buffer | string>;
    // undici has already parsed the headers into an object (lower-case names, strings): the
    // checks below read that, and the response's HTTPHeaders is built from it only if someone
    // reads it. Without that object, or with names it would reorder, they are built here.
    const parsed =
      typeof parsedHeaders === 'object' && parsedHeaders !== null && !hasDigitName(raw)
        ? (parsedHeaders as ParsedHeaders)
        : null;
    const headers: ResponseHeaders = parsed ?? headersFromRaw(raw);
    this.#headers = headers;
    if (this.#startRedirect(statusCode, headerValue(headers, 'location'))) return;
    if (!this.#reportHeaders(statusCode, raw)) return;
    if (this.#startDecoding(headerValue(headers, 'content-encoding'), raw)) return;
    this.#checkContentLength(headerValue(headers, 'content-length'));
  }

  /**
   * A 3xx with a Location to follow: remember the target (the redirect's own body is read
   * and dropped, keeping the connection reusable) or fail on an unusable one. True when this
   * response is a redirect hop; false when it is the final response.
   */
  #startRedirect(statusCode: number, location: string | undefined): boolean {
    const r = this.#r;
    if (!r.followRedirects || !REDIRECT_CODES.has(statusCode) || location === undefined) {
      return false;
    }
    if (this.#state.redirects >= r.maxRedirects) return false; // the last 3xx is the answer
    let target: URL;
    try {
      target = new URL(location, this.#state.url!);
    } catch (err) {
      this.#failHop(
        clientError(`Invalid redirect Location ${JSON.stringify(location)}`, err),
        true,
      );
      return true;
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      this.#failHop(
        clientError(`Refusing to follow redirect to non-HTTP URL ${target.protocol}//…`),
        true,
      );
      return true;
    }
    this.#redirect = target;
    return true;
  }

  /** Give the status line and header lines to `headerCallback`; false if it threw. */
  #reportHeaders(statusCode: number, raw: Array<Buffer | string>): boolean {
    const callback = this.#r.headerCallback;
    if (callback === undefined) return true;
    try {
      callback(`HTTP/1.1 ${statusCode} ${this.#reason}\r\n`);
      for (let i = 0; i + 1 < raw.length; i += 2) {
        callback(`${raw[i]!.toString()}: ${raw[i + 1]!.toString('latin1')}\r\n`);
      }
      callback('\r\n');
      return true;
    } catch (err) {
      this.#failHop(clientError(`headerCallback failed: ${String(err)}`, err), false);
      return false;
    }
  }

  /**
   * Set up a decoder for a Content-Encoding typhoon understands. True when the body now goes
   * through the decoder (its output is bounded there) or the encoding was refused.
   */
  #startDecoding(contentEncoding: string | undefined, raw: Array<Buffer | string>): boolean {
    const r = this.#r;
    if (!r.decompressResponse || contentEncoding === undefined) return false;
    let codings: string[] | null;
    try {
      codings = parseContentEncoding(contentEncoding);
    } catch (err) {
      this.#failHop(clientError((err as Error).message, err), true);
      return true;
    }
    if (codings === null) return false; // unknown coding: passed through untouched
    // As Tornado: the coding is consumed, and says so.
    const headers =
      this.#headers instanceof HTTPHeaders ? this.#headers : (this.#headers = headersFromRaw(raw));
    headers.set('X-Consumed-Content-Encoding', contentEncoding);
    headers.delete('content-encoding');
    this.#decoder = new BodyDecoder(codings, r.maxBodySize, {
      data: (chunk) => this.#deliver(chunk),
      end: () => this.#complete(),
      error: (err) => this.#decodeFailed(err),
    });
    return true;
  }

  /** Refuse a body announced larger than `maxBodySize` before any of it arrives. */
  #checkContentLength(length: string | undefined): void {
    const maxBodySize = this.#r.maxBodySize;
    if (length !== undefined && Number(length) > maxBodySize) {
      this.#failHop(
        clientError(`Response Content-Length ${length} exceeds maxBodySize (${maxBodySize} bytes)`),
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
    this.#state.fail(clientError(describeNetworkError(err, this.#state.pool.maxHeaderSize), err));
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
