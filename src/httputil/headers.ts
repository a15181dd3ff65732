/**
 * {@link HTTPHeaders}, the case-insensitive, multi-valued header map, and
 * {@link normalizeHeaderName}, its `Http-Header-Case` spelling.
 *
 * Separate from `httputil.ts` because headers are a self-contained data type used on their
 * own by the client, the server, websockets and the body parsers in `parse.ts`
 * (which read each multipart part's headers); keeping them apart lets the parsers depend on
 * them without an import cycle. Users import these names from `typhoon/httputil`.
 *
 * @example
 * ```ts
 * import { HTTPHeaders } from 'typhoon/httputil';
 * const h = HTTPHeaders.parse('Content-Type: text/html\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2');
 * h.getList('set-cookie'); // ['a=1', 'b=2']
 * ```
 * Tornado: `tornado.httputil.HTTPHeaders`.
 * @module
 */

import { HTTPInputError } from '../errors.ts';

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
    let length = 0;
    for (const entry of this.#map.values()) length += 2 * entry.values.length;
    // Sized up front: a response that stays open keeps this array (pushes would leave spare slots).
    const out = new Array<string>(length);
    let i = 0;
    for (const entry of this.#map.values()) {
      for (const value of entry.values) {
        out[i++] = entry.name;
        out[i++] = value;
      }
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
