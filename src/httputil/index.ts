/// <reference types="node" preserve="true" />

/**
 * HTTP utilities shared by the server, the client and the web framework: the request object,
 * the interfaces between the server and what it serves, and (re-exported, so
 * `typhoon/httputil` is one surface) the header map and the pure parsers.
 *
 * - {@link HTTPServerRequest}: one request as the server received it, with lazily parsed
 *   arguments, files and cookies in prototype-free maps.
 * - The delegate interfaces ({@link HTTPServerConnectionDelegate}, {@link HTTPMessageDelegate},
 *   {@link HTTPConnection}) through which `httpserver.ts` reaches the web framework without
 *   importing it: lower layers declare the interfaces, upper layers implement them.
 * - From `headers.ts`: {@link HTTPHeaders}, a case-insensitive, multi-valued header
 *   map.
 * - From `parse.ts`: {@link parseQs}, {@link parseBodyArguments},
 *   {@link parseMultipartFormData}, {@link parseCookie}, parsers that take bytes or strings
 *   and return values, never touching a socket, so tests can feed them hostile input
 *   directly; and small helpers such as {@link urlConcat} and {@link formatTimestamp}.
 *
 * @example
 * ```ts
 * import { HTTPHeaders, parseQs } from 'typhoon/httputil';
 * const h = HTTPHeaders.parse('Content-Type: text/html\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2');
 * h.getList('set-cookie'); // ['a=1', 'b=2']
 * parseQs('a=1&a=2&b=%C3%A9').b?.[0]?.toString(); // 'é'
 * ```
 * Tornado: `tornado.httputil`.
 * @module typhoon/httputil
 */

// First, so that an unsupported Node.js fails with one clear sentence (see there).
import '../internal/node-version.ts';
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { HTTPHeaders } from './headers.ts';
import {
  DEFAULT_MAX_FIELDS,
  parseBodyArguments,
  parseCookie,
  parseQs,
  requestPathOf,
  splitHostAndPort,
} from './parse.ts';
import type { ArgumentMap, FileMap, HTTPFile } from './parse.ts';

// The headers and the parsers live in their own modules; this one re-exports them so
// `typhoon/httputil` (and every importer of `./httputil.ts`) keeps one surface.
export { HTTPHeaders, normalizeHeaderName } from './headers.ts';
export type { HTTPHeadersInit } from './headers.ts';
export {
  HTTPFile,
  DEFAULT_MAX_FIELDS,
  percentDecodeToBuffer,
  decodeUtf8Strict,
  parseQs,
  parseHeaderValue,
  parseMultipartFormData,
  parseBodyArguments,
  parseCookie,
  urlConcat,
  formatTimestamp,
  splitHostAndPort,
  requestPathOf,
} from './parse.ts';
export type { ArgumentMap, FileMap, ParseQsOptions, ParseBodyOptions } from './parse.ts';

/** A prototype-free object, so `__proto__` or `constructor` as a key is just a key. */
function emptyMap<V>(): Record<string, V> {
  return Object.create(null) as Record<string, V>;
}

// ---------------------------------------------------------------------------------------------
// The interfaces between the server and what it serves
// ---------------------------------------------------------------------------------------------

/** Called when a write was handed to the OS (or failed because the connection went away). */
export type WriteCallback = (error?: Error | null) => void;

/** The Node objects behind a request, for code that must hand them on (a Node handler, `ws`). */
export interface RawConnection {
  /** Node's request object. */
  req: IncomingMessage;
  /** Node's response object; absent for an upgrade request. */
  res?: ServerResponse;
  /** The connection's socket. */
  socket: Socket;
  /** For an upgrade request, the bytes already read past the headers. */
  head?: Buffer;
}

/**
 * The response side of one request, implemented by the HTTP server and used by whatever
 * serves the request (the web framework's handlers, a plain callback).
 *
 * Tornado: `tornado.httputil.HTTPConnection`.
 */
export interface HTTPConnection {
  /**
   * Send the status line and headers, with the first body chunk if given. Call once.
   * `callback` runs when the bytes were handed to the OS. `headers` is a header map, or a
   * flat `[name, value, name, value, …]` array (node's raw form, no map built per response).
   */
  writeHeaders(
    statusCode: number,
    reason: string,
    headers: HTTPHeaders | readonly string[],
    chunk?: Uint8Array | null,
    callback?: WriteCallback,
  ): void;
  /** Send a body chunk after the headers. */
  write(chunk: Uint8Array, callback?: WriteCallback): void;
  /**
   * End the response. A `chunk` given here goes out as the last body bytes, together with
   * headers still pending (node's `res.end(chunk)`: no cork and next-tick uncork as a
   * separate `write` then `end` would cost). A string is sent as UTF-8; node then joins it
   * to the pending header block and makes one `write` syscall instead of a `writev` of two
   * buffers.
   */
  finish(chunk?: Uint8Array | string | null): void;
  /** Raise or lower the body size limit for this request only (before the body is read). */
  setMaxBodySize(bytes: number): void;
  /** Change the body timeout for this request only, in ms. */
  setBodyTimeout(ms: number): void;
  /**
   * Hand the Node objects to other code for good: the server reads no body and writes nothing
   * more for this request, and forgets it. Used to mount a plain Node handler.
   */
  detach(): RawConnection;
  /** True once the client connection is gone. */
  readonly closed: boolean;
  /** The Node objects behind this request. */
  readonly raw: RawConnection;
}

/**
 * Receives one HTTP message from the server: the request's head, its body chunk by chunk,
 * then the end (or the loss of the connection). A promise returned by `headersReceived` or
 * `dataReceived` pauses reading until it settles (flow control for streamed bodies).
 *
 * Tornado: `tornado.httputil.HTTPMessageDelegate`.
 */
export interface HTTPMessageDelegate {
  /** The request line and headers have arrived; `request.body` is still empty. */
  headersReceived(request: HTTPServerRequest): void | PromiseLike<void>;
  /** A chunk of the (decompressed) body. */
  dataReceived(chunk: Buffer): void | PromiseLike<void>;
  /** The whole body has arrived. */
  finish(): void;
  /** The connection closed before the response was finished. Called at most once. */
  onConnectionClose(): void;
}

/**
 * What an HTTP server serves: it is asked for a {@link HTTPMessageDelegate} for every
 * request. `Application` implements it.
 *
 * Tornado: `tornado.httputil.HTTPServerConnectionDelegate`.
 */
export interface HTTPServerConnectionDelegate {
  /** Start handling a new request on `connection`. */
  startRequest(connection: HTTPConnection): HTTPMessageDelegate;
}

/** A function that serves a whole request (body already read), the simplest server target. */
export type HTTPRequestCallback = (request: HTTPServerRequest) => unknown;

// ---------------------------------------------------------------------------------------------
// The request
// ---------------------------------------------------------------------------------------------

/** What {@link HTTPServerRequest} is built from. */
export interface HTTPServerRequestInit {
  /** `GET`, `POST`, … Default `GET`. */
  method?: string;
  /** The request target as sent (`/path?query`). Default `/`. */
  uri?: string;
  /** `HTTP/1.1` by default. */
  version?: string;
  /** Headers, or Node's `rawHeaders` array, parsed lazily on first use. */
  headers?: HTTPHeaders | readonly string[];
  /** The body. Default empty. */
  body?: Buffer;
  /** `host[:port]`; defaults to the `Host` header, then `127.0.0.1`. */
  host?: string;
  /** The client's address. Default `127.0.0.1`. */
  remoteIp?: string;
  /** `http` or `https`. Default `http`. */
  protocol?: string;
  /** The response side, when the request came from a server. */
  connection?: HTTPConnection;
  /** Cap on query/form fields. Default {@link DEFAULT_MAX_FIELDS}. */
  maxFields?: number;
}

const EMPTY_BODY = Buffer.alloc(0);

/**
 * One HTTP request as the server received it. Arguments, files and cookies are parsed the
 * first time they are read (a hello-world request never pays for them) into prototype-free
 * maps; values are raw bytes, as Tornado keeps them. Parsing errors throw
 * {@link typhoon/errors!HTTPInputError | HTTPInputError}, which the web framework answers with 400.
 *
 * @example
 * ```ts
 * const request = new HTTPServerRequest({ method: 'GET', uri: '/a?x=1' });
 * request.path; // '/a'
 * request.queryArguments.x?.[0]?.toString(); // '1'
 * ```
 * Tornado: `tornado.httputil.HTTPServerRequest`.
 */
export class HTTPServerRequest {
  /** The request method. */
  method: string;
  /** The request target as sent. */
  uri: string;
  /** The path part of {@link HTTPServerRequest.uri} (never a host, even for absolute-form). */
  path: string;
  /** The query string without `?`. */
  query: string;
  /** `HTTP/1.1` or `HTTP/1.0`. */
  version: string;
  /** The request body (complete once the delegate's `finish()` ran). */
  body: Buffer;
  /** The client's address (or the forwarded one with `xheaders`). */
  remoteIp: string;
  /** `http` or `https` (or the forwarded one with `xheaders`). */
  protocol: string;
  /** The response side of this request, when it came from a server. */
  connection: HTTPConnection | undefined;
  /** Cap on query/form fields used by the lazy parsers. */
  maxFields: number;

  #headers: HTTPHeaders | undefined;
  #rawHeaders: readonly string[] | undefined;
  #host: string | undefined;
  #start = performance.now();
  #queryArguments: ArgumentMap | undefined;
  #bodyArguments: ArgumentMap | undefined;
  #files: FileMap | undefined;
  #arguments: ArgumentMap | undefined;
  #cookies: Record<string, string> | undefined;

  constructor(init: HTTPServerRequestInit = {}) {
    this.method = init.method ?? 'GET';
    this.uri = init.uri ?? '/';
    const [path, query] = requestPathOf(this.uri);
    this.path = path;
    this.query = query;
    this.version = init.version ?? 'HTTP/1.1';
    if (init.headers instanceof HTTPHeaders) this.#headers = init.headers;
    else if (init.headers !== undefined) this.#rawHeaders = init.headers;
    this.body = init.body ?? EMPTY_BODY;
    this.#host = init.host;
    this.remoteIp = init.remoteIp ?? '127.0.0.1';
    this.protocol = init.protocol ?? 'http';
    this.connection = init.connection;
    this.maxFields = init.maxFields ?? DEFAULT_MAX_FIELDS;
  }

  /** The request headers. */
  get headers(): HTTPHeaders {
    if (this.#headers === undefined) {
      this.#headers =
        this.#rawHeaders === undefined ? new HTTPHeaders() : HTTPHeaders.fromRaw(this.#rawHeaders);
      this.#rawHeaders = undefined;
    }
    return this.#headers;
  }

  set headers(headers: HTTPHeaders) {
    this.#headers = headers;
    this.#rawHeaders = undefined;
  }

  /** The value of the first raw header line called `name` (case-insensitive), cheaply. */
  rawHeader(name: string): string | undefined {
    const raw = this.#rawHeaders;
    if (raw === undefined) return this.headers.get(name);
    // Lower-cased only once a line of the same length turns up: most lookups (an
    // `If-None-Match` for the automatic Etag, a `Cookie`) find none and allocate nothing.
    let lower: string | undefined;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const n = raw[i]!;
      if (n.length !== name.length) continue;
      if (n === name) return raw[i + 1];
      lower ??= name.toLowerCase();
      if (n.toLowerCase() === lower) return raw[i + 1];
    }
    return undefined;
  }

  /** `host[:port]` the request was sent to. */
  get host(): string {
    if (this.#host === undefined) this.#host = this.rawHeader('Host') || '127.0.0.1';
    return this.#host;
  }

  set host(host: string) {
    this.#host = host;
  }

  /** {@link HTTPServerRequest.host} without the port, lower-cased. */
  get hostName(): string {
    return splitHostAndPort(this.host.toLowerCase())[0];
  }

  /** Arguments from the query string. */
  get queryArguments(): ArgumentMap {
    if (this.#queryArguments === undefined) {
      this.#queryArguments = parseQs(this.query, { maxFields: this.maxFields });
    }
    return this.#queryArguments;
  }

  set queryArguments(value: ArgumentMap) {
    this.#queryArguments = value;
    this.#arguments = undefined;
  }

  /** Arguments from a form-urlencoded or multipart body. */
  get bodyArguments(): ArgumentMap {
    if (this.#bodyArguments === undefined) this.#parseBody();
    return this.#bodyArguments!;
  }

  set bodyArguments(value: ArgumentMap) {
    this.#bodyArguments = value;
    this.#arguments = undefined;
  }

  /** Uploaded files from a multipart body. */
  get files(): FileMap {
    if (this.#files === undefined) this.#parseBody();
    return this.#files!;
  }

  set files(value: FileMap) {
    this.#files = value;
  }

  /** Query and body arguments together (query values first). */
  get arguments(): ArgumentMap {
    if (this.#arguments === undefined) {
      const all = emptyMap<Buffer[]>();
      const query = this.queryArguments;
      for (const name in query) all[name] = query[name]!.slice();
      const body = this.bodyArguments;
      for (const name in body) {
        const list = all[name];
        if (list === undefined) all[name] = body[name]!.slice();
        else list.push(...body[name]!);
      }
      this.#arguments = all;
    }
    return this.#arguments;
  }

  /** Cookies from the `Cookie` header, name → value. */
  get cookies(): Record<string, string> {
    if (this.#cookies === undefined) {
      const header = this.rawHeader('Cookie');
      this.#cookies = header === undefined ? emptyMap<string>() : parseCookie(header);
    }
    return this.#cookies;
  }

  #parseBody(): void {
    const args = emptyMap<Buffer[]>();
    const files = emptyMap<HTTPFile[]>();
    const contentType = this.rawHeader('Content-Type');
    if (contentType !== undefined && this.body.length > 0) {
      parseBodyArguments(contentType, this.body, args, files, this.headers, {
        maxFields: this.maxFields,
      });
    }
    this.#bodyArguments = args;
    this.#files = files;
  }

  /** `protocol://host/uri`. Tornado: `HTTPServerRequest.full_url`. */
  fullUrl(): string {
    return `${this.protocol}://${this.host}${this.uri}`;
  }

  /** Milliseconds since the request arrived. Tornado: `request_time` (seconds there). */
  requestTime(): number {
    return performance.now() - this.#start;
  }

  /** A one-line description for logs. */
  toString(): string {
    return `HTTPServerRequest(protocol=${JSON.stringify(this.protocol)}, host=${JSON.stringify(this.host)}, method=${JSON.stringify(this.method)}, uri=${JSON.stringify(this.uri)}, version=${JSON.stringify(this.version)}, remoteIp=${JSON.stringify(this.remoteIp)})`;
  }
}
