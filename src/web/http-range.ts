/**
 * Request preconditions for serving files: the `Range` header, `If-None-Match` and
 * `If-Modified-Since`, with Tornado's `StaticFileHandler` semantics. Pure functions of header
 * strings and numbers; nothing here touches a socket or a file.
 *
 * Tornado serves one range at most: a multi-range request (`bytes=0-1,5-6`) does not parse, and
 * like every unparsable `Range` it is ignored (the whole file, 200), as RFC 9110 allows.
 * @module
 */

/**
 * A parsed `Range` header in Tornado's slice form: `start` is inclusive, `end` exclusive;
 * a negative `start` counts from the end of the file (`bytes=-500` → `{start: -500, end:
 * null}`); `end: 0` with `start: null` is the unsatisfiable `bytes=-0`.
 */
export interface ByteRange {
  start: number | null;
  end: number | null;
}

const DIGITS_RE = /^[0-9]*$/;

/**
 * Parses a `Range` header. Returns `null` when it must be ignored: another unit than `bytes`,
 * several ranges, or anything that is not `first-last`, `first-` or `-suffix` in decimal
 * (signs, spaces inside numbers and other garbage included). Numbers beyond 2^53 are clamped,
 * which keeps their meaning ("past the end").
 *
 * Tornado: `tornado.httputil._parse_request_range`.
 *
 * @example
 * ```ts
 * parseRangeHeader('bytes=1-2');   // → { start: 1, end: 3 }
 * parseRangeHeader('bytes=-6');    // → { start: -6, end: null }
 * parseRangeHeader('bytes=0-1,5-6'); // → null (ignored)
 * ```
 */
export function parseRangeHeader(header: string): ByteRange | null {
  const eq = header.indexOf('=');
  const unit = (eq === -1 ? header : header.slice(0, eq)).trim();
  if (unit !== 'bytes') return null;
  const value = eq === -1 ? '' : header.slice(eq + 1).trim();
  const dash = value.indexOf('-');
  const first = (dash === -1 ? value : value.slice(0, dash)).trim();
  const last = dash === -1 ? '' : value.slice(dash + 1).trim();
  if (!DIGITS_RE.test(first) || !DIGITS_RE.test(last)) return null;
  let start = first === '' ? null : toSafeInteger(first);
  let end = last === '' ? null : toSafeInteger(last);
  if (end !== null) {
    if (start === null) {
      if (end !== 0) {
        start = -end;
        end = null;
      }
    } else {
      end += 1;
    }
  }
  return { start, end };
}

function toSafeInteger(digits: string): number {
  const n = digits.length > 15 ? Number.MAX_SAFE_INTEGER : Number(digits);
  return Math.min(n, Number.MAX_SAFE_INTEGER - 1);
}

/** What to send for a request on a resource of known size; see {@link resolveRange}. */
export type RangeResolution =
  /** The whole resource: no usable Range, or one covering everything. */
  | { status: 200; start: number; end: number; contentLength: number }
  /** Part of it: bytes `start` (inclusive) to `end` (exclusive), with its `Content-Range`. */
  | { status: 206; start: number; end: number; contentLength: number; contentRange: string }
  /** Nothing can be sent: answer 416 with this `Content-Range` (`bytes *\/size`). */
  | { status: 416; contentRange: string };

/**
 * Decides the answer to a `Range` header (raw, or `undefined`/`null` when absent) for a
 * resource of `size` bytes, exactly as Tornado's `StaticFileHandler.get` does: a suffix longer
 * than the file means the whole file; a start at or past the end, a last position before the
 * first (`bytes=5-2`) or `bytes=-0` is 416; an end past the file is cut at the file; a range
 * that covers the whole file answers 200, not 206 (Chrome refuses to play audio otherwise).
 *
 * Tornado: `tornado.web.StaticFileHandler.get` (its range handling).
 *
 * @example
 * ```ts
 * const r = resolveRange(request.headers.get('Range'), stat.size);
 * if (r.status === 416) { setStatus(416); setHeader('Content-Range', r.contentRange); return; }
 * if (r.status === 206) { setStatus(206); setHeader('Content-Range', r.contentRange); }
 * setHeader('Content-Length', r.contentLength); // then stream bytes r.start .. r.end - 1
 * ```
 */
export function resolveRange(header: string | null | undefined, size: number): RangeResolution {
  const range = header ? parseRangeHeader(header) : null;
  if (range === null) return { status: 200, start: 0, end: size, contentLength: size };
  let { start, end } = range;
  if (start !== null && start < 0) start = Math.max(0, start + size);
  if ((start !== null && (start >= size || (end !== null && start >= end))) || end === 0) {
    return { status: 416, contentRange: `bytes */${size}` };
  }
  if (end !== null && end > size) end = size;
  const from = start ?? 0;
  const to = end ?? size;
  if (to - from === size) return { status: 200, start: 0, end: size, contentLength: size };
  return {
    status: 206,
    start: from,
    end: to,
    contentLength: to - from,
    contentRange: formatContentRange(from, to, size),
  };
}

/**
 * The `Content-Range` value for bytes `start` (inclusive) to `end` (exclusive) of `total`.
 *
 * Tornado: `tornado.httputil._get_content_range`.
 *
 * @example
 * ```ts
 * formatContentRange(1, 3, 4); // → 'bytes 1-2/4'
 * ```
 */
export function formatContentRange(start: number, end: number, total: number): string {
  return `bytes ${start}-${end - 1}/${total}`;
}

const MONTHS: Readonly<Record<string, number>> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
};
const DAY_NAME = '(?:[A-Za-z]{3,9},?\\s+)?';
const TIME = '(\\d{1,2}):(\\d{2}):(\\d{2})';
// IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT` and RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT`.
const RFC1123_RE = new RegExp(
  `^${DAY_NAME}(\\d{1,2})[\\s-]+([A-Za-z]{3})[\\s-]+(\\d{2}|\\d{4})\\s+${TIME}(?:\\s+(?:GMT|UTC|UT|Z|[+-]0000))?$`,
);
// asctime `Sun Nov  6 08:49:37 1994`.
const ASCTIME_RE = new RegExp(`^${DAY_NAME}([A-Za-z]{3})\\s+(\\d{1,2})\\s+${TIME}\\s+(\\d{4})$`);

// A date regex's seven groups: the whole match and six fields, in the format's order.
type DateFields = [string, string, string, string, string, string, string];

/**
 * Parses an HTTP date (the three formats of RFC 9110: IMF-fixdate, RFC 850 and asctime; GMT)
 * into milliseconds since the epoch, or `null` for anything else — including impossible dates
 * like 30 February, which make Python's `datetime` raise and Tornado answer 500.
 *
 * Tornado: `email.utils.parsedate` as used by `StaticFileHandler.should_return_304`.
 *
 * @example
 * ```ts
 * parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'); // → 784111777000
 * parseHttpDate('yesterday'); // → null
 * ```
 */
export function parseHttpDate(value: string | null | undefined): number | null {
  if (typeof value !== 'string' || value.length > 64) return null;
  const text = value.trim();
  let day: string, month: string, year: string, hh: string, mm: string, ss: string;
  let m = RFC1123_RE.exec(text);
  if (m !== null) {
    [, day, month, year, hh, mm, ss] = m as unknown as DateFields;
  } else {
    m = ASCTIME_RE.exec(text);
    if (m === null) return null;
    [, month, day, hh, mm, ss, year] = m as unknown as DateFields;
  }
  const mon = MONTHS[month.toLowerCase()];
  if (mon === undefined) return null;
  let y = Number(year);
  // Two-digit years as Python's email.utils reads them.
  if (year.length === 2) y += y > 68 ? 1900 : 2000;
  const d = Number(day);
  const h = Number(hh);
  const mi = Number(mm);
  const s = Math.min(Number(ss), 59); // a leap second counts as :59
  if (d < 1 || h > 23 || mi > 59 || Number(ss) > 60) return null;
  const ms = Date.UTC(y, mon, d, h, mi, s);
  // Date.UTC rolls 30 February over into March; an impossible date is refused instead.
  if (new Date(ms).getUTCDate() !== d) return null;
  return ms;
}

/**
 * Whether an `If-None-Match` header matches an entity tag: `*` as its first element matches
 * anything; otherwise each listed tag is compared weakly (a `W/` prefix is ignored on both
 * sides). No header, no tags in it, or no etag → `false`. Linear in the header's length.
 *
 * Tornado: `tornado.web.RequestHandler.check_etag_header`.
 *
 * @example
 * ```ts
 * etagMatches('W/"abc", "def"', '"abc"'); // → true
 * ```
 */
export function etagMatches(
  ifNoneMatch: string | null | undefined,
  etag: string | null | undefined,
): boolean {
  if (!ifNoneMatch || !etag) return false;
  const ours = stripWeak(etag);
  let first = true;
  let i = 0;
  const n = ifNoneMatch.length;
  // Scan for `*`, `"…"` or `W/"…"` anywhere, skipping what is between them, as a regex
  // `findall` would; each character is looked at a bounded number of times.
  while (i < n) {
    const c = ifNoneMatch.charCodeAt(i);
    if (c === 0x2a /* * */) {
      if (first) return true;
      first = false;
      i++;
      continue;
    }
    let open = -1;
    if (c === 0x22 /* " */) open = i;
    else if (c === 0x57 /* W */ && ifNoneMatch.startsWith('/"', i + 1)) open = i + 2;
    if (open === -1) {
      i++;
      continue;
    }
    const close = ifNoneMatch.indexOf('"', open + 1);
    // No closing quote: no tag can follow, only a `*`, which counts only if nothing came first.
    if (close === -1) return first && ifNoneMatch.includes('*', i + 1);
    if (ifNoneMatch.slice(open, close + 1) === ours) return true;
    first = false;
    i = close + 1;
  }
  return false;
}

function stripWeak(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

/** Inputs of {@link isNotModified}. */
export interface ConditionalRequest {
  /** The request's `If-None-Match` header. */
  ifNoneMatch?: string | null;
  /** The request's `If-Modified-Since` header. */
  ifModifiedSince?: string | null;
  /** The response's entity tag (with its quotes, e.g. `"abc"`). */
  etag?: string | null;
  /** The resource's modification time in milliseconds (compared in whole seconds). */
  modifiedMs?: number | null;
}

/**
 * Whether a conditional GET can be answered 304 Not Modified: when `If-None-Match` is present,
 * only it decides ({@link etagMatches}); otherwise a valid `If-Modified-Since` at or after the
 * modification time (truncated to whole seconds, as HTTP dates are) means 304. An invalid date
 * is ignored.
 *
 * Tornado: `tornado.web.StaticFileHandler.should_return_304`.
 *
 * @example
 * ```ts
 * if (isNotModified({ ifNoneMatch, ifModifiedSince, etag, modifiedMs: stat.mtimeMs })) {
 *   setStatus(304);
 * }
 * ```
 */
export function isNotModified(request: ConditionalRequest): boolean {
  if (request.ifNoneMatch) return etagMatches(request.ifNoneMatch, request.etag);
  if (request.modifiedMs == null) return false;
  const since = parseHttpDate(request.ifModifiedSince);
  if (since === null) return false;
  return since >= Math.floor(request.modifiedMs / 1000) * 1000;
}
