/**
 * HTTP utilities shared by the server, the client and the web framework: pure parsers and the
 * data types that travel between them.
 *
 * - {@link HTTPHeaders}: a case-insensitive, multi-valued header map.
 * - {@link HTTPServerRequest}: one request as the server received it, with lazily parsed
 *   arguments, files and cookies in prototype-free maps.
 * - {@link parseQs}, {@link parseBodyArguments}, {@link parseMultipartFormData},
 *   {@link parseCookie}: parsers that take bytes or strings and return values, never touching
 *   a socket, so tests can feed them hostile input directly.
 * - {@link urlConcat}, {@link formatTimestamp}: small helpers.
 * - The delegate interfaces ({@link HTTPServerConnectionDelegate}, {@link HTTPMessageDelegate},
 *   {@link HTTPConnection}) through which `httpserver.ts` reaches the web framework without
 *   importing it: lower layers declare the interfaces, upper layers implement them.
 *
 * @example
 * ```ts
 * import { HTTPHeaders, parseQs } from 'typhoon/httputil';
 * const h = HTTPHeaders.parse('Content-Type: text/html\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2');
 * h.getList('set-cookie'); // ['a=1', 'b=2']
 * parseQs('a=1&a=2&b=%C3%A9').b?.[0]?.toString(); // 'é'
 * ```
 * Tornado: `tornado.httputil`.
 * @module
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { HTTPInputError } from './errors.ts';
import { parseCookieHeader } from './internal/cookie.ts';

// ---------------------------------------------------------------------------------------------
// Headers
// ---------------------------------------------------------------------------------------------

interface HeaderEntry {
  name: string;
  values: string[];
}

const normalizedNames = new Map<string, string>();

/** A header name's map key (lower case) and its output spelling (`Http-Header-Case`). */
interface HeaderName {
  key: string;
  name: string;
}

/**
 * Name as written → its key and spelling. The same few names (`Content-Type`, `Etag`, …) are
 * set on every response; one lookup of a string literal (whose hash V8 keeps) is cheaper than
 * `toLowerCase()` making a fresh string that must then be hashed, plus a second lookup for
 * the spelling. Bounded: names past the first 1000 are computed each time.
 */
const headerNames = new Map<string, HeaderName>();

function headerName(name: string): HeaderName {
  let info = headerNames.get(name);
  if (info === undefined) {
    info = { key: name.toLowerCase(), name: normalizeHeaderName(name) };
    if (headerNames.size < 1000) headerNames.set(name, info);
  }
  return info;
}

function headerKey(name: string): string {
  return headerName(name).key;
}

/**
 * Turn `content-type` into `Content-Type`, as Tornado spells header names on output. Results
 * are cached: a server sees the same few dozen names over and over.
 */
export function normalizeHeaderName(name: string): string {
  let cached = normalizedNames.get(name);
  if (cached !== undefined) return cached;
  cached = name
    .split('-')
    .map((part) =>
      part.length === 0 ? part : part[0]!.toUpperCase() + part.slice(1).toLowerCase(),
    )
    .join('-');
  if (normalizedNames.size < 1000) normalizedNames.set(name, cached);
  return cached;
}

/** What {@link HTTPHeaders} can be built from. */
export type HTTPHeadersInit =
  | HTTPHeaders
  | Iterable<readonly [string, string]>
  | Record<string, string | readonly string[] | undefined>;

/**
 * A case-insensitive map of HTTP headers that keeps every value of a repeated header.
 * `get()` joins repeated values with `,` (as HTTP allows for all headers but `Set-Cookie`);
 * `getList()` gives them one by one. Names are stored in `Http-Header-Case`.
 *
 * @example
 * ```ts
 * const headers = new HTTPHeaders({ 'content-type': 'text/plain' });
 * headers.add('Set-Cookie', 'a=1');
 * headers.add('set-cookie', 'b=2');
 * headers.get('Content-Type'); // 'text/plain'
 * [...headers.getAll()]; // [['Content-Type','text/plain'], ['Set-Cookie','a=1'], ['Set-Cookie','b=2']]
 * ```
 * Tornado: `tornado.httputil.HTTPHeaders`.
 */
export class HTTPHeaders implements Iterable<[string, string]> {
  #map = new Map<string, HeaderEntry>();
  #lastKey: string | undefined;

  constructor(init?: HTTPHeadersInit) {
    if (init === undefined || init === null) return;
    if (init instanceof HTTPHeaders) {
      for (const [name, value] of init.getAll()) this.add(name, value);
    } else if (typeof (init as Iterable<unknown>)[Symbol.iterator] === 'function') {
      for (const [name, value] of init as Iterable<readonly [string, string]>)
        this.add(name, value);
    } else {
      const record = init as Record<string, string | readonly string[] | undefined>;
      for (const name of Object.keys(record)) {
        const value = record[name];
        if (value === undefined) continue;
        if (typeof value === 'string') this.add(name, value);
        else for (const v of value) this.add(name, v);
      }
    }
  }

  /**
   * Build headers from Node's `rawHeaders` (`[name, value, name, value, …]`), keeping every
   * line as the client sent it.
   */
  static fromRaw(rawHeaders: readonly string[]): HTTPHeaders {
    const headers = new HTTPHeaders();
    for (let i = 0; i + 1 < rawHeaders.length; i += 2)
      headers.add(rawHeaders[i]!, rawHeaders[i + 1]!);
    return headers;
  }

  /**
   * Parse a header block (lines separated by CRLF or LF). Continuation lines (starting with
   * a space or tab) extend the previous value. Throws {@link HTTPInputError} on a line
   * without a colon. Tornado: `HTTPHeaders.parse`.
   */
  static parse(text: string): HTTPHeaders {
    const headers = new HTTPHeaders();
    for (const line of text.split(/\r?\n/)) {
      if (line.length > 0) headers.parseLine(line);
    }
    return headers;
  }

  /** Add one header line (`Name: value`) to the map. Tornado: `HTTPHeaders.parse_line`. */
  parseLine(line: string): void {
    const first = line.charCodeAt(0);
    if (first === 0x20 || first === 0x09) {
      // obs-fold: a continuation of the previous header's last value.
      const entry = this.#lastKey === undefined ? undefined : this.#map.get(this.#lastKey);
      if (entry === undefined)
        throw new HTTPInputError('first header line cannot start with whitespace');
      const i = entry.values.length - 1;
      entry.values[i] = `${entry.values[i]!} ${line.trim()}`.trim();
      return;
    }
    const colon = line.indexOf(':');
    if (colon <= 0)
      throw new HTTPInputError(`no colon in header line: ${JSON.stringify(line.slice(0, 100))}`);
    this.add(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }

  /** Add a value for `name`, keeping existing ones. Tornado: `HTTPHeaders.add`. */
  add(name: string, value: string): void {
    const info = headerName(name);
    const key = info.key;
    const entry = this.#map.get(key);
    if (entry === undefined) this.#map.set(key, { name: info.name, values: [String(value)] });
    else entry.values.push(String(value));
    this.#lastKey = key;
  }

  /** Replace every value of `name` with `value`. Tornado: `headers[name] = value`. */
  set(name: string, value: string): void {
    const info = headerName(name);
    const key = info.key;
    const entry = this.#map.get(key);
    if (entry === undefined) this.#map.set(key, { name: info.name, values: [String(value)] });
    else entry.values = [String(value)];
    this.#lastKey = key;
  }

  /** The values of `name` joined with `,`, or `undefined` when absent. */
  get(name: string): string | undefined {
    const entry = this.#map.get(headerKey(name));
    if (entry === undefined) return undefined;
    return entry.values.length === 1 ? entry.values[0] : entry.values.join(',');
  }

  /** Every value of `name` (empty when absent). Tornado: `HTTPHeaders.get_list`. */
  getList(name: string): string[] {
    const entry = this.#map.get(headerKey(name));
    return entry === undefined ? [] : entry.values.slice();
  }

  /** Every `[name, value]` pair, one per value. Tornado: `HTTPHeaders.get_all`. */
  *getAll(): IterableIterator<[string, string]> {
    for (const entry of this.#map.values()) {
      for (const value of entry.values) yield [entry.name, value];
    }
  }

  /** True when `name` has at least one value. */
  has(name: string): boolean {
    return this.#map.has(headerKey(name));
  }

  /** Remove every value of `name`; true if there was one. */
  delete(name: string): boolean {
    return this.#map.delete(headerKey(name));
  }

  /** Remove every header. */
  clear(): void {
    this.#map.clear();
    this.#lastKey = undefined;
  }

  /** Number of distinct header names. */
  get size(): number {
    return this.#map.size;
  }

  /** The distinct header names, in `Http-Header-Case`. */
  *keys(): IterableIterator<string> {
    for (const entry of this.#map.values()) yield entry.name;
  }

  /** `[name, joinedValue]` per distinct name. */
  *[Symbol.iterator](): Iterator<[string, string]> {
    for (const entry of this.#map.values()) yield [entry.name, entry.values.join(',')];
  }

  /** An independent copy. */
  copy(): HTTPHeaders {
    return new HTTPHeaders(this);
  }

  /**
   * `[name, value, name, value, …]`, one pair per value: the shape Node's `writeHead`
   * accepts without building an intermediate object.
   */
  toFlatArray(): string[] {
    const out: string[] = [];
    for (const entry of this.#map.values()) {
      for (const value of entry.values) out.push(entry.name, value);
    }
    return out;
  }

  /** A plain prototype-free object of name → joined value (lower-case names). */
  toObject(): Record<string, string> {
    const out = Object.create(null) as Record<string, string>;
    for (const [key, entry] of this.#map) out[key] = entry.values.join(',');
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Files, arguments and bodies
// ---------------------------------------------------------------------------------------------

/**
 * An uploaded file from a `multipart/form-data` body.
 *
 * @example
 * ```ts
 * const [file] = request.files.avatar ?? [];
 * if (file) console.log(file.filename, file.contentType, file.body.length);
 * ```
 * Tornado: `tornado.httputil.HTTPFile`.
 */
export class HTTPFile {
  /** The file name the client gave. */
  filename: string;
  /** The file's bytes. */
  body: Buffer;
  /** The part's `Content-Type` (`application/unknown` when absent). */
  contentType: string;

  constructor(filename: string, body: Buffer, contentType = 'application/unknown') {
    this.filename = filename;
    this.body = body;
    this.contentType = contentType;
  }
}

/** Name → values, prototype-free, as {@link HTTPServerRequest.arguments} holds them. */
export type ArgumentMap = Record<string, Buffer[]>;
/** Name → uploaded files, prototype-free. */
export type FileMap = Record<string, HTTPFile[]>;

/** Default cap on query and form fields; past it a request is refused with 400. */
export const DEFAULT_MAX_FIELDS = 1000;

/** A prototype-free object, so `__proto__` or `constructor` as a key is just a key. */
function emptyMap<V>(): Record<string, V> {
  return Object.create(null) as Record<string, V>;
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

/**
 * Percent-decode `text` into bytes. Characters that are not escapes stand for their own
 * byte (Node hands request targets over as latin1 strings, one char per byte); with `plus`,
 * `+` means a space as in form encoding. Throws {@link HTTPInputError} on a `%` not followed
 * by two hex digits: typhoon refuses what Python's `unquote` would silently keep.
 */
export function percentDecodeToBuffer(text: string, plus = false): Buffer {
  let simple = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 || (plus && c === 0x2b) || c > 0xff) {
      simple = false;
      break;
    }
  }
  if (simple) return Buffer.from(text, 'latin1');
  const out = Buffer.allocUnsafe(text.length * 3);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25) {
      const hi = hexValue(text.charCodeAt(i + 1));
      const lo = hexValue(text.charCodeAt(i + 2));
      if (hi < 0 || lo < 0)
        throw new HTTPInputError(
          `invalid percent-encoding in ${JSON.stringify(text.slice(0, 100))}`,
        );
      out[n++] = hi * 16 + lo;
      i += 2;
    } else if (plus && c === 0x2b) {
      out[n++] = 0x20;
    } else if (c <= 0xff) {
      out[n++] = c;
    } else {
      n += out.write(text[i]!, n, 'utf8');
    }
  }
  return out.subarray(0, n);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decode `bytes` as UTF-8, throwing {@link HTTPInputError} on invalid sequences (the web layer
 * turns that into a 400).
 */
export function decodeUtf8Strict(bytes: Uint8Array, what = 'argument'): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new HTTPInputError(`invalid UTF-8 in ${what}`);
  }
}

/** Options of {@link parseQs}. */
export interface ParseQsOptions {
  /** Refuse more than this many fields. Default {@link DEFAULT_MAX_FIELDS}. */
  maxFields?: number;
  /** Add to this map instead of a new one. */
  into?: ArgumentMap;
}

/**
 * Parse a query string or an `application/x-www-form-urlencoded` body into a prototype-free
 * map of name → raw byte values (blank values kept, `+` as space). Names are UTF-8.
 * Throws {@link HTTPInputError} on bad percent-encoding, invalid UTF-8 in a name, or more
 * than `maxFields` fields.
 *
 * @example
 * ```ts
 * parseQs('a=1&a=&b').a; // [Buffer '1', Buffer '']
 * ```
 * Tornado: `tornado.httputil.parse_qs_bytes` (with `keep_blank_values`).
 */
export function parseQs(qs: string, options: ParseQsOptions = {}): ArgumentMap {
  const maxFields = options.maxFields ?? DEFAULT_MAX_FIELDS;
  const result = options.into ?? emptyMap<Buffer[]>();
  if (qs.length === 0) return result;
  let fields = 0;
  let start = 0;
  while (start <= qs.length) {
    let end = qs.indexOf('&', start);
    if (end < 0) end = qs.length;
    if (end > start) {
      if (++fields > maxFields)
        throw new HTTPInputError(`too many fields (more than ${maxFields})`);
      const eq = qs.indexOf('=', start);
      const hasValue = eq >= 0 && eq < end;
      const rawName = qs.slice(start, hasValue ? eq : end);
      const rawValue = hasValue ? qs.slice(eq + 1, end) : '';
      const name = decodeUtf8Strict(percentDecodeToBuffer(rawName, true), 'argument name');
      const value = percentDecodeToBuffer(rawValue, true);
      const list = result[name];
      if (list === undefined) result[name] = [value];
      else list.push(value);
    }
    start = end + 1;
  }
  return result;
}

/**
 * Split a header value like `form-data; name="a"; filename="b.txt"` into its main value and
 * a prototype-free map of parameters (quotes removed, backslash escapes undone).
 * Tornado: `tornado.httputil._parse_header`.
 */
export function parseHeaderValue(value: string): [string, Record<string, string>] {
  const params = emptyMap<string>();
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (quoted) {
      if (ch === '\\' && i + 1 < value.length) {
        current += ch + value[++i]!;
        continue;
      }
      if (ch === '"') quoted = false;
      current += ch;
    } else if (ch === '"') {
      quoted = true;
      current += ch;
    } else if (ch === ';') {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  const main = parts[0]!.trim();
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i]!;
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim().toLowerCase();
    let v = part.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
      v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    }
    if (name.length > 0) params[name] = v;
  }
  return [main, params];
}

/** Options of {@link parseMultipartFormData} and {@link parseBodyArguments}. */
export interface ParseBodyOptions {
  /** Refuse more than this many fields or parts. Default {@link DEFAULT_MAX_FIELDS}. */
  maxFields?: number;
}

/**
 * Parse a `multipart/form-data` body: plain fields go to `args`, parts with a filename to
 * `files`. Throws {@link HTTPInputError} on a malformed body or more than `maxFields` parts.
 * Tornado: `tornado.httputil.parse_multipart_form_data`.
 */
export function parseMultipartFormData(
  boundary: string,
  body: Buffer,
  args: ArgumentMap,
  files: FileMap,
  options: ParseBodyOptions = {},
): void {
  const maxFields = options.maxFields ?? DEFAULT_MAX_FIELDS;
  if (boundary.length >= 2 && boundary.startsWith('"') && boundary.endsWith('"')) {
    boundary = boundary.slice(1, -1);
  }
  if (boundary.length === 0 || boundary.length > 200)
    throw new HTTPInputError('invalid multipart boundary');
  const dash = Buffer.from(`--${boundary}`, 'latin1');
  const final = body.lastIndexOf(Buffer.from(`--${boundary}--`, 'latin1'));
  if (final < 0) throw new HTTPInputError('invalid multipart/form-data: no final boundary');
  let pos = body.indexOf(dash);
  if (pos < 0 || pos > final) throw new HTTPInputError('invalid multipart/form-data: no boundary');
  const delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  let count = 0;
  pos += dash.length;
  while (pos < final) {
    // Each part starts after the boundary line's CRLF.
    if (body[pos] !== 0x0d || body[pos + 1] !== 0x0a)
      throw new HTTPInputError('invalid multipart/form-data: bad boundary line');
    pos += 2;
    const next = body.indexOf(delimiter, pos);
    if (next < 0) throw new HTTPInputError('invalid multipart/form-data: unterminated part');
    if (++count > maxFields)
      throw new HTTPInputError(`too many multipart parts (more than ${maxFields})`);
    const part = body.subarray(pos, next);
    pos = next + delimiter.length;
    const eoh = part.indexOf('\r\n\r\n');
    if (eoh < 0) throw new HTTPInputError('multipart/form-data missing headers');
    const headers = HTTPHeaders.parse(part.subarray(0, eoh).toString('utf8'));
    const disposition = headers.get('Content-Disposition') ?? '';
    const [kind, params] = parseHeaderValue(disposition);
    const name = params.name;
    if (kind !== 'form-data' || name === undefined) {
      throw new HTTPInputError('invalid multipart/form-data: bad Content-Disposition');
    }
    const value = part.subarray(eoh + 4);
    if (params.filename !== undefined) {
      const list = files[name] ?? (files[name] = []);
      list.push(
        new HTTPFile(params.filename, value, headers.get('Content-Type') ?? 'application/unknown'),
      );
    } else {
      const list = args[name] ?? (args[name] = []);
      list.push(value);
    }
  }
}

/**
 * Parse a request body by its `Content-Type` into `args` and `files`: form-urlencoded and
 * multipart/form-data are understood, anything else is left alone. A body with a
 * `Content-Encoding` other than identity is not parsed. Throws {@link HTTPInputError} on
 * malformed input. Tornado: `tornado.httputil.parse_body_arguments`.
 */
export function parseBodyArguments(
  contentType: string,
  body: Buffer,
  args: ArgumentMap,
  files: FileMap,
  headers?: HTTPHeaders,
  options: ParseBodyOptions = {},
): void {
  const encoding = headers?.get('Content-Encoding');
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return;
  const [type, params] = parseHeaderValue(contentType);
  const lower = type.toLowerCase();
  if (lower === 'application/x-www-form-urlencoded') {
    const fields: ParseQsOptions = { into: args };
    if (options.maxFields !== undefined) fields.maxFields = options.maxFields;
    parseQs(body.toString('latin1'), fields);
  } else if (lower === 'multipart/form-data') {
    const boundary = params.boundary;
    if (boundary === undefined) throw new HTTPInputError('multipart/form-data without boundary');
    parseMultipartFormData(boundary, body, args, files, options);
  }
}

/**
 * Parse a `Cookie` header into a prototype-free map of name → value: quoted values are
 * unquoted (including `\\ooo` octal escapes), the last of repeated names wins, as in Tornado.
 * Never throws, and runs in time linear in the header's length.
 *
 * @example
 * ```ts
 * parseCookie('a=1; b="x\\073y"'); // { a: '1', b: 'x;y' }
 * ```
 * Tornado: `tornado.httputil.parse_cookie`.
 */
export function parseCookie(header: string): Record<string, string> {
  return parseCookieHeader(header);
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/**
 * Append query arguments to `url`, with `?` or `&` as needed. `args` is an object or a list of
 * pairs (for repeated names); `null`/`undefined` leaves the URL unchanged.
 *
 * @example
 * ```ts
 * urlConcat('http://example.com/foo?a=b', { c: 'd' }); // 'http://example.com/foo?a=b&c=d'
 * urlConcat('/x', [['a', '1'], ['a', '2']]); // '/x?a=1&a=2'
 * ```
 * Tornado: `tornado.httputil.url_concat`.
 */
export function urlConcat(
  url: string,
  args:
    | Record<string, string | number | boolean>
    | ReadonlyArray<readonly [string, string | number | boolean]>
    | null
    | undefined,
): string {
  if (args === null || args === undefined) return url;
  let pairs: ReadonlyArray<readonly [string, string | number | boolean]>;
  if (Array.isArray(args)) pairs = args as ReadonlyArray<readonly [string, string]>;
  else if (typeof args === 'object') pairs = Object.entries(args);
  else
    throw new TypeError(`urlConcat: args must be an object or a list of pairs, got ${typeof args}`);
  if (pairs.length === 0) return url;
  const hash = url.indexOf('#');
  const fragment = hash >= 0 ? url.slice(hash) : '';
  let base = hash >= 0 ? url.slice(0, hash) : url;
  const query = pairs
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  if (!base.includes('?')) base += '?';
  else if (!base.endsWith('?') && !base.endsWith('&')) base += '&';
  return base + query + fragment;
}

/**
 * Format a time for HTTP headers (`Sun, 06 Nov 1994 08:49:37 GMT`). Accepts a `Date` or
 * milliseconds since the epoch. Tornado: `tornado.httputil.format_timestamp` (seconds there).
 */
export function formatTimestamp(ts: Date | number): string {
  const date = typeof ts === 'number' ? new Date(ts) : ts;
  if (Number.isNaN(date.getTime()))
    throw new TypeError(`formatTimestamp: invalid time ${String(ts)}`);
  return date.toUTCString();
}

/**
 * Split `host:port` (or `[v6]:port`) into the host and the port (`undefined` when absent).
 * Tornado: `tornado.httputil.split_host_and_port`.
 */
export function splitHostAndPort(netloc: string): [string, number | undefined] {
  const m = /^(.+):(\d+)$/.exec(netloc);
  if (m !== null && !(m[1]!.includes(':') && !m[1]!.startsWith('['))) {
    const host = m[1]!;
    return [host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host, Number(m[2])];
  }
  return [netloc.startsWith('[') && netloc.endsWith(']') ? netloc.slice(1, -1) : netloc, undefined];
}

/**
 * The path of a request target: the part before `?`. An absolute-form target
 * (`http://host/x?y`) gives `/x`, so routing never sees a host; a `//host/x` target stays a
 * path (it is one). Never uses `new URL(target, base)`, which reads `//evil.com/x` as a host.
 */
export function requestPathOf(uri: string): [path: string, query: string] {
  let target = uri;
  if (target.charCodeAt(0) !== 0x2f /* / */) {
    const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(target);
    if (scheme !== null) {
      const slash = target.indexOf('/', scheme[0].length);
      const q = target.indexOf('?', scheme[0].length);
      if (slash < 0 || (q >= 0 && q < slash)) target = '/' + (q >= 0 ? target.slice(q) : '');
      else target = target.slice(slash);
    }
  }
  const q = target.indexOf('?');
  if (q < 0) return [target, ''];
  const hash = target.indexOf('#', q);
  return [target.slice(0, q), target.slice(q + 1, hash < 0 ? undefined : hash)];
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
 * {@link HTTPInputError}, which the web framework answers with 400.
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
    const lower = name.toLowerCase();
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const n = raw[i]!;
      if (n.length === lower.length && n.toLowerCase() === lower) return raw[i + 1];
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
