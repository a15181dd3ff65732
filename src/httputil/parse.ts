/**
 * The pure parsers and small helpers of `typhoon/httputil`: query strings and
 * percent-decoding ({@link parseQs}, {@link percentDecodeToBuffer}), header values
 * ({@link parseHeaderValue}), form and multipart bodies ({@link parseBodyArguments},
 * {@link parseMultipartFormData}, producing {@link HTTPFile}s), cookies ({@link parseCookie}),
 * and {@link urlConcat}, {@link formatTimestamp}, {@link splitHostAndPort},
 * {@link requestPathOf}.
 *
 * Separate from `httputil.ts` because these take strings or bytes and return values, never
 * touching a socket or a request object: tests feed them hostile input directly, and a reader
 * auditing what typhoon accepts finds every input rule in one place. `HTTPServerRequest`
 * calls them lazily, directly (no extra layer). Users import these names from
 * `typhoon/httputil`.
 *
 * @example
 * ```ts
 * import { parseQs, urlConcat } from 'typhoon/httputil';
 * parseQs('a=1&a=2&b=%C3%A9').b?.[0]?.toString(); // 'é'
 * urlConcat('/x', { a: '1' }); // '/x?a=1'
 * ```
 * Tornado: the parsing functions of `tornado.httputil`.
 * @module
 */

import { Buffer } from 'node:buffer';
import { HTTPInputError } from '../errors.ts';
import { parseCookieHeader } from '../internal/cookie.ts';
import {
  collectMultipart,
  MultipartError,
  type CollectedMultipart,
} from '../internal/multipart.ts';
import { HTTPHeaders } from './headers.ts';

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

/** Name → values, prototype-free, as `HTTPServerRequest.arguments` holds them. */
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
  if (boundary.length >= 2 && boundary.startsWith('"') && boundary.endsWith('"')) {
    boundary = boundary.slice(1, -1);
  }
  // One multipart parser serves both paths: the streaming one, bounded in parts, header bytes
  // and parameters and linear on hostile input, collects the buffered body here too.
  let collected: CollectedMultipart<HTTPFile>;
  try {
    collected = collectMultipart(boundary, body, {
      maxParts: options.maxFields ?? DEFAULT_MAX_FIELDS,
      makeFile: (f) => new HTTPFile(f.filename, f.body, f.contentType),
    });
  } catch (error) {
    if (error instanceof MultipartError) throw new HTTPInputError(error.message, { cause: error });
    throw error;
  }
  for (const name in collected.arguments) {
    (args[name] ??= []).push(...collected.arguments[name]!);
  }
  for (const name in collected.files) {
    (files[name] ??= []).push(...collected.files[name]!);
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
