/**
 * `RequestHandler`: subclass it and define `get()`, `post()`, … to serve requests.
 *
 * One handler object serves one request. The application creates it, calls
 * `initialize(initArgs)`, then `prepare()`, then the method named after the HTTP verb with
 * the path's groups as arguments, then `finish()` unless the method did. The rules of
 * Tornado's guide hold exactly:
 *
 * - a method that returns a Promise or Future (an `async` method, a generator coroutine) is
 *   finished when that resolves;
 * - a method that starts asynchronous work without returning it finishes the request at
 *   once (the work then runs after the response was sent);
 * - with `this.autoFinish = false` (Tornado's old `@asynchronous`) the request stays open
 *   until the handler calls `finish()`.
 *
 * `throw new HTTPError(status)` or `throw new Finish(chunk)` end a request from anywhere
 * inside it; any other exception is logged once and answered with a 500.
 *
 * @example
 * ```ts
 * class MainHandler extends RequestHandler {
 *   async get(name: string) {
 *     const user = await db.load(name);
 *     this.write({ name: user.name });
 *   }
 * }
 * ```
 * Tornado: `tornado.web.RequestHandler`.
 * @module
 */

import { appLog } from '../log.ts';
import { Future, isThenable } from '../concurrent.ts';
import { coroutine } from '../gen.ts';
import { HTTPError, HTTPOutputError, statusReason } from '../errors.ts';
import type { HTTPConnection, HTTPFile, HTTPHeaders, HTTPServerRequest } from '../httputil/index.ts';
import type { Application, ApplicationSettings } from './application.ts';
// issue 6: cookies, signed cookies, XSRF, authentication, streamed bodies
import * as cookies from './cookies.ts';
import * as auth from './auth.ts';
import { prepareWithBody } from './stream-body.ts';
import { asRequestError, errorPageHtml, logRequestException, tracebackText } from './error-page.ts';
import {
  DEFAULT_CONTENT_TYPE,
  JSON_CONTENT_TYPE,
  SERVER_HEADER,
  checkHeaderName,
  convertHeaderValue,
  headerMapFrom,
  sha1Etag,
  type HeaderValue,
} from './response-headers.ts';
import {
  allArguments,
  argumentMap,
  decodePathArgument,
  decodeUtf8Argument,
  lastArgument,
  parseJsonBody,
  requestFiles,
} from './arguments.ts';
import { etagMatches } from './http-range.ts';

/**
 * Rewrites a response on its way out (compression is one). Created per request by the
 * application's transform factories. Tornado: `tornado.web.OutputTransform`.
 */
export interface OutputTransform {
  /** Called with the first chunk, before the headers are written. */
  transformFirstChunk(
    statusCode: number,
    headers: HTTPHeaders,
    chunk: Buffer,
    finishing: boolean,
  ): [number, HTTPHeaders, Buffer];
  /** Called with every later chunk. */
  transformChunk(chunk: Buffer, finishing: boolean): Buffer;
}

/** Makes an {@link OutputTransform} for one request. */
export type OutputTransformFactory = (request: HTTPServerRequest) => OutputTransform;

/** Options of {@link RequestHandler.redirect}. */
export interface RedirectOptions {
  /** 301 instead of 302. Default false. */
  permanent?: boolean;
  /** An explicit 3xx status (overrides `permanent`). */
  status?: number;
}

/** Options of {@link RequestHandler.sendError} and {@link RequestHandler.writeError}. */
export interface ErrorOptions {
  /** The error that caused the response, if any. */
  error?: unknown;
}

const REASON_CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

const EMPTY = Buffer.alloc(0);
// Lower-case method names without a `toLowerCase()` string per request.
const METHOD_NAMES: Record<string, string | undefined> = Object.assign(
  Object.create(null) as Record<string, string | undefined>,
  {
    GET: 'get',
    HEAD: 'head',
    POST: 'post',
    PUT: 'put',
    PATCH: 'patch',
    DELETE: 'delete',
    OPTIONS: 'options',
  },
);

type Chunk = string | Buffer;

/** What {@link RequestHandler.write} accepts. */
export type WriteChunk = string | Uint8Array | Record<string, unknown>;
export type { HeaderValue };

/**
 * Throw to end a request without an error page: the response is finished (with `chunk`
 * written first, if given) and nothing is logged beyond the access line.
 *
 * @example
 * ```ts
 * if (!this.request.headers.get('Authorization')) {
 *   this.setStatus(401);
 *   this.setHeader('WWW-Authenticate', 'Basic realm="x"');
 *   throw new Finish();
 * }
 * ```
 * Tornado: `tornado.web.Finish`.
 */
export class Finish extends Error {
  /** Written before finishing, when given. */
  readonly chunk: WriteChunk | undefined;
  constructor(chunk?: WriteChunk) {
    super('Finish');
    this.name = 'Finish';
    this.chunk = chunk;
  }
}
type AnyMethod = (this: RequestHandler, ...args: unknown[]) => unknown;

let executeHandler: (
  handler: RequestHandler,
  args: Array<string | undefined>,
  kwargs: Record<string, string | undefined> | undefined,
  transforms: OutputTransform[] | null,
) => void;
let connectionClosed: (handler: RequestHandler) => void;
let detached: (handler: RequestHandler) => void;

/**
 * Base class for HTTP request handlers. See the module documentation for the lifecycle.
 *
 * Tornado: `tornado.web.RequestHandler`.
 */
export class RequestHandler {
  /** The methods this handler class accepts; others get 405 before anything runs. */
  static SUPPORTED_METHODS: readonly string[] = [
    'GET',
    'HEAD',
    'POST',
    'DELETE',
    'PATCH',
    'PUT',
    'OPTIONS',
  ];

  /**
   * When true, the body is handed to `dataReceived(chunk)` as it arrives instead of being
   * buffered. Tornado: `@stream_request_body`.
   */
  static streamRequestBody = false;

  /** The application serving this request. */
  readonly application: Application;
  /** The request being served. */
  readonly request: HTTPServerRequest;
  /** Positional groups of the matched path, percent-decoded once. */
  pathArgs: Array<string | undefined> = [];
  // A prototype-free object is a dictionary-mode allocation: made only when someone looks.
  #pathKwargs: Record<string, string | undefined> | undefined;

  /** Named groups of the matched path, percent-decoded once. */
  get pathKwargs(): Record<string, string | undefined> {
    return (this.#pathKwargs ??= Object.create(null) as Record<string, string | undefined>);
  }

  set pathKwargs(kwargs: Record<string, string | undefined>) {
    this.#pathKwargs = kwargs;
  }
  /**
   * Finish the request when the method returns (or its Promise resolves). Set to false to keep
   * it open until `finish()` is called. Tornado: `@asynchronous` / `_auto_finish`.
   */
  autoFinish = true;

  #status = 200;
  #reason = 'OK';
  // Response headers. Until something needs the whole map (`responseHeaders`, `addHeader`,
  // another header name, an output transform), they live in three fields: every response
  // has Server and Date (constant, and node's own Date), and most set only Content-Type,
  // Etag and Content-Length. A map with an entry and an array per header, then flattened
  // for node, was the largest per-request cost of a small response.
  #headers: HTTPHeaders | null = null;
  #contentType: string | null = DEFAULT_CONTENT_TYPE;
  #etag: string | null = null;
  #contentLength: string | null = null;
  #writeBuffer!: Chunk[]; // set by clear() in the constructor
  #headersWritten = false;
  #finished = false;
  #transforms: OutputTransform[] | null = null;
  #jsonBody: unknown;
  #hasJsonBody = false;

  constructor(application: Application, request: HTTPServerRequest) {
    this.application = application;
    this.request = request;
    this.clear();
  }

  static {
    executeHandler = (handler, args, kwargs, transforms) =>
      handler.#execute(args, kwargs, transforms);
    detached = (handler) => {
      handler.#finished = true;
      handler.#headersWritten = true;
    };
    connectionClosed = (handler) => {
      if (handler.#finished) return;
      try {
        handler.onConnectionClose();
      } catch (error) {
        appLog.error(`Exception in onConnectionClose of ${handler.#summary()}`, error);
      }
    };
  }

  /** The application's settings. */
  get settings(): ApplicationSettings {
    return this.application.settings;
  }

  /** True once `finish()` ran. */
  get finished(): boolean {
    return this.#finished;
  }

  /** True once the status line and headers were sent. */
  get headersWritten(): boolean {
    return this.#headersWritten;
  }

  // --- hooks ---------------------------------------------------------------------------------

  /**
   * Receives the rule's `initArgs`. Override to keep what the handler needs.
   * Tornado: `RequestHandler.initialize`.
   */
  initialize(_initArgs: object): void | PromiseLike<void> {}

  /**
   * Runs before the method; may be async (the method waits). Finishing here skips the method.
   * Tornado: `RequestHandler.prepare`.
   */
  prepare(): unknown {
    return undefined;
  }

  /** Runs after the response is finished; for cleanup and logging. Tornado: `on_finish`. */
  onFinish(): void {}

  /**
   * Runs once if the client goes away before the response is finished (a long poll whose
   * browser closed). Tornado: `on_connection_close`.
   */
  onConnectionClose(): void {}

  /**
   * Set the headers every response of this handler starts with. Called for each response
   * (and again by `clear()`, e.g. before an error page). Tornado: `set_default_headers`.
   */
  setDefaultHeaders(): void {}

  /**
   * For `streamRequestBody` handlers: one chunk of the body. May return a Promise to slow
   * the client down. Tornado: `data_received`.
   */
  dataReceived(_chunk: Buffer): unknown {
    throw new HTTPError(500, 'dataReceived() not implemented');
  }

  // Every verb answers 405 until a subclass defines it. Tornado: `_unimplemented_method`.
  /** Answer GET. */
  get(..._args: never[]): unknown {
    throw new HTTPError(405);
  }
  /** Answer HEAD; without it a HEAD request gets 405, as in Tornado. */
  head(..._args: never[]): unknown {
    throw new HTTPError(405);
  }
  /** Answer POST. */
  post(..._args: never[]): unknown {
    throw new HTTPError(405);
  }
  /** Answer PUT. */
  put(..._args: never[]): unknown {
    throw new HTTPError(405);
  }
  /** Answer PATCH. */
  patch(..._args: never[]): unknown {
    throw new HTTPError(405);
  }
  /** Answer DELETE. */
  delete(..._args: never[]): unknown {
    throw new HTTPError(405);
  }
  /** Answer OPTIONS. */
  options(..._args: never[]): unknown {
    throw new HTTPError(405);
  }

  // --- status and headers --------------------------------------------------------------------

  /** Reset headers, status and buffered output to the defaults. Tornado: `clear`. */
  clear(): void {
    this.#headers = null;
    this.#contentType = DEFAULT_CONTENT_TYPE;
    this.#etag = null;
    this.#contentLength = null;
    this.setDefaultHeaders();
    this.#writeBuffer = [];
    this.#status = 200;
    this.#reason = 'OK';
  }

  /**
   * Set the response status. Without `reason`, the standard phrase (`Unknown` for codes
   * without one); a reason with control characters also becomes `Unknown`.
   * Tornado: `set_status`.
   */
  setStatus(statusCode: number, reason?: string): void {
    if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 999) {
      throw new RangeError(`invalid HTTP status code ${String(statusCode)}`);
    }
    this.#status = statusCode;
    if (reason === undefined || reason === null) this.#reason = statusReason(statusCode);
    else this.#reason = REASON_CONTROL.test(reason) ? 'Unknown' : String(reason);
  }

  /** The response status. Tornado: `get_status`. */
  getStatus(): number {
    return this.#status;
  }

  /** The reason phrase that goes with the status. */
  getReason(): string {
    return this.#reason;
  }

  /**
   * Set a response header, replacing previous values. Numbers and Dates are formatted; a
   * CR, LF or other control character in the name or value throws {@link HTTPOutputError}
   * (nothing is sent). Tornado: `set_header`.
   */
  setHeader(name: string, value: HeaderValue): void {
    this.#setKnown(checkHeaderName(name), convertHeaderValue(value));
  }

  /** Add a response header value, keeping earlier ones. Tornado: `add_header`. */
  addHeader(name: string, value: HeaderValue): void {
    this.#map().add(checkHeaderName(name), convertHeaderValue(value));
  }

  /** Remove a response header. Tornado: `clear_header`. */
  clearHeader(name: string): void {
    this.#setKnown(name, null);
  }

  /** The response headers so far (live object). */
  get responseHeaders(): HTTPHeaders {
    return this.#map();
  }

  /** The header map, built from the fields the first time something needs it. */
  #map(): HTTPHeaders {
    return (this.#headers ??= headerMapFrom(this.#contentType, this.#etag, this.#contentLength));
  }

  /**
   * Set (or, with null, remove) a header whose name and value are already valid. The three
   * field-backed names, spelled as typhoon spells them, stay in their fields; anything else
   * moves the headers to the map.
   */
  #setKnown(name: string, value: string | null): void {
    const headers = this.#headers;
    if (headers === null) {
      if (name === 'Content-Type') {
        this.#contentType = value;
        return;
      }
      if (name === 'Etag') {
        this.#etag = value;
        return;
      }
      if (name === 'Content-Length') {
        this.#contentLength = value;
        return;
      }
    }
    if (value === null) this.#map().delete(name);
    else this.#map().set(name, value);
  }

  /** A field-backed header's value (`Content-Type`, `Etag` or `Content-Length`). */
  #getKnown(name: 'Content-Type' | 'Etag' | 'Content-Length'): string | undefined {
    const headers = this.#headers;
    if (headers !== null) return headers.get(name);
    const value =
      name === 'Etag'
        ? this.#etag
        : name === 'Content-Length'
          ? this.#contentLength
          : this.#contentType;
    return value === null ? undefined : value;
  }

  /**
   * The headers for node: the map's, or a flat `[name, value, …]` array from the fields.
   * Without the map there is no Date here: node's own (`res.sendDate`, formatted once a
   * second) costs less than handing it one more header to validate.
   */
  #headersOut(): HTTPHeaders | string[] {
    if (this.#headers !== null) return this.#headers;
    const contentType = this.#contentType;
    const etag = this.#etag;
    const contentLength = this.#contentLength;
    if (contentType !== null && etag !== null && contentLength !== null) {
      return [
        'Server',
        SERVER_HEADER,
        'Content-Type',
        contentType,
        'Etag',
        etag,
        'Content-Length',
        contentLength,
      ];
    }
    const out = ['Server', SERVER_HEADER];
    if (contentType !== null) out.push('Content-Type', contentType);
    if (etag !== null) out.push('Etag', etag);
    if (contentLength !== null) out.push('Content-Length', contentLength);
    return out;
  }

  // --- output --------------------------------------------------------------------------------

  /**
   * Buffer output: a string (UTF-8), bytes, or a plain object sent as JSON with
   * `Content-Type: application/json; charset=UTF-8`. An array is refused with a TypeError,
   * as in Tornado (wrap it in an object). Tornado: `write`.
   */
  write(chunk: WriteChunk): void {
    if (this.#finished) throw new HTTPOutputError('Cannot write() after finish()');
    if (typeof chunk === 'string') {
      this.#writeBuffer.push(chunk);
    } else if (chunk instanceof Uint8Array) {
      this.#writeBuffer.push(
        Buffer.isBuffer(chunk)
          ? chunk
          : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength),
      );
    } else if (Array.isArray(chunk)) {
      throw new TypeError(
        'write() refuses arrays (a JSON array response is a known XSS risk); wrap it in an object',
      );
    } else if (chunk !== null && typeof chunk === 'object') {
      // `</` escaped so JSON can never close a <script> it is embedded in.
      this.#writeBuffer.push(JSON.stringify(chunk).replace(/<\//g, '<\\/'));
      this.#setKnown('Content-Type', JSON_CONTENT_TYPE);
    } else {
      throw new TypeError(
        `write() only accepts string, bytes or a plain object, got ${typeof chunk}`,
      );
    }
  }

  #takeBuffer(): Buffer {
    const buffer = this.#writeBuffer;
    if (buffer.length === 0) return EMPTY;
    this.#writeBuffer = [];
    const joined = buffer.length === 1 ? buffer[0]! : joinChunks(buffer);
    return typeof joined === 'string' ? Buffer.from(joined, 'utf8') : joined;
  }

  #bufferLength(): number {
    let n = 0;
    for (const c of this.#writeBuffer) n += typeof c === 'string' ? Buffer.byteLength(c) : c.length;
    return n;
  }

  #connection(): HTTPConnection {
    const connection = this.request.connection;
    if (connection === undefined)
      throw new HTTPOutputError('request has no connection to write to');
    return connection;
  }

  /**
   * Send the buffered output (and the headers, the first time). The Future resolves when the
   * bytes were handed to the OS. Tornado: `flush`.
   */
  flush(): Future<void> {
    const future = new Future<void>();
    this.#flush(false, (error) => {
      if (error) future.setException(error);
      else future.setResult(undefined);
    });
    return future;
  }

  /**
   * Send the buffered output. With `end`, also end the response: when nobody waits for a
   * write callback, the last chunk goes to `connection.finish(chunk)` (node's `res.end(chunk)`),
   * which skips the cork, the next-tick uncork and the second stream call of `write` + `end`.
   */
  #flush(finishing: boolean, callback?: (error?: Error | null) => void, end = false): void {
    const connection = this.#connection();
    const transforms = this.#transforms;
    if (end && callback === undefined && transforms === null && !this.#headersWritten) {
      // The usual whole response: headers and the body in one `res.end()`. A single string
      // body stays a string, which node joins to the header block for one `write` syscall.
      this.#headersWritten = true;
      const buffer = this.#writeBuffer;
      let body: Chunk | null = null;
      if (buffer.length > 0 && this.request.method !== 'HEAD') {
        body = buffer.length === 1 ? buffer[0]! : joinChunks(buffer);
      }
      buffer.length = 0; // (emptied in place: no new array for a finished handler)
      connection.writeHeaders(this.#status, this.#reason, this.#headersOut(), null);
      connection.finish(body);
      return;
    }
    let chunk = this.#takeBuffer();
    if (!this.#headersWritten) {
      this.#headersWritten = true;
      let status = this.#status;
      let headers: HTTPHeaders | string[];
      if (transforms !== null) {
        let map = this.#map();
        for (const t of transforms)
          [status, map, chunk] = t.transformFirstChunk(status, map, chunk, finishing);
        this.#headers = map;
        headers = map;
        if (status !== this.#status) this.setStatus(status);
      } else {
        headers = this.#headersOut();
      }
      // A HEAD response keeps its headers (Content-Length included) but never a body.
      if (this.request.method === 'HEAD') chunk = EMPTY;
      if (end && callback === undefined) {
        connection.writeHeaders(this.#status, this.#reason, headers, null);
        connection.finish(chunk);
        return;
      }
      connection.writeHeaders(this.#status, this.#reason, headers, chunk, callback);
    } else {
      if (transforms !== null)
        for (const t of transforms) chunk = t.transformChunk(chunk, finishing);
      if (this.request.method === 'HEAD') chunk = EMPTY;
      if (end && callback === undefined) {
        connection.finish(chunk);
        return;
      }
      if (chunk.length > 0) connection.write(chunk, callback);
      else callback?.();
    }
    if (end) connection.finish();
  }

  /**
   * End the response, writing `chunk` first if given. Adds `Content-Length`, an automatic
   * `Etag` for a 200 GET/HEAD (answering 304 when `If-None-Match` matches), writes the access
   * log line and calls `onFinish()`. Calling it twice throws. Tornado: `finish`.
   */
  finish(chunk?: WriteChunk): Future<void> {
    const future = new Future<void>();
    this.#finish(chunk, (error) => {
      if (error) future.setException(error);
      else future.setResult(undefined);
    });
    return future;
  }

  #finish(chunk: WriteChunk | undefined | null, callback?: (error?: Error | null) => void): void {
    if (this.#finished) throw new HTTPOutputError('finish() called twice');
    if (chunk !== undefined && chunk !== null) this.write(chunk);
    if (!this.#headersWritten) {
      const status = this.#status;
      const method = this.request.method;
      if (
        status === 200 &&
        (method === 'GET' || method === 'HEAD') &&
        this.#getKnown('Etag') === undefined
      ) {
        this.setEtagHeader();
        if (this.checkEtagHeader()) {
          this.#writeBuffer = [];
          this.setStatus(304);
        }
      }
      const final = this.#status;
      if (final === 204 || final === 304 || (final >= 100 && final < 200)) {
        if (this.#bufferLength() > 0) {
          throw new HTTPOutputError(`Cannot send body with ${final}`);
        }
        if (final === 304) {
          // (Without the map there is no Content-Encoding or Content-Language to remove.)
          const headers = this.#headers;
          if (headers !== null) {
            headers.delete('Content-Encoding');
            headers.delete('Content-Language');
          }
          this.#setKnown('Content-Type', null);
        }
        this.#setKnown('Content-Length', null);
      } else if (this.#getKnown('Content-Length') === undefined && this.#transforms === null) {
        this.#setKnown('Content-Length', String(this.#bufferLength()));
      }
    }
    this.#flush(true, callback, true);
    this.#finished = true;
    this.application.logRequest(this);
    try {
      this.onFinish();
    } catch (error) {
      appLog.error(`Exception in onFinish of ${this.#summary()}`, error);
    }
  }

  /**
   * The Etag of the buffered body: a quoted SHA-1 hex digest, or null for none. Override to
   * compute it another way. Tornado: `compute_etag`.
   */
  computeEtag(): string | null {
    const buffer = this.#writeBuffer;
    // One chunk (the usual case) takes the one-shot digest: no Hash object per request.
    if (buffer.length === 1) return sha1Etag(buffer[0]!);
    if (buffer.length === 0) return sha1Etag(EMPTY);
    // Several chunks: joined once here, and kept joined for the response to send as it is.
    const joined = joinChunks(buffer);
    this.#writeBuffer = [joined];
    return sha1Etag(joined);
  }

  /** Set the `Etag` header from {@link RequestHandler.computeEtag}. Tornado: `set_etag_header`. */
  setEtagHeader(): void {
    const etag = this.computeEtag();
    if (etag === null) return;
    // The built-in digest is a quoted hex string: only an overridden computeEtag is checked.
    if (this.computeEtag === RequestHandler.prototype.computeEtag) this.#setKnown('Etag', etag);
    else this.setHeader('Etag', etag);
  }

  /**
   * True when the request's `If-None-Match` matches the response's `Etag` (weak comparison,
   * `*` matches anything). Tornado: `check_etag_header`.
   */
  checkEtagHeader(): boolean {
    const etag = this.#getKnown('Etag');
    const header = this.request.rawHeader('If-None-Match');
    if (etag === undefined || header === undefined) return false;
    return etagMatches(header, etag);
  }

  /**
   * Send a redirect (302, or 301 with `permanent`, or `status`) to `url` and finish.
   * Tornado: `redirect`.
   */
  redirect(url: string, options: RedirectOptions = {}): void {
    if (this.#headersWritten)
      throw new HTTPOutputError('Cannot redirect after headers have been written');
    const status = options.status ?? (options.permanent ? 301 : 302);
    if (!(status >= 300 && status <= 399))
      throw new RangeError(`redirect status must be 3xx, got ${status}`);
    this.setStatus(status);
    this.setHeader('Location', url);
    this.#finish(undefined);
  }

  /**
   * Answer with an error page for `status` (via {@link RequestHandler.writeError}),
   * discarding output buffered so far. Tornado: `send_error`.
   */
  sendError(status = 500, options: ErrorOptions = {}): void {
    if (this.#headersWritten) {
      // Too late for an error page; end what was started so the connection is not left open.
      if (!this.#finished) {
        try {
          this.#finish(undefined);
        } catch (error) {
          appLog.error('Failed to flush partial response', error);
        }
      }
      return;
    }
    this.clear();
    const error = options.error;
    const reason = error instanceof HTTPError ? error.reason : undefined;
    this.setStatus(status, reason);
    try {
      this.writeError(status, options);
    } catch (writeFailure) {
      appLog.error('Uncaught exception in writeError', writeFailure);
    }
    if (!this.#finished) this.#finish(undefined);
  }

  /**
   * Write the error page. The default is Tornado's
   * `<html><title>404: Not Found</title><body>404: Not Found</body></html>`; with the
   * `serveTraceback` setting and an error, the stack as text/plain instead. Override for your
   * own pages. Tornado: `write_error`.
   */
  writeError(status: number, options: ErrorOptions = {}): void {
    const error = options.error;
    if (this.settings.serveTraceback && error instanceof Error) {
      this.setHeader('Content-Type', 'text/plain; charset=UTF-8');
      this.#finish(tracebackText(error));
      return;
    }
    this.#finish(errorPageHtml(status, this.#reason));
  }

  // --- arguments -----------------------------------------------------------------------------
  // Thin delegates: reading, decoding and checking the input lives in arguments.ts.

  /**
   * Decode an argument's bytes. UTF-8, with a 400 on invalid bytes; override for other
   * encodings. Tornado: `decode_argument`.
   */
  decodeArgument(value: Buffer, name?: string): string {
    return decodeUtf8Argument(value, name);
  }

  /**
   * The last value of query or body argument `name`, decoded, control characters replaced and
   * (with `strip`) trimmed. Missing without a default → {@link MissingArgumentError} (400).
   * Tornado: `get_argument`.
   */
  getArgument(name: string): string;
  getArgument<D extends string | null | undefined>(
    name: string,
    defaultValue: D,
    strip?: boolean,
  ): string | D;
  getArgument(
    name: string,
    ...rest: [(string | null | undefined)?, boolean?]
  ): string | null | undefined {
    const map = argumentMap(this.request, 'arguments');
    return lastArgument(this, map, name, rest.length > 0, rest[0], rest[1] ?? true);
  }

  /** Every value of argument `name` (empty when absent). Tornado: `get_arguments`. */
  getArguments(name: string, strip = true): string[] {
    return allArguments(this, argumentMap(this.request, 'arguments'), name, strip);
  }

  /** {@link RequestHandler.getArgument} for the query string only. Tornado: `get_query_argument`. */
  getQueryArgument(name: string): string;
  getQueryArgument<D extends string | null | undefined>(
    name: string,
    defaultValue: D,
    strip?: boolean,
  ): string | D;
  getQueryArgument(
    name: string,
    ...rest: [(string | null | undefined)?, boolean?]
  ): string | null | undefined {
    const map = argumentMap(this.request, 'queryArguments');
    return lastArgument(this, map, name, rest.length > 0, rest[0], rest[1] ?? true);
  }

  /** Every query value of `name`. Tornado: `get_query_arguments`. */
  getQueryArguments(name: string, strip = true): string[] {
    return allArguments(this, argumentMap(this.request, 'queryArguments'), name, strip);
  }

  /** {@link RequestHandler.getArgument} for the body only. Tornado: `get_body_argument`. */
  getBodyArgument(name: string): string;
  getBodyArgument<D extends string | null | undefined>(
    name: string,
    defaultValue: D,
    strip?: boolean,
  ): string | D;
  getBodyArgument(
    name: string,
    ...rest: [(string | null | undefined)?, boolean?]
  ): string | null | undefined {
    const map = argumentMap(this.request, 'bodyArguments');
    return lastArgument(this, map, name, rest.length > 0, rest[0], rest[1] ?? true);
  }

  /** Every body value of `name`. Tornado: `get_body_arguments`. */
  getBodyArguments(name: string, strip = true): string[] {
    return allArguments(this, argumentMap(this.request, 'bodyArguments'), name, strip);
  }

  /** Uploaded files of a multipart body, name → files. */
  get files(): Record<string, HTTPFile[]> {
    return requestFiles(this.request);
  }

  /**
   * The request body parsed as JSON. 415 unless the `Content-Type` is `application/json` (or
   * `…+json`); 400 on malformed JSON, invalid UTF-8, or a `__proto__`, `constructor` or
   * `prototype` key anywhere (so the result can be merged into objects safely).
   */
  getJsonBody<T = unknown>(): T {
    if (!this.#hasJsonBody) {
      this.#jsonBody = parseJsonBody(this.request);
      this.#hasJsonBody = true;
    }
    return this.#jsonBody as T;
  }

  /**
   * Cookie `name` from the request, or `defaultValue`. Setting and signing cookies live in
   * their own module. Tornado: `get_cookie`.
   */
  getCookie(name: string, defaultValue?: string): string | undefined {
    const value = this.request.cookies[name];
    return value === undefined ? defaultValue : value;
  }

  // --- cookies, signed cookies, XSRF, authentication (issue 6) ---------------------------------
  // Thin wrappers: the logic lives in cookies.ts and auth.ts.

  /**
   * The largest request body this handler accepts, in bytes, replacing the server's
   * `maxBodySize` for its requests (413 past it); e.g. raise it on an upload handler with
   * `streamRequestBody`. Default: the server's limit. Tornado: `set_max_body_size` in `prepare`.
   */
  static maxBodySize: number | undefined = undefined;

  /**
   * Set cookie `name` for this response (replacing one set earlier for the same name).
   * Options: `domain`, `path` (default `/`), `expires` (Date), `expiresDays`, `maxAge` (ms),
   * `secure`, `httpOnly`, `sameSite`. A name, value or attribute that could inject another
   * attribute or header throws {@link HTTPOutputError}. Tornado: `set_cookie`.
   */
  setCookie(name: string, value: string, options?: cookies.CookieOptions): void {
    cookies.setCookie(this, name, value, options);
  }

  /**
   * Tell the browser to delete cookie `name` (give the `path`/`domain` it was set with).
   * Tornado: `clear_cookie`.
   */
  clearCookie(name: string, options?: Parameters<typeof cookies.clearCookie>[2]): void {
    cookies.clearCookie(this, name, options);
  }

  /** Delete every cookie the request carried. Tornado: `clear_all_cookies`. */
  clearAllCookies(options?: Parameters<typeof cookies.clearAllCookies>[1]): void {
    cookies.clearAllCookies(this, options);
  }

  /**
   * Sign `value` for cookie `name` with the `cookieSecret` setting (Tornado's format v2).
   * Tornado: `create_signed_value`.
   */
  createSignedValue(name: string, value: string | Buffer, version?: 1 | 2): string {
    return cookies.createSignedCookieValue(this, name, value, version);
  }

  /**
   * Set a signed, timestamped cookie (30 days unless told otherwise) that only
   * {@link RequestHandler.getSignedCookie} reads back, unchanged. Tornado: `set_signed_cookie`.
   */
  setSignedCookie(
    name: string,
    value: string | Buffer,
    options?: cookies.SignedCookieOptions,
  ): void {
    cookies.setSignedCookie(this, name, value, options);
  }

  /**
   * The verified value of signed cookie `name` (or of `value`), or `null` when missing,
   * forged, expired (`maxAgeDays`, default 31) or otherwise invalid. Tornado: `get_signed_cookie`.
   */
  getSignedCookie(
    name: string,
    value?: string | null,
    options?: cookies.GetSignedCookieOptions,
  ): string | null {
    return cookies.getSignedCookie(this, name, value, options);
  }

  /**
   * This response's masked XSRF token (sets the `_xsrf` cookie when the request had none).
   * Tornado: `xsrf_token`.
   */
  get xsrfToken(): string {
    return cookies.xsrfToken(this, auth.knownSignedIn(this));
  }

  /**
   * Throw `HTTPError(403)` unless the request's `_xsrf` argument or `X-XSRFToken` /
   * `X-CSRFToken` header matches the `_xsrf` cookie. Runs before `prepare()` for every
   * non-GET/HEAD/OPTIONS request when the `xsrfCookies` setting is on; override to exempt a
   * handler (e.g. an API authenticated otherwise). Tornado: `check_xsrf_cookie`.
   */
  checkXsrfCookie(): void {
    cookies.checkXsrfCookie(this);
  }

  /** The hidden `<input>` carrying {@link RequestHandler.xsrfToken}. Tornado: `xsrf_form_html`. */
  xsrfFormHtml(): string {
    return cookies.xsrfFormHtml(this, auth.knownSignedIn(this));
  }

  /**
   * Who is signed in; override it (it may be `async`), e.g. to read a signed cookie. The
   * default says nobody (`null`). Read the answer through `currentUser`.
   * Tornado: `get_current_user`.
   */
  getCurrentUser(): unknown {
    return null;
  }

  /**
   * The signed-in user: `getCurrentUser()`'s answer, asked once per request. When that is
   * async, `await this.resolveCurrentUser()` first (`authenticated` does), or assign
   * `this.currentUser` in `prepare()`. Tornado: `current_user`.
   */
  get currentUser(): unknown {
    return auth.currentUserOf(this);
  }

  set currentUser(user: unknown) {
    auth.setCurrentUser(this, user);
  }

  /** The current user, awaiting an async `getCurrentUser()` once per request. */
  resolveCurrentUser(): Promise<unknown> {
    return auth.resolveCurrentUser(this);
  }

  /** Where `authenticated` sends anonymous visitors: the `loginUrl` setting. Tornado: `get_login_url`. */
  getLoginUrl(): string {
    return auth.loginUrlSetting(this);
  }

  /**
   * The URL of static file `path` (relative to the `staticPath` setting), with `?v=<hash of its
   * content>` so it can be cached for a year and still change when the file does.
   * Tornado: `static_url`.
   */
  staticUrl(path: string, includeVersion = true): string {
    const maker = this.settings.staticHandlerClass as
      { makeStaticUrl?: (s: ApplicationSettings, p: string, v: boolean) => string } | undefined;
    if (maker === undefined || typeof maker.makeStaticUrl !== 'function') {
      throw new Error("You must define the 'staticPath' setting to use staticUrl()");
    }
    return maker.makeStaticUrl(this.settings, path, includeVersion);
  }
  // --- end issue 6 ---------------------------------------------------------------------------

  /** The URL for the named rule, from the application. Tornado: `reverse_url`. */
  reverseUrl(name: string, ...args: unknown[]): string {
    return this.application.reverseUrl(name, ...args);
  }

  // --- execution -----------------------------------------------------------------------------

  #summary(): string {
    return `${this.request.method} ${this.request.uri} (${this.request.remoteIp})`;
  }

  /** `GET /path (127.0.0.1)`, as in the access log. Tornado: `_request_summary`. */
  requestSummary(): string {
    return this.#summary();
  }

  #execute(
    args: Array<string | undefined>,
    kwargs: Record<string, string | undefined> | undefined,
    transforms: OutputTransform[] | null,
  ): void {
    this.#transforms = transforms;
    try {
      const method = this.request.method;
      const supported = (this.constructor as typeof RequestHandler).SUPPORTED_METHODS;
      if (!supported.includes(method)) throw new HTTPError(405);
      if (kwargs !== undefined) {
        const decoded = Object.create(null) as Record<string, string | undefined>;
        for (const key in kwargs) decoded[key] = decodePathArgument(this, kwargs[key]);
        this.pathKwargs = decoded;
      } else if (args.length > 0) {
        // (No groups: pathArgs keeps the empty array the constructor made.)
        const decoded: Array<string | undefined> = new Array<string | undefined>(args.length);
        for (let i = 0; i < args.length; i++) decoded[i] = decodePathArgument(this, args[i]);
        this.pathArgs = decoded;
      }
      this.checkXsrf();
      // A streaming handler reads its body between prepare() and the method (issue 6).
      const prepared = (this.constructor as typeof RequestHandler).streamRequestBody
        ? prepareWithBody(this)
        : this.prepare();
      if (isThenable(prepared)) {
        prepared.then(
          () => this.#runMethod(kwargs !== undefined),
          (error: unknown) => this.#handleRequestException(error),
        );
        return;
      }
      this.#runMethod(kwargs !== undefined);
    } catch (error) {
      this.#handleRequestException(error);
    }
  }

  /**
   * Called before `prepare()` for every request; the XSRF check hooks in here (it runs after
   * the 405 check and before `prepare()`, as Tornado orders it).
   */
  protected checkXsrf(): void {
    if (cookies.needsXsrfCheck(this)) this.checkXsrfCookie();
  }

  #runMethod(named: boolean): void {
    try {
      if (this.#finished) return;
      const method = this.request.method;
      const name = METHOD_NAMES[method] ?? method.toLowerCase();
      const fn = (this as unknown as Record<string, unknown>)[name];
      if (typeof fn !== 'function') throw new HTTPError(405);
      let result: unknown = named
        ? (fn as AnyMethod).call(this, this.pathKwargs)
        : (fn as AnyMethod).apply(this, this.pathArgs);
      if (isGeneratorObject(result)) {
        const generator = result;
        result = coroutine(() => generator)();
      }
      if (isThenable(result)) {
        result.then(
          () => this.#autoFinishNow(),
          (error: unknown) => this.#handleRequestException(error),
        );
        return;
      }
      this.#autoFinishNow();
    } catch (error) {
      this.#handleRequestException(error);
    }
  }

  #autoFinishNow(): void {
    if (!this.autoFinish || this.#finished) return;
    try {
      if (this.finish !== RequestHandler.prototype.finish) void this.finish();
      else this.#finish(undefined);
    } catch (error) {
      this.#handleRequestException(error);
    }
  }

  #handleRequestException(error: unknown): void {
    if (error instanceof Finish) {
      if (!this.#finished) {
        try {
          this.#finish(error.chunk);
        } catch (finishError) {
          appLog.error(`Exception finishing ${this.#summary()}`, finishError);
        }
      }
      return;
    }
    error = asRequestError(error);
    try {
      this.logException(error);
    } catch (logError) {
      appLog.error('Exception in logException', logError);
    }
    if (this.#finished) return;
    try {
      if (error instanceof HTTPError) this.sendError(error.statusCode, { error });
      else this.sendError(500, { error });
    } catch (sendFailure) {
      appLog.error(`Exception sending the error response for ${this.#summary()}`, sendFailure);
    }
  }

  /**
   * Log an exception that ended the request: an {@link HTTPError} with a log message as a
   * warning on `genLog`, any other error with its stack on `appLog`. Tornado: `log_exception`.
   */
  logException(error: unknown): void {
    logRequestException(this.#summary(), this.request, error);
  }
}

/** Several chunks as one: a string when all are strings (one `write` for node), else bytes. */
function joinChunks(chunks: readonly Chunk[]): Chunk {
  let strings = true;
  for (const c of chunks) {
    if (typeof c !== 'string') {
      strings = false;
      break;
    }
  }
  if (strings) return chunks.join('');
  return Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c, 'utf8') : c)));
}

function isGeneratorObject(x: unknown): x is Generator<unknown, unknown, unknown> {
  return (
    x !== null &&
    typeof x === 'object' &&
    typeof (x as Generator).next === 'function' &&
    typeof (x as Generator).throw === 'function' &&
    typeof (x as Generator)[Symbol.iterator] === 'function'
  );
}

/** Run a handler for a matched request (used by the application). @internal */
export function runHandler(
  handler: RequestHandler,
  args: Array<string | undefined>,
  kwargs: Record<string, string | undefined> | undefined,
  transforms: OutputTransform[] | null,
): void {
  executeHandler(handler, args, kwargs, transforms);
}

/** Tell a handler its client went away (used by the application). @internal */
export function notifyConnectionClose(handler: RequestHandler): void {
  connectionClosed(handler);
}

/** Mark a handler whose connection was handed to other code as finished. @internal */
export function markDetached(handler: RequestHandler): void {
  detached(handler);
}
