/**
 * The output half of a request handler: status, headers, the write buffer, `flush()` and
 * `finish()`. {@link RequestHandler} extends it with routing, input and the lifecycle; other
 * handlers (WebSocket, Server-Sent Events) inherit both. One object per request, as before the
 * split: the base is a class, not a helper object, so nothing more is allocated for it.
 *
 * @example
 * ```ts
 * class Hello extends RequestHandler {
 *   get() {
 *     this.setStatus(201);
 *     this.setHeader('X-Greeting', 'hi');
 *     this.write({ hello: 'world' });
 *   }
 * }
 * ```
 * Tornado: the output methods of `tornado.web.RequestHandler`.
 * @module
 */

import { Buffer } from 'node:buffer';
import { Future } from '../concurrent.ts';
import { HTTPOutputError, StreamClosedError, statusReason } from '../errors.ts';
import { HTTPHeaders } from '../httputil/index.ts';
import type { HTTPConnection, HTTPServerRequest } from '../httputil/index.ts';
import {
  kDetach,
  kFinish,
  kFinished,
  kFinishWithLines,
  kSetTransforms,
  type FinishWithLines,
} from '../internal/symbols.ts';
import {
  DEFAULT_CONTENT_TYPE,
  JSON_CONTENT_TYPE,
  SERVER_HEADER,
  checkHeaderName,
  convertHeaderValue,
  headerMapFrom,
  isUnsafeHeaderText,
  sha1Etag,
  type HeaderValue,
} from './response-headers.ts';
import { etagMatches } from './http-range.ts';
import type { OutputTransform } from './settings.ts';

/** What {@link HandlerOutput.write} accepts. */
export type WriteChunk = string | Uint8Array | Record<string, unknown>;
export type { HeaderValue };

const EMPTY = Buffer.alloc(0);

/** A connection that can build the header block itself (the HTTP server's). */
interface LinesConnection {
  [kFinishWithLines]: FinishWithLines;
}

const SERVER_LINE = `Server: ${SERVER_HEADER}\r\n`;
// `Server` and `Content-Type` lines for the last Content-Type seen: a handler sends one type
// again and again, and the pair then costs no concatenation.
let lastContentType = '';
let lastTypeLines = '';

function serverAndTypeLines(contentType: string): string {
  if (contentType !== lastContentType) {
    lastContentType = contentType;
    lastTypeLines = `${SERVER_LINE}Content-Type: ${contentType}\r\n`;
  }
  return lastTypeLines;
}

type Chunk = string | Buffer;

// The write buffer of a handler that has written nothing (or whose output went out): one
// shared, frozen empty array instead of a fresh one per request. Never pushed to (see `#push`).
const NO_CHUNKS = Object.freeze([]) as unknown as Chunk[];

/**
 * The response side of a handler. Not used on its own: subclass {@link RequestHandler}.
 *
 * Tornado: the output methods of `tornado.web.RequestHandler`.
 */
export class HandlerOutput {
  /** The request being served. */
  readonly request: HTTPServerRequest;

  #status = 200;
  #reason = 'OK';
  // Response headers. Until something needs the whole map (`responseHeaders`, `addHeader`,
  // another header name, an output transform), they live in three fields: every response
  // has Server and Date (constant, and node's own Date), and most set only Content-Type,
  // Etag and Content-Length. A map with an entry and an array per header, then flattened
  // for node, was the largest per-request cost of a small response.
  // Once a map went out with the status line it is kept as the flat array node was given (a
  // long-lived response then holds ~0.2 KB instead of ~0.9 KB), made a map again if asked. The
  // same slot, not a field of its own: one more field costs every request.
  #headers: HTTPHeaders | string[] | null = null;
  #contentType: string | null = DEFAULT_CONTENT_TYPE;
  #etag: string | null = null;
  #contentLength: string | null = null;
  #writeBuffer: Chunk[] = NO_CHUNKS;
  #headersWritten = false;
  #finished = false;
  #transforms: OutputTransform[] | null = null;

  constructor(request: HTTPServerRequest) {
    this.request = request;
  }

  /** True once `finish()` ran. */
  get finished(): boolean {
    return this.#finished;
  }

  /** True once the status line and headers were sent. */
  get headersWritten(): boolean {
    return this.#headersWritten;
  }

  /**
   * Set the headers every response of this handler starts with. Called for each response
   * (and again by `clear()`, e.g. before an error page). Tornado: `set_default_headers`.
   */
  setDefaultHeaders(): void {}

  /** `GET /path (127.0.0.1)`, as in the access log. Tornado: `_request_summary`. */
  requestSummary(): string {
    const request = this.request;
    return `${request.method} ${request.uri} (${request.remoteIp})`;
  }

  /** The output transforms of this request (set before the handler runs). */
  [kSetTransforms](transforms: OutputTransform[] | null): void {
    this.#transforms = transforms;
  }

  /** Mark the response finished: its connection was handed to other code. */
  [kDetach](): void {
    this.#finished = true;
    this.#headersWritten = true;
  }

  /** `finish()` without its Future, for the handler's own lifecycle. */
  [kFinish](chunk?: WriteChunk | null, callback?: (error?: Error | null) => void): void {
    this.#finish(chunk, callback);
  }

  /** Runs once the response is finished; the request handler logs and calls `onFinish()`. */
  [kFinished](): void {}

  // --- status and headers --------------------------------------------------------------------

  /** Reset headers, status and buffered output to the defaults. Tornado: `clear`. */
  clear(): void {
    this.#headers = null;
    this.#contentType = DEFAULT_CONTENT_TYPE;
    this.#etag = null;
    this.#contentLength = null;
    this.setDefaultHeaders();
    // (The constructor's call finds the field's fresh array empty: no second one.)
    if (this.#writeBuffer.length > 0) this.#writeBuffer = NO_CHUNKS;
    this.#status = 200;
    this.#reason = 'OK';
  }

  /**
   * Set the response status. Without `reason`, the standard phrase (`Unknown` for codes
   * without one); a reason with control characters or characters past Latin-1 also becomes
   * `Unknown`.
   * Tornado: `set_status`.
   */
  setStatus(statusCode: number, reason?: string): void {
    if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 999) {
      throw new RangeError(`invalid HTTP status code ${String(statusCode)}`);
    }
    this.#status = statusCode;
    if (reason === undefined || reason === null) this.#reason = statusReason(statusCode);
    else this.#reason = isUnsafeHeaderText(reason) ? 'Unknown' : String(reason);
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
   * CR, LF or other control character in the name or value, or a character past Latin-1 in
   * the value, throws {@link HTTPOutputError} (nothing is sent). Tornado: `set_header`.
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
    const headers = this.#headers;
    if (headers !== null) {
      return headers instanceof HTTPHeaders
        ? headers
        : (this.#headers = HTTPHeaders.fromRaw(headers));
    }
    return (this.#headers = headerMapFrom(this.#contentType, this.#etag, this.#contentLength));
  }

  /**
   * Set (or, with null, remove) a header whose name and value are already valid. The three
   * field-backed names, spelled as typhoon spells them, stay in their fields; anything else
   * moves the headers to the map.
   */
  #setKnown(name: string, value: string | null): void {
    if (this.#headers === null) {
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
    if (this.#headers !== null) return this.#map().get(name);
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

  /**
   * The field-backed headers as header lines, for a connection that builds the header block
   * itself: `Server`, then `Content-Type`, `Etag` and `Content-Length` as set (the order of
   * the flat array). Their values were checked when they were set.
   */
  #fieldLines(contentLength: string): string {
    const contentType = this.#contentType;
    const etag = this.#etag;
    let lines = contentType === null ? SERVER_LINE : serverAndTypeLines(contentType);
    if (etag !== null) lines += 'Etag: ' + etag + '\r\n';
    return lines + 'Content-Length: ' + contentLength + '\r\n';
  }

  // --- output --------------------------------------------------------------------------------

  /**
   * Buffer output: a string (UTF-8), bytes, or a plain object sent as JSON with
   * `Content-Type: application/json; charset=UTF-8`. An array is refused with a TypeError,
   * as in Tornado (wrap it in an object). Once the client has closed the connection it throws
   * {@link StreamClosedError}. Tornado: `write`.
   */
  write(chunk: WriteChunk): void {
    if (this.#finished) throw new HTTPOutputError('Cannot write() after finish()');
    if (this.request.connection?.closed === true) throw clientLeft('write()');
    this.#append(chunk);
  }

  /** Buffer one chunk. The first makes an array of exactly one: no empty array to grow. */
  #push(chunk: Chunk): void {
    const buffer = this.#writeBuffer;
    if (buffer.length === 0) this.#writeBuffer = [chunk];
    else buffer.push(chunk);
  }

  #append(chunk: WriteChunk): void {
    if (typeof chunk === 'string') {
      this.#push(chunk);
    } else if (chunk instanceof Uint8Array) {
      this.#push(
        Buffer.isBuffer(chunk)
          ? chunk
          : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength),
      );
    } else if (Array.isArray(chunk)) {
      throw new TypeError(
        'write() refuses arrays (a JSON array response is a known XSS risk); wrap it in an object',
      );
    } else if (chunk !== null && typeof chunk === 'object') {
      // `</` escaped so JSON can never close a <script> it is embedded in (looked for first:
      // most documents have none, and the search costs less than a regex replace).
      const json = JSON.stringify(chunk);
      this.#push(json.includes('</') ? json.replace(/<\//g, '<\\/') : json);
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
    this.#writeBuffer = NO_CHUNKS;
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
   * bytes were handed to the OS, and rejects with {@link StreamClosedError} when the client
   * is gone (as do `write()` and `finish()` from then on), so a handler writing in a loop
   * (`this.write(chunk); await this.flush()`) stops there. Tornado: `flush`.
   */
  flush(): Future<void> {
    const future = new Future<void>();
    if (this.request.connection?.closed === true) {
      future.setException(clientLeft('flush()'));
      return future;
    }
    this.#flush(false, (error) => {
      if (error) future.setException(asStreamClosed(error));
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
      this.#writeBuffer = NO_CHUNKS;
      const contentLength = this.#contentLength;
      if (this.#headers === null && contentLength !== null) {
        const finishWithLines = (connection as Partial<LinesConnection>)[kFinishWithLines];
        if (
          finishWithLines !== undefined &&
          finishWithLines.call(
            connection,
            this.#status,
            this.#reason,
            this.#fieldLines(contentLength),
            contentLength,
            body,
          )
        ) {
          return;
        }
      }
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
      if (headers instanceof HTTPHeaders && !end) {
        headers = this.#headers = headers.toFlatArray();
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
    if (this.request.connection?.closed === true && !this.#finished) {
      // The request still ends (access log, onFinish); the caller learns its answer was lost.
      this.#finish(undefined);
      future.setException(clientLeft('finish()'));
      return future;
    }
    this.#finish(chunk, (error) => {
      if (error) future.setException(asStreamClosed(error));
      else future.setResult(undefined);
    });
    return future;
  }

  #finish(chunk: WriteChunk | undefined | null, callback?: (error?: Error | null) => void): void {
    if (this.#finished) throw new HTTPOutputError('finish() called twice');
    if (chunk !== undefined && chunk !== null) this.#append(chunk);
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
          this.#writeBuffer = NO_CHUNKS;
          this.setStatus(304);
        }
      }
      const final = this.#status;
      if (final === 204 || final === 304 || (final >= 100 && final < 200)) {
        if (this.#bufferLength() > 0) {
          throw new HTTPOutputError(`Cannot send body with ${final}`);
        }
        // No body, so nothing for these to describe (Tornado clears them the same way).
        // (Without the map there is no Content-Encoding or Content-Language to remove.)
        // (Headers not sent yet: a map here, never the flat array.)
        const headers = this.#headers as HTTPHeaders | null;
        if (headers !== null) {
          headers.delete('Content-Encoding');
          headers.delete('Content-Language');
        }
        this.#setKnown('Content-Type', null);
        this.#setKnown('Content-Length', null);
      } else if (this.#getKnown('Content-Length') === undefined && this.#transforms === null) {
        this.#setKnown('Content-Length', String(this.#bufferLength()));
      }
    }
    this.#flush(true, callback, true);
    this.#finished = true;
    this[kFinished]();
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

  /** Set the `Etag` header from {@link HandlerOutput.computeEtag}. Tornado: `set_etag_header`. */
  setEtagHeader(): void {
    const etag = this.computeEtag();
    if (etag === null) return;
    // The built-in digest is a quoted hex string: only an overridden computeEtag is checked.
    if (this.computeEtag === HandlerOutput.prototype.computeEtag) this.#setKnown('Etag', etag);
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
}

/** The error for output to a client that closed the connection. */
function clientLeft(what: string): StreamClosedError {
  return new StreamClosedError(`Cannot ${what}: the client closed the connection`);
}

/**
 * A failed socket write (EPIPE, ECONNRESET, ECANCELED, node's ERR_STREAM_DESTROYED) as the
 * typed error the handler gets: the client is gone either way.
 */
function asStreamClosed(error: Error): StreamClosedError {
  if (error instanceof StreamClosedError) return error;
  return new StreamClosedError('Stream is closed', { realError: error });
}

/** What a browser drops or rewrites in a URL: C0 controls, space, DEL and backslash. */
const LOCATION_UNSAFE = /[\x00-\x20\x7f\\]/;
const LOCATION_UNSAFE_ALL = /[\x00-\x20\x7f\\]/g;

/**
 * A redirect target made safe for a `Location` header, or `null` to refuse it. A browser
 * (the WHATWG URL parser) strips leading controls and spaces, drops every tab, CR and LF, and
 * reads `\` as `/`: so `/\t/evil.com` or `/\evil.com`, meant as a path, would send it to
 * `evil.com`. A target that a browser reads as beginning with `//` and has no scheme is
 * refused (a protocol-relative URL must be written with its scheme); otherwise those
 * characters are percent-encoded, so what the header says is what the browser reads. An
 * absolute URL with a scheme is allowed, as in Tornado.
 */
export function safeLocation(url: string): string | null {
  if (/^[\x00-\x20]*[/\\][\t\r\n]*[/\\]/.test(url)) return null;
  if (!LOCATION_UNSAFE.test(url)) return url;
  return url.replace(LOCATION_UNSAFE_ALL, (c) => {
    const code = c.charCodeAt(0);
    return (code < 16 ? '%0' : '%') + code.toString(16).toUpperCase();
  });
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
