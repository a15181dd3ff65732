/**
 * Response headers of {@link RequestHandler}, apart from the handler's own fields: checking
 * names and values, the constants every response starts with, the once-a-second `Date`, the
 * automatic `Etag` digest and `If-None-Match` matching, and building the full header map.
 *
 * Why separate: these are pure helpers and small caches with no handler state, and each is
 * one concept a reader looks up on its own ("why is this header refused?", "how is the Etag
 * made?"). The handler keeps the fast path itself — the plain `Content-Type`/`Etag`/
 * `Content-Length` fields and the flat array handed to node — in `#private` fields and
 * methods, so a small response pays no extra object or call for being split out; only the
 * slower paths (the lazily built `HTTPHeaders` map, validation of user-set headers, a
 * conditional GET) call in here. Internal: exported from neither src/index.ts nor
 * src/web/index.ts, except the public {@link HeaderValue} type.
 *
 * @example
 * ```ts
 * // inside RequestHandler.setHeader(name, value):
 * this.#setKnown(checkHeaderName(name), convertHeaderValue(value));
 * ```
 * Tornado: the header half of `tornado.web.RequestHandler` (`set_header`,
 * `_convert_header_value`, `compute_etag`, `check_etag_header`).
 * @module
 */

import { hash as oneShotHash } from 'node:crypto';
import { HTTPOutputError } from '../errors.ts';
import { HTTPHeaders, formatTimestamp } from '../httputil/index.ts';
import { httpDateNow } from '../internal/http-date.ts';

/** A header value {@link RequestHandler.setHeader} accepts. */
export type HeaderValue = string | number | Date;

/** The `Server` header of every response. */
export const SERVER_HEADER = 'TyphoonServer/0.1.0';
/** The `Content-Type` a response has until the handler sets another. */
export const DEFAULT_CONTENT_TYPE = 'text/html; charset=UTF-8';
/** The `Content-Type` of a response written as a JSON object. */
export const JSON_CONTENT_TYPE = 'application/json; charset=UTF-8';

// Control characters but tab, and anything past Latin-1 (HTTP header bytes are Latin-1):
// what node refuses in a header value or a status line's reason.
const UNSAFE_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** Whether `text` cannot go in a header value or reason phrase as it is. */
export function isUnsafeHeaderText(text: string): boolean {
  return UNSAFE_HEADER_VALUE.test(text);
}
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

// The last name and string value that passed: a handler sets the same header to the same
// constant on every request, and comparing with the last one costs less than the regex.
let lastGoodName = 'Content-Type';
let lastGoodValue = '';

/** `name` when it is a valid header token, else {@link HTTPOutputError}. */
export function checkHeaderName(name: string): string {
  if (name === lastGoodName) return name;
  if (typeof name !== 'string' || !HEADER_NAME.test(name)) {
    throw new HTTPOutputError(`Unsafe header name ${JSON.stringify(String(name))}`);
  }
  if (name.length <= 256) lastGoodName = name;
  return name;
}

/**
 * A header value as text (numbers as decimals, Dates as HTTP dates); a control character,
 * CR or LF — which could inject another header — or a character past Latin-1 is
 * {@link HTTPOutputError}.
 */
export function convertHeaderValue(value: HeaderValue): string {
  if (value === lastGoodValue) return value;
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number') text = String(value);
  else if (value instanceof Date) text = formatTimestamp(value);
  else throw new TypeError(`Unsupported header value ${String(value)}`);
  if (UNSAFE_HEADER_VALUE.test(text))
    throw new HTTPOutputError(`Unsafe header value ${JSON.stringify(text)}`);
  // (Bounded: a large value is not kept alive for the sake of the next call.)
  if (typeof value === 'string' && text.length <= 256) lastGoodValue = text;
  return text;
}

/**
 * The full header map of a response whose headers so far live in the handler's fields:
 * `Server`, `Date` and whichever of the three field-backed headers are set.
 */
export function headerMapFrom(
  contentType: string | null,
  etag: string | null,
  contentLength: string | null,
): HTTPHeaders {
  const headers = new HTTPHeaders();
  headers.set('Server', SERVER_HEADER);
  if (contentType !== null) headers.set('Content-Type', contentType);
  headers.set('Date', httpDateNow());
  if (etag !== null) headers.set('Etag', etag);
  if (contentLength !== null) headers.set('Content-Length', contentLength);
  return headers;
}

// Etags of recent small string bodies. SHA-1 through node's crypto costs about a microsecond
// per response (a call into C++ and OpenSSL); most responses of a busy server are few
// distinct bodies (a page, a JSON status), and a map hit on the string is far cheaper. Keyed
// by the body itself, so a hit is exactly the digest; emptied whenever it fills up.
const ETAG_CACHE_MAX_ENTRIES = 256;
const ETAG_CACHE_MAX_LENGTH = 1024;
const etagCache = new Map<string, string>();
let lastBody: string | undefined;
let lastEtag = '';

/** The automatic Etag of a body: its SHA-1 as quoted hex. */
export function sha1Etag(chunk: string | Buffer): string {
  if (typeof chunk === 'string' && chunk.length <= ETAG_CACHE_MAX_LENGTH) {
    // The body of the previous response first: a fresh string (a JSON document made per
    // request) has no hash yet, and comparing it costs less than hashing it for the map.
    if (chunk === lastBody) return lastEtag;
    let etag = etagCache.get(chunk);
    if (etag === undefined) {
      etag = `"${oneShotHash('sha1', chunk, 'hex')}"`;
      if (etagCache.size >= ETAG_CACHE_MAX_ENTRIES) etagCache.clear();
      etagCache.set(chunk, etag);
    }
    lastBody = chunk;
    lastEtag = etag;
    return etag;
  }
  return `"${oneShotHash('sha1', chunk, 'hex')}"`;
}
