/**
 * The request and response objects of typhoon's HTTP client ({@link HTTPRequest},
 * {@link HTTPResponse}), their options, Tornado's defaults, and the checks a request passes
 * before a byte is sent. Shared by the asynchronous client (`httpclient.ts`) and the
 * synchronous one (`sync.ts`); users import them from `typhoon/httpclient`.
 * @module
 */
import { Buffer } from 'node:buffer';
import { HTTPClientError, statusReason } from '../errors.ts';
import { HTTPHeaders } from '../httputil/index.ts';

/**
 * Header input accepted by {@link HTTPRequest}: a plain object (a value may be a list), a
 * `Map`, WHATWG `Headers`, an `HTTPHeaders`, or any iterable of `[name, value]` pairs.
 *
 * @example
 * ```ts
 * const headers: HeadersInput = { Accept: 'application/json', 'X-Tag': ['a', 'b'] };
 * ```
 * Tornado: the `headers` argument of `HTTPRequest` (a dict or `HTTPHeaders`).
 */
export type HeadersInput =
  | Record<string, string | number | readonly string[] | undefined>
  | Iterable<readonly [string, string]>;

/**
 * A prototype-free map of lower-case header name to value(s): how {@link HTTPRequest} keeps
 * request headers, and what is handed to undici (a plain object, so `__proto__` is just a name).
 *
 * @example
 * ```ts
 * const request = new HTTPRequest(url, { headers: { 'X-A': '1' } });
 * request.headers['x-a']; // '1'
 * ```
 * Tornado: `HTTPRequest.headers`.
 */
export type HeaderMap = Record<string, string | string[]>;

/**
 * Streams a request body: called with a `write` function, it writes chunks (awaiting each
 * returned Promise applies backpressure) and resolves when the body is complete.
 *
 * @example
 * ```ts
 * await client.fetch(url, {
 *   method: 'POST',
 *   bodyProducer: async (write) => {
 *     for (const part of parts) await write(part);
 *   },
 * });
 * ```
 * Tornado: `HTTPRequest.body_producer`.
 */
export type BodyProducer = (
  write: (chunk: string | Uint8Array) => Promise<void>,
) => PromiseLike<void>;

/**
 * Options of an {@link HTTPRequest}, in milliseconds where they are times. Each one left unset
 * is taken from the client's `defaults`, then from Tornado's defaults ({@link REQUEST_DEFAULTS}).
 *
 * @example
 * ```ts
 * const options: HTTPRequestOptions = { method: 'PUT', body: '{}', requestTimeout: 5000 };
 * ```
 * Tornado: the keyword arguments of `tornado.httpclient.HTTPRequest`.
 */
export interface HTTPRequestOptions {
  /** HTTP method, default `GET`. */
  method?: string;
  /** Request headers. */
  headers?: HeadersInput;
  /** Request body (POST, PUT, PATCH). */
  body?: string | Uint8Array;
  /** Streams the body instead of `body`; see {@link BodyProducer}. */
  bodyProducer?: BodyProducer;
  /** Username for HTTP authentication. */
  authUsername?: string;
  /** Password for HTTP authentication. */
  authPassword?: string;
  /** Authentication scheme; only `basic` is supported (Tornado's default). */
  authMode?: 'basic';
  /**
   * Milliseconds to establish the connection (TCP and TLS). Default 20 000. A connection that
   * takes longer is closed then, not merely abandoned. Connections are pooled per distinct
   * connect limit (the smaller of this and `requestTimeout`), so requests that share one
   * share sockets.
   */
  connectTimeout?: number;
  /** Milliseconds for the whole request once it left the queue. Default 20 000. */
  requestTimeout?: number;
  /** Milliseconds a request may wait in the `maxClients` queue. Default: `requestTimeout`. */
  queueTimeout?: number;
  /** Sends `If-Modified-Since` with this date (a `Date` or epoch milliseconds). */
  ifModifiedSince?: Date | number;
  /** Follow 3xx redirects. Default true. */
  followRedirects?: boolean;
  /** How many redirects to follow at most. Default 5. */
  maxRedirects?: number;
  /** `User-Agent` to send when the headers carry none. */
  userAgent?: string;
  /** Ask for and decode gzip, deflate and br bodies. Default true. */
  decompressResponse?: boolean;
  /** Receives body chunks as they arrive; the response's `body` is then empty. */
  streamingCallback?: (chunk: Buffer) => void;
  /** Receives the status line, each `Name: value\r\n` header line, then `\r\n`. */
  headerCallback?: (line: string) => void;
  /** HTTP proxy host. */
  proxyHost?: string;
  /** HTTP proxy port. */
  proxyPort?: number;
  /** Username for the proxy. */
  proxyUsername?: string;
  /** Password for the proxy. */
  proxyPassword?: string;
  /** Verify the server's TLS certificate. Default true. */
  validateCert?: boolean;
  /** CA certificates: a PEM file path, PEM text, or a Buffer of PEM. */
  caCerts?: string | Buffer;
  /** Client certificate (PEM path, text or Buffer) for TLS client authentication. */
  clientCert?: string | Buffer;
  /** Key of {@link HTTPRequestOptions.clientCert} (PEM path, text or Buffer). */
  clientKey?: string | Buffer;
  /** Allow any method and a body with any method. Default false. */
  allowNonstandardMethods?: boolean;
  /** Largest response body accepted, counted after decompression. Default: the client's
   * `maxBodySize` (100 MiB). */
  maxBodySize?: number;
}

/**
 * The options of `fetch`: request options (only with a URL, not with an `HTTPRequest`) plus
 * how the result is reported.
 *
 * @example
 * ```ts
 * const response = await client.fetch(url, { raiseError: false, requestTimeout: 1000 });
 * ```
 * Tornado: `AsyncHTTPClient.fetch(request, raise_error=True, **kwargs)`.
 */
export interface FetchOptions extends HTTPRequestOptions {
  /** Reject on a non-2xx status. Default true. Network errors and timeouts always reject. */
  raiseError?: boolean;
  /** Called with the response in every case (its `error` set on failure), Tornado-callback style. */
  callback?: (response: HTTPResponse) => void;
}

/**
 * Tornado's defaults for request options (times in milliseconds): connect and request
 * timeouts 20 s, redirects followed up to 5, responses decompressed, certificates checked.
 *
 * @example
 * ```ts
 * REQUEST_DEFAULTS.requestTimeout; // 20000
 * ```
 * Tornado: `tornado.httpclient.HTTPRequest._DEFAULTS`.
 */
export const REQUEST_DEFAULTS = Object.freeze({
  method: 'GET',
  connectTimeout: 20_000,
  requestTimeout: 20_000,
  followRedirects: true,
  maxRedirects: 5,
  decompressResponse: true,
  validateCert: true,
  allowNonstandardMethods: false,
  authMode: 'basic' as const,
});

/** Methods accepted without `allowNonstandardMethods`, as in Tornado. */
const STANDARD_METHODS = new Set(['GET', 'HEAD', 'POST', 'DELETE', 'PATCH', 'PUT', 'OPTIONS']);
/** Methods that must carry a body (and the only ones that may), as in Tornado. */
const BODY_METHODS = new Set(['POST', 'PATCH', 'PUT']);

/** RFC 9110 token characters: a valid header name or method. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Characters never allowed in a header value: CR, LF, NUL. */
const BAD_VALUE = /[\r\n\0]/;
/** Characters never allowed in a URL we send: controls (CR/LF/NUL/TAB …) and space.
 * The WHATWG parser would silently strip CR/LF/TAB; refusing is safer than guessing. */
const BAD_URL = /[\0-\x20\x7f]/;

/**
 * Build a prototype-free, lower-cased {@link HeaderMap} from any {@link HeadersInput};
 * repeated names collect their values in a list.
 *
 * @example
 * ```ts
 * normalizeHeaders([['Accept', 'a'], ['accept', 'b']]); // { accept: ['a', 'b'] }
 * ```
 * Tornado: `HTTPHeaders(...)` construction.
 */
export function normalizeHeaders(input: HeadersInput | undefined): HeaderMap {
  const out: HeaderMap = Object.create(null) as HeaderMap;
  if (input === undefined || input === null) return out;
  const add = (name: string, value: string) => {
    const key = name.toLowerCase();
    const prev = out[key];
    if (prev === undefined) out[key] = value;
    else if (typeof prev === 'string') out[key] = [prev, value];
    else prev.push(value);
  };
  if (typeof (input as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const pair of input as Iterable<readonly [string, string]>)
      add(String(pair[0]), String(pair[1]));
    return out;
  }
  for (const [name, value] of Object.entries(input)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value as readonly string[]) add(name, String(v));
    else add(name, String(value as string | number));
  }
  return out;
}

/**
 * One HTTP request for the client: a URL plus {@link HTTPRequestOptions}. Options left unset
 * stay `undefined` here and are filled at fetch time from the client's `defaults`, then from
 * Tornado's defaults, so one request object can be sent by differently configured clients.
 * Headers are kept as a prototype-free map of lower-case names.
 *
 * @example
 * ```ts
 * const request = new HTTPRequest('http://example.com/api', {
 *   method: 'POST',
 *   headers: { 'Content-Type': 'application/json' },
 *   body: JSON.stringify({ hello: 'world' }),
 *   requestTimeout: 5000,
 * });
 * const response = await new AsyncHTTPClient().fetch(request);
 * ```
 * Tornado: `tornado.httpclient.HTTPRequest`.
 */
export class HTTPRequest {
  /** The URL to fetch. */
  url: string;
  /** HTTP method (upper case); `GET` unless given. */
  method: string;
  /** Request headers, lower-case names. */
  headers: HeaderMap;
  body: string | Uint8Array | undefined;
  bodyProducer: BodyProducer | undefined;
  authUsername: string | undefined;
  authPassword: string | undefined;
  authMode: 'basic' | undefined;
  connectTimeout: number | undefined;
  requestTimeout: number | undefined;
  queueTimeout: number | undefined;
  ifModifiedSince: Date | number | undefined;
  followRedirects: boolean | undefined;
  maxRedirects: number | undefined;
  userAgent: string | undefined;
  decompressResponse: boolean | undefined;
  /** Receives body chunks as they arrive; the response's `body` is then empty. */
  streamingCallback: ((chunk: Buffer) => void) | undefined;
  /** Receives the status line, each `Name: value\r\n` header line, then `\r\n`. */
  headerCallback: ((line: string) => void) | undefined;
  proxyHost: string | undefined;
  proxyPort: number | undefined;
  proxyUsername: string | undefined;
  proxyPassword: string | undefined;
  validateCert: boolean | undefined;
  caCerts: string | Buffer | undefined;
  clientCert: string | Buffer | undefined;
  clientKey: string | Buffer | undefined;
  allowNonstandardMethods: boolean | undefined;
  maxBodySize: number | undefined;
  /** Whether `method` was given (so client defaults may supply it otherwise). */
  readonly methodGiven: boolean;

  constructor(url: string, options: HTTPRequestOptions = {}) {
    this.url = url;
    this.methodGiven = options.method !== undefined;
    this.method = (options.method ?? REQUEST_DEFAULTS.method).toUpperCase();
    this.headers = normalizeHeaders(options.headers);
    this.body = options.body;
    this.bodyProducer = options.bodyProducer;
    this.authUsername = options.authUsername;
    this.authPassword = options.authPassword;
    this.authMode = options.authMode;
    this.connectTimeout = options.connectTimeout;
    this.requestTimeout = options.requestTimeout;
    this.queueTimeout = options.queueTimeout;
    this.ifModifiedSince = options.ifModifiedSince;
    this.followRedirects = options.followRedirects;
    this.maxRedirects = options.maxRedirects;
    this.userAgent = options.userAgent;
    this.decompressResponse = options.decompressResponse;
    this.streamingCallback = options.streamingCallback;
    this.headerCallback = options.headerCallback;
    this.proxyHost = options.proxyHost;
    this.proxyPort = options.proxyPort;
    this.proxyUsername = options.proxyUsername;
    this.proxyPassword = options.proxyPassword;
    this.validateCert = options.validateCert;
    this.caCerts = options.caCerts;
    this.clientCert = options.clientCert;
    this.clientKey = options.clientKey;
    this.allowNonstandardMethods = options.allowNonstandardMethods;
    this.maxBodySize = options.maxBodySize;
  }
}

/**
 * Timing of a fetch, in milliseconds since `fetch` was called.
 *
 * @example
 * ```ts
 * const { queue, connect, startTransfer, total } = response.timeInfo;
 * ```
 * Tornado: `HTTPResponse.time_info`.
 */
export interface TimeInfo {
  /** Time spent waiting in the `maxClients` queue. */
  queue: number;
  /** When the last hop's connection was ready (reused or new), if it got that far. */
  connect?: number;
  /** When the last hop's response headers arrived. */
  startTransfer?: number;
  /** When the fetch finished. */
  total: number;
  /** Redirects followed. */
  redirects: number;
}

/**
 * Fields of an {@link HTTPResponse} besides the request and code, for building one (tests,
 * fakes).
 *
 * @example
 * ```ts
 * const fake = new HTTPResponse(request, 200, { body: Buffer.from('ok') });
 * ```
 * Tornado: the keyword arguments of `HTTPResponse`.
 */
export interface HTTPResponseInit {
  reason?: string;
  headers?: HTTPHeaders;
  body?: Buffer;
  effectiveUrl?: string;
  error?: HTTPClientError<HTTPResponse>;
  requestTime?: number;
  startTime?: number;
  timeInfo?: TimeInfo;
}

const EMPTY = Buffer.alloc(0);

/**
 * Response headers as undici parses them: lower-case names (own properties of a plain object)
 * to a value, or to the list of values of a repeated header. @internal
 */
export type ParsedHeaders = Record<string, string | string[]>;

function headersFromParsed(parsed: ParsedHeaders): HTTPHeaders {
  const headers = new HTTPHeaders();
  for (const name of Object.keys(parsed)) {
    const value = parsed[name]!;
    if (typeof value === 'string') headers.add(name, value);
    else for (const v of value) headers.add(name, v);
  }
  return headers;
}

let attachParsed: (response: HTTPResponse, parsed: ParsedHeaders) => void;

/**
 * Give `response` undici's parsed headers, built into its `HTTPHeaders` only when read. The
 * caller guarantees their key order is the order received (no integer-like names). @internal
 */
export function setParsedHeaders(response: HTTPResponse, parsed: ParsedHeaders): void {
  attachParsed(response, parsed);
}

/**
 * The result of a fetch: status `code` and `reason`, `headers` (an `HTTPHeaders`:
 * case-insensitive, multi-valued), the `body` as a Buffer (empty when a `streamingCallback` consumed it), the `effectiveUrl` after
 * redirects, and timings. A failed fetch reported through `callback` or `raiseError: false`
 * carries its {@link HTTPClientError} in `error`; {@link HTTPResponse.rethrow} throws it.
 * Network failures have code 599.
 *
 * @example
 * ```ts
 * const response = await new AsyncHTTPClient().fetch(url, { raiseError: false });
 * if (response.error) console.log('failed:', response.code, response.error.message);
 * else console.log(response.headers.get('Content-Type'), response.json());
 * ```
 * Tornado: `tornado.httpclient.HTTPResponse`.
 */
export class HTTPResponse {
  /** The request that was fetched (the original one, before redirects). */
  readonly request: HTTPRequest;
  /** HTTP status code; 599 when no response was received. */
  readonly code: number;
  /** Reason phrase sent by the server, or the standard one for `code`. */
  readonly reason: string;
  /** Response body (decoded when `decompressResponse`). */
  readonly body: Buffer;
  /** The final URL, after redirects. */
  readonly effectiveUrl: string;
  /** Set when the fetch failed. */
  readonly error: HTTPClientError<HTTPResponse> | undefined;
  /** Milliseconds from the call to `fetch` to the end. */
  readonly requestTime: number;
  /** Wall-clock time (epoch ms) when `fetch` was called. */
  readonly startTime: number;
  /** Breakdown of {@link HTTPResponse.requestTime}. */
  readonly timeInfo: TimeInfo;

  // The headers as given, or (from the client) undici's parsed object, turned into an
  // HTTPHeaders the first time `headers` is read: most callers never read them.
  #headers: HTTPHeaders | ParsedHeaders | undefined;

  constructor(request: HTTPRequest, code: number, init: HTTPResponseInit = {}) {
    this.request = request;
    this.code = code;
    this.reason = init.reason || statusReason(code);
    this.#headers = init.headers;
    this.body = init.body ?? EMPTY;
    this.effectiveUrl = init.effectiveUrl ?? request.url;
    this.error = init.error;
    this.requestTime = init.requestTime ?? 0;
    this.startTime = init.startTime ?? Date.now();
    this.timeInfo = init.timeInfo ?? { queue: 0, total: this.requestTime, redirects: 0 };
  }

  /** Response headers (case-insensitive `get`, `getList` for repeated ones). */
  get headers(): HTTPHeaders {
    const headers = this.#headers;
    if (headers instanceof HTTPHeaders) return headers;
    const built = headers === undefined ? new HTTPHeaders() : headersFromParsed(headers);
    this.#headers = built;
    return built;
  }

  static {
    attachParsed = (response, parsed) => {
      response.#headers = parsed;
    };
  }

  /** The body decoded as UTF-8. */
  get text(): string {
    return this.body.toString('utf8');
  }

  /** The body parsed as JSON. Throws `SyntaxError` if it is not JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.text) as T;
  }

  /** Throw {@link HTTPResponse.error} if there is one. Tornado: `HTTPResponse.rethrow`. */
  rethrow(): void {
    if (this.error !== undefined) throw this.error;
  }

  /** `HTTPResponse(200 OK, http://…)`, for logs. */
  toString(): string {
    return `HTTPResponse(${this.code} ${this.reason}, ${this.effectiveUrl})`;
  }
}

/** The options of a request once the client's defaults and Tornado's defaults are applied.
 * @internal */
export interface ResolvedRequest {
  /** Never changed once resolved: it may be shared by every request for the same URL text. */
  url: URL;
  /** `url.origin` and `url.pathname + url.search`, what undici is given. */
  origin: string;
  path: string;
  method: string;
  headers: HeaderMap;
  body: string | Uint8Array | undefined;
  bodyProducer: BodyProducer | undefined;
  connectTimeout: number;
  requestTimeout: number;
  queueTimeout: number;
  followRedirects: boolean;
  maxRedirects: number;
  decompressResponse: boolean;
  streamingCallback: ((chunk: Buffer) => void) | undefined;
  headerCallback: ((line: string) => void) | undefined;
  proxy: { host: string; port: number; username?: string; password?: string } | undefined;
  validateCert: boolean;
  caCerts: string | Buffer | undefined;
  clientCert: string | Buffer | undefined;
  clientKey: string | Buffer | undefined;
  maxBodySize: number;
  /** The `User-Agent` sent when the headers had none. */
  userAgent: string;
}

/** A client error with code 599: the request never produced a response. @internal */
export function clientError(message: string, cause?: unknown): HTTPClientError<HTTPResponse> {
  return new HTTPClientError<HTTPResponse>(599, message, cause === undefined ? {} : { cause });
}

/** A URL text that passed the checks of `resolveRequest`, parsed. */
interface CheckedUrl {
  url: URL;
  origin: string;
  path: string;
  /** Credentials the URL carried (still percent-encoded), taken out of `url`. */
  username?: string;
  password?: string;
}

/**
 * URLs without credentials that passed the checks, by their text: a client mostly fetches the
 * same few URLs, and parsing one (and reading its origin and path) costs more than the lookup.
 * Bounded: URLs past the first 1000 are parsed each time.
 */
const checkedUrls = new Map<string, CheckedUrl>();

/** Resolve `request` against `defaults` (then Tornado's), validating everything a server
 * could be fooled by. Throws an {@link HTTPClientError} 599 on bad input. @internal */
export function resolveRequest(
  request: HTTPRequest,
  defaults: HTTPRequestOptions,
  clientMaxBodySize: number,
  defaultUserAgent: string,
): ResolvedRequest {
  const raw = request.url;
  if (typeof raw !== 'string' || raw === '')
    throw clientError(`Invalid URL ${JSON.stringify(raw)}`);
  const checked = checkedUrls.get(raw) ?? checkUrl(raw);
  const url = checked.url;

  const method = request.methodGiven
    ? request.method
    : (defaults.method?.toUpperCase() ?? REQUEST_DEFAULTS.method);
  // The standard methods are tokens: only another one needs the pattern.
  if (!STANDARD_METHODS.has(method) && !TOKEN.test(method)) {
    throw clientError(`Invalid HTTP method ${JSON.stringify(method)}`);
  }
  const allowNonstandard =
    request.allowNonstandardMethods ??
    defaults.allowNonstandardMethods ??
    REQUEST_DEFAULTS.allowNonstandardMethods;
  const body = request.body ?? defaults.body;
  const bodyProducer = request.bodyProducer ?? defaults.bodyProducer;
  if (!allowNonstandard) {
    if (!STANDARD_METHODS.has(method)) {
      throw clientError(`Unsupported HTTP method ${method} (set allowNonstandardMethods)`);
    }
    const expected = BODY_METHODS.has(method);
    const present = body !== undefined || bodyProducer !== undefined;
    if (expected !== present) {
      throw clientError(
        `Body must ${expected ? 'not ' : ''}be undefined for method ${method} ` +
          `(unless allowNonstandardMethods is true)`,
      );
    }
  }

  // Headers: client defaults under the request's own.
  const headers: HeaderMap = Object.create(null) as HeaderMap;
  if (defaults.headers !== undefined) Object.assign(headers, normalizeHeaders(defaults.headers));
  Object.assign(headers, request.headers);
  for (const name in headers) {
    if (!TOKEN.test(name)) throw clientError(`Invalid header name ${JSON.stringify(name)}`);
    const value = headers[name]!;
    if (typeof value === 'string' ? BAD_VALUE.test(value) : value.some((v) => BAD_VALUE.test(v))) {
      throw clientError(`Invalid value for header ${name}: CR, LF and NUL are not allowed`);
    }
  }

  // Credentials in the URL are used when no auth options are given (checkUrl removed them).
  let username = request.authUsername ?? defaults.authUsername;
  let password = request.authPassword ?? defaults.authPassword;
  if (checked.username !== undefined && username === undefined) {
    username = decodeURIComponent(checked.username);
    password = decodeURIComponent(checked.password!);
  }
  if (username !== undefined) {
    const mode = request.authMode ?? defaults.authMode ?? REQUEST_DEFAULTS.authMode;
    if (mode !== 'basic') throw clientError(`Unsupported authMode ${JSON.stringify(mode)}`);
    const token = Buffer.from(`${username}:${password ?? ''}`).toString('base64');
    headers.authorization = `Basic ${token}`;
  }

  const userAgent = request.userAgent ?? defaults.userAgent ?? defaultUserAgent;
  if (userAgent !== defaultUserAgent && BAD_VALUE.test(userAgent))
    throw clientError('Invalid userAgent: CR, LF and NUL are not allowed');
  if (headers['user-agent'] === undefined) headers['user-agent'] = userAgent;

  const ims = request.ifModifiedSince ?? defaults.ifModifiedSince;
  if (ims !== undefined) {
    const date = typeof ims === 'number' ? new Date(ims) : ims;
    if (Number.isNaN(date.getTime())) throw clientError('Invalid ifModifiedSince date');
    headers['if-modified-since'] = date.toUTCString();
  }

  const decompressResponse =
    request.decompressResponse ??
    defaults.decompressResponse ??
    REQUEST_DEFAULTS.decompressResponse;
  if (decompressResponse && headers['accept-encoding'] === undefined) {
    headers['accept-encoding'] = 'gzip, deflate, br';
  }
  if (method === 'POST' && body !== undefined && headers['content-type'] === undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }

  const requestTimeout =
    request.requestTimeout ?? defaults.requestTimeout ?? REQUEST_DEFAULTS.requestTimeout;
  const proxyHost = request.proxyHost ?? defaults.proxyHost;
  let proxy: ResolvedRequest['proxy'];
  if (proxyHost !== undefined && proxyHost !== '') {
    const port = request.proxyPort ?? defaults.proxyPort;
    if (port === undefined || !Number.isInteger(port) || port <= 0 || port > 65535) {
      throw clientError('proxyHost needs a valid proxyPort');
    }
    if (BAD_URL.test(proxyHost) || /[/@?#]/.test(proxyHost)) {
      throw clientError(`Invalid proxyHost ${JSON.stringify(proxyHost)}`);
    }
    proxy = { host: proxyHost, port };
    const proxyUser = request.proxyUsername ?? defaults.proxyUsername;
    if (proxyUser !== undefined) {
      proxy.username = proxyUser;
      proxy.password = request.proxyPassword ?? defaults.proxyPassword ?? '';
    }
  }

  return {
    url,
    origin: checked.origin,
    path: checked.path,
    method,
    headers,
    body,
    bodyProducer,
    connectTimeout:
      request.connectTimeout ?? defaults.connectTimeout ?? REQUEST_DEFAULTS.connectTimeout,
    requestTimeout,
    queueTimeout: request.queueTimeout ?? defaults.queueTimeout ?? requestTimeout,
    followRedirects:
      request.followRedirects ?? defaults.followRedirects ?? REQUEST_DEFAULTS.followRedirects,
    maxRedirects: request.maxRedirects ?? defaults.maxRedirects ?? REQUEST_DEFAULTS.maxRedirects,
    decompressResponse,
    streamingCallback: request.streamingCallback ?? defaults.streamingCallback,
    headerCallback: request.headerCallback ?? defaults.headerCallback,
    proxy,
    validateCert: request.validateCert ?? defaults.validateCert ?? REQUEST_DEFAULTS.validateCert,
    caCerts: request.caCerts ?? defaults.caCerts,
    clientCert: request.clientCert ?? defaults.clientCert,
    clientKey: request.clientKey ?? defaults.clientKey,
    maxBodySize: request.maxBodySize ?? defaults.maxBodySize ?? clientMaxBodySize,
    userAgent,
  };
}

/**
 * Check and parse a URL text; one without credentials is remembered in `checkedUrls`.
 * Credentials are taken out of the URL and returned beside it.
 */
function checkUrl(raw: string): CheckedUrl {
  if (BAD_URL.test(raw)) {
    throw clientError(
      `Invalid URL ${JSON.stringify(raw)}: control characters or spaces are not allowed`,
    );
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch (err) {
    throw clientError(`Invalid URL ${JSON.stringify(raw)}`, err);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw clientError(
      `Unsupported URL scheme ${JSON.stringify(url.protocol.slice(0, -1))} in ${raw}`,
    );
  }
  if (url.hostname === '') throw clientError(`Invalid URL ${JSON.stringify(raw)}: no host`);
  if (url.username !== '' || url.password !== '') {
    const username = url.username;
    const password = url.password;
    url.username = '';
    url.password = '';
    return { url, origin: url.origin, path: url.pathname + url.search, username, password };
  }
  const checked = { url, origin: url.origin, path: url.pathname + url.search };
  if (checkedUrls.size < 1000) checkedUrls.set(raw, checked);
  return checked;
}

/** Names of {@link HTTPRequestOptions}, to tell request options from fetch-only ones. @internal */
export const REQUEST_OPTION_NAMES: ReadonlySet<string> = new Set([
  'method',
  'headers',
  'body',
  'bodyProducer',
  'authUsername',
  'authPassword',
  'authMode',
  'connectTimeout',
  'requestTimeout',
  'queueTimeout',
  'ifModifiedSince',
  'followRedirects',
  'maxRedirects',
  'userAgent',
  'decompressResponse',
  'streamingCallback',
  'headerCallback',
  'proxyHost',
  'proxyPort',
  'proxyUsername',
  'proxyPassword',
  'validateCert',
  'caCerts',
  'clientCert',
  'clientKey',
  'allowNonstandardMethods',
  'maxBodySize',
]);
