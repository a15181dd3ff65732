/**
 * Cookie codecs: parsing a request's `Cookie` header and formatting a response's `Set-Cookie`
 * header. Both are pure (strings in, strings out) so they can be fed hostile input directly.
 *
 * Parsing follows Tornado's `parse_cookie`, which mimics what browsers do rather than any RFC.
 * Formatting follows what Tornado's `set_cookie` produces through Python's `http.cookies`
 * (same quoting, same attribute order), but refuses every name, value or attribute that could
 * smuggle a second attribute or header line — with a `TypeError`, because this layer-0 module
 * cannot see typhoon's error classes; the web layer may wrap it.
 * @module
 */

// RFC 6265 `token` characters (RFC 9110 tchar): what a cookie name may contain.
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Characters Python's `http.cookies` leaves unquoted in a value; anything else forces quotes.
const LEGAL_VALUE_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z:]*$/;
// A cookie attribute value (RFC 6265 `av-octet`): visible ASCII except `;`.
const ATTRIBUTE_RE = /^[\x21-\x3a\x3c-\x7e]+$/;
// Tornado refuses any control character or space in a name or value.
const CONTROL_OR_SPACE_RE = /[\x00-\x20]/;
// Names Python's Morsel reserves for attributes; Tornado therefore refuses them as cookie names.
const RESERVED_NAMES = new Set([
  'expires',
  'path',
  'comment',
  'domain',
  'max-age',
  'secure',
  'httponly',
  'version',
  'samesite',
]);
const SAME_SITE: Readonly<Record<string, string>> = { strict: 'Strict', lax: 'Lax', none: 'None' };

/**
 * Parses a `Cookie` request header into a prototype-free map of name → value.
 *
 * The header is split on `;`; each piece is split at its first `=` into name and value (a
 * piece without `=` is a value whose name is the empty string, as browsers treat it); both are
 * trimmed, pieces with neither name nor value are skipped, a later duplicate name wins, and a
 * value wrapped in double quotes is unquoted (`\"` → `"`, `\\` → `\`, `\012` → newline).
 * Never throws, and runs in time linear in the header's length whatever it contains (Python's
 * old unquoting was quadratic on runs of backslashes).
 *
 * Tornado: `tornado.httputil.parse_cookie`.
 *
 * @example
 * ```ts
 * parseCookieHeader('a=1; b="x\\"y"; lonely');
 * // → { a: '1', b: 'x"y', '': 'lonely' }
 * ```
 */
export function parseCookieHeader(header: string): Record<string, string> {
  const cookies: Record<string, string> = Object.create(null) as Record<string, string>;
  let start = 0;
  const length = header.length;
  // The next `=` at or after `start`, searched for again only once `start` has passed it: a
  // fresh search per piece would rescan the same run of `;` again and again (quadratic).
  let eq = -2;
  while (start <= length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = length;
    if (eq !== -1 && eq < start) eq = header.indexOf('=', start);
    let name: string;
    let value: string;
    if (eq !== -1 && eq < end) {
      name = header.slice(start, eq).trim();
      value = header.slice(eq + 1, end).trim();
    } else {
      name = '';
      value = header.slice(start, end).trim();
    }
    if (name !== '' || value !== '') cookies[name] = unquoteCookieValue(value);
    start = end + 1;
  }
  return cookies;
}

/**
 * Removes the double quotes around a cookie value and undoes its backslash escapes, in one
 * linear pass: `\ooo` (three octal digits, first 0–3) is that character, a backslash before any
 * other character except a newline stands for that character. A value that is not wrapped in
 * quotes is returned unchanged.
 *
 * Tornado: `tornado.httputil._unquote_cookie`.
 *
 * @example
 * ```ts
 * unquoteCookieValue('"a\\073b"'); // → 'a;b'
 * ```
 */
export function unquoteCookieValue(value: string): string {
  if (value.length < 2 || value[0] !== '"' || value[value.length - 1] !== '"') return value;
  const inner = value.slice(1, -1);
  let backslash = inner.indexOf('\\');
  if (backslash === -1) return inner;
  const out: string[] = [];
  let copied = 0;
  while (backslash !== -1) {
    out.push(inner.slice(copied, backslash));
    const next = inner.charCodeAt(backslash + 1);
    if (isOctalEscape(inner, backslash + 1)) {
      out.push(String.fromCharCode(parseInt(inner.slice(backslash + 1, backslash + 4), 8)));
      copied = backslash + 4;
    } else if (Number.isNaN(next) || next === 0x0a) {
      // A trailing backslash, or one before a newline, is not an escape: keep it literally.
      out.push('\\');
      copied = backslash + 1;
    } else {
      out.push(inner[backslash + 1] as string);
      copied = backslash + 2;
    }
    backslash = inner.indexOf('\\', copied);
  }
  out.push(inner.slice(copied));
  return out.join('');
}

function isOctalEscape(s: string, at: number): boolean {
  const a = s.charCodeAt(at);
  const b = s.charCodeAt(at + 1);
  const c = s.charCodeAt(at + 2);
  return a >= 0x30 && a <= 0x33 && b >= 0x30 && b <= 0x37 && c >= 0x30 && c <= 0x37;
}

/**
 * Quotes a cookie value the way Python's `http.cookies` does: a value made only of token
 * characters (and `:`) is returned as it is; anything else is wrapped in double quotes with
 * `"` and `\` backslash-escaped and `,`, `;`, DEL and bytes 0x80–0xFF written as `\ooo` octal
 * escapes. Characters above U+00FF cannot travel in a header: encode them first (e.g. with
 * `encodeURIComponent`); they are refused with a `TypeError`, as are control characters and
 * spaces, which Tornado refuses too.
 *
 * Tornado: `http.cookies._quote` as used by `RequestHandler.set_cookie`.
 *
 * @example
 * ```ts
 * quoteCookieValue('abc');   // → 'abc'
 * quoteCookieValue('a,b/c'); // → '"a\\054b/c"'
 * ```
 */
export function quoteCookieValue(value: string): string {
  if (LEGAL_VALUE_RE.test(value)) return value;
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code <= 0x20) throw new TypeError(`Invalid cookie value ${JSON.stringify(value)}`);
    if (code > 0xff) {
      throw new TypeError(
        `Cookie value ${JSON.stringify(value)} has a character above U+00FF; encode it first`,
      );
    }
    if (code === 0x22 || code === 0x5c) out += '\\' + value[i];
    else if (code === 0x2c || code === 0x3b || code >= 0x7f) {
      out += '\\' + code.toString(8).padStart(3, '0');
    } else out += value[i];
  }
  return out + '"';
}

/** Options of {@link formatSetCookie} (the attributes of one `Set-Cookie` header). */
export interface SetCookieOptions {
  /** `Domain` attribute; omitted when empty. */
  domain?: string | null;
  /** `Path` attribute; default `/`; omitted when empty or null. */
  path?: string | null;
  /** Absolute expiry (`expires` attribute); wins over `expiresDays`. */
  expires?: Date | null;
  /** Expiry as days from now (fractions allowed), used when `expires` is not given. */
  expiresDays?: number | null;
  /** `Max-Age` in milliseconds, written in whole seconds (rounded down). */
  maxAge?: number | null;
  /** Adds the `Secure` flag. */
  secure?: boolean;
  /** Adds the `HttpOnly` flag. */
  httpOnly?: boolean;
  /** `SameSite` attribute: `Strict`, `Lax` or `None` (any case; written capitalised). */
  sameSite?: 'Strict' | 'Lax' | 'None' | 'strict' | 'lax' | 'none' | null;
}

/**
 * Builds the value of one `Set-Cookie` header.
 *
 * The output matches what Tornado sends for the same call — `name=value` (value quoted as
 * {@link quoteCookieValue} does), then `Domain`, `expires`, `HttpOnly`, `Max-Age`, `Path`,
 * `SameSite`, `Secure` in that order — e.g. `sid=abc; expires=Wed, 21 Oct 2026 07:28:00 GMT;
 * HttpOnly; Path=/`. Anything that could inject another attribute or header is refused with a
 * `TypeError` and nothing is produced: a name that is not an RFC 6265 token or is an attribute
 * name (`path`, `expires`, …), a value with a control character or space, a `domain`/`path`
 * with `;`, spaces or control characters, an unknown `sameSite`, a non-finite `maxAge` or
 * `expiresDays`, an invalid `expires` date.
 *
 * `nowMs` is the clock used for `expiresDays` (default `Date.now()`).
 *
 * Tornado: `tornado.web.RequestHandler.set_cookie` (the header it produces).
 *
 * @example
 * ```ts
 * formatSetCookie('sid', 'abc', { httpOnly: true, sameSite: 'lax', maxAge: 3_600_000 });
 * // → 'sid=abc; HttpOnly; Max-Age=3600; Path=/; SameSite=Lax'
 * ```
 */
export function formatSetCookie(
  name: string,
  value: string,
  options: SetCookieOptions = {},
  nowMs: number = Date.now(),
): string {
  if (typeof name !== 'string' || !TOKEN_RE.test(name) || RESERVED_NAMES.has(name.toLowerCase())) {
    throw new TypeError(`Invalid cookie name ${JSON.stringify(name)}`);
  }
  if (typeof value !== 'string' || CONTROL_OR_SPACE_RE.test(value)) {
    throw new TypeError(`Invalid cookie value ${JSON.stringify(value)}`);
  }
  let header = `${name}=${quoteCookieValue(value)}`;
  const { domain, path = '/', expires, expiresDays, maxAge, secure, httpOnly, sameSite } = options;
  if (domain) header += `; Domain=${checkAttribute('domain', domain)}`;
  let expiry: Date | null = null;
  if (expires != null) {
    if (!(expires instanceof Date) || Number.isNaN(expires.getTime())) {
      throw new TypeError('Cookie expires must be a valid Date');
    }
    expiry = expires;
  } else if (expiresDays != null) {
    if (typeof expiresDays !== 'number' || !Number.isFinite(expiresDays)) {
      throw new TypeError(`Invalid cookie expiresDays ${String(expiresDays)}`);
    }
    expiry = new Date(nowMs + expiresDays * 86_400_000);
    if (Number.isNaN(expiry.getTime())) throw new TypeError('Cookie expiry out of range');
  }
  if (expiry !== null) header += `; expires=${expiry.toUTCString()}`;
  if (httpOnly) header += '; HttpOnly';
  if (maxAge != null) {
    if (typeof maxAge !== 'number' || !Number.isFinite(maxAge)) {
      throw new TypeError(`Invalid cookie maxAge ${String(maxAge)}`);
    }
    header += `; Max-Age=${Math.floor(maxAge / 1000)}`;
  }
  if (path) header += `; Path=${checkAttribute('path', path)}`;
  if (sameSite != null) {
    const canonical = typeof sameSite === 'string' ? SAME_SITE[sameSite.toLowerCase()] : undefined;
    if (canonical === undefined) {
      throw new TypeError(`Invalid cookie sameSite ${JSON.stringify(sameSite)}`);
    }
    header += `; SameSite=${canonical}`;
  }
  if (secure) header += '; Secure';
  return header;
}

function checkAttribute(which: string, value: unknown): string {
  if (typeof value !== 'string' || !ATTRIBUTE_RE.test(value)) {
    throw new TypeError(`Invalid cookie ${which} ${JSON.stringify(value)}`);
  }
  return value;
}
