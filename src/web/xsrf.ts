/**
 * XSRF (cross-site request forgery) tokens in Tornado's formats, as pure functions over strings
 * and Buffers; `RequestHandler.xsrfToken` / `checkXsrfCookie` are thin wrappers around them.
 *
 * The secret is 16 random bytes kept in the `_xsrf` cookie. What pages embed (and what the
 * cookie holds) is the version-2 masked form, a fresh random mask each time it is rendered so
 * that compressed pages do not leak it (BREACH):
 * ```
 * 2|<4-byte mask, hex>|<token XOR mask, hex>|<unix seconds when the token was made>
 * ```
 * Version 1 was the bare token in hex; it is still read.
 * @module
 */
import { Buffer } from 'node:buffer';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { escapeHtml } from './html.ts';

/** The decoded `_xsrf` secret: Tornado's `_get_raw_xsrf_token` tuple. */
export interface RawXsrfToken {
  /**
   * Format it was read in, or `null` when it was just generated — then the handler must send
   * it to the browser in a new `_xsrf` cookie.
   */
  version: 1 | 2 | null;
  /** The secret bytes (16 random bytes for a generated token). */
  token: Buffer;
  /** Unix time in seconds when it was made (for version 1: now, as Tornado has no better). */
  timestamp: number;
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;
const DIGITS_RE = /^[0-9]+$/;
const VERSIONED_RE = /^([1-9][0-9]*)\|/;

/**
 * Makes a new random XSRF secret (16 bytes), stamped with `clock()` (milliseconds; default
 * `Date.now`). Its `version` is `null`: it still has to be sent in a cookie.
 *
 * Tornado: the generating branch of `RequestHandler._get_raw_xsrf_token`.
 *
 * @example
 * ```ts
 * const raw = newXsrfToken(); // { version: null, token: <16 bytes>, timestamp: 1700000000 }
 * ```
 */
export function newXsrfToken(clock: () => number = Date.now): RawXsrfToken {
  return { version: null, token: randomBytes(16), timestamp: Math.floor(clock() / 1000) };
}

/**
 * Decodes an XSRF value (a cookie, a form field or a header) into its secret, or `null` when it
 * is unusable: an unknown version, a version-2 value that is not exactly four `|`-separated
 * fields with a 4-byte hex mask, even-length hex and a decimal timestamp. A value in no known
 * format is a version-1 token: its hex decoding, or its UTF-8 bytes when it is not hex, as
 * Tornado reads it. Never throws.
 *
 * Tornado: `RequestHandler._decode_xsrf_token`.
 *
 * @example
 * ```ts
 * decodeXsrfToken('2|0a0b0c0d|1b2c…|1700000000')?.token; // the unmasked secret
 * decodeXsrfToken('3|x'); // → null
 * ```
 */
export function decodeXsrfToken(
  value: string | null | undefined,
  clock: () => number = Date.now,
): RawXsrfToken | null {
  if (typeof value !== 'string') return null;
  const m = VERSIONED_RE.exec(value);
  if (m === null) {
    const token = HEX_RE.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'utf8');
    return { version: 1, token, timestamp: Math.floor(clock() / 1000) };
  }
  if (m[1] !== '2') return null;
  const fields = value.split('|');
  if (fields.length !== 4) return null;
  const [, maskHex, maskedHex, timestamp] = fields as [string, string, string, string];
  if (maskHex.length !== 8 || !HEX_RE.test(maskHex) || !HEX_RE.test(maskedHex)) return null;
  if (!DIGITS_RE.test(timestamp) || timestamp.length > 15) return null;
  const token = applyMask(Buffer.from(maskHex, 'hex'), Buffer.from(maskedHex, 'hex'));
  return { version: 2, token, timestamp: Number(timestamp) };
}

/**
 * Reads the secret from the request's `_xsrf` cookie, or makes a new one when the cookie is
 * missing or unusable (then `version` is `null` and the handler must set the cookie to
 * `encodeXsrfToken(raw)`).
 *
 * Tornado: `RequestHandler._get_raw_xsrf_token`.
 *
 * @example
 * ```ts
 * const raw = readXsrfCookie(handler.getCookie('_xsrf'));
 * if (raw.version === null) handler.setCookie('_xsrf', encodeXsrfToken(raw));
 * ```
 */
export function readXsrfCookie(
  cookieValue: string | null | undefined,
  clock: () => number = Date.now,
): RawXsrfToken {
  const decoded = cookieValue ? decodeXsrfToken(cookieValue, clock) : null;
  return decoded !== null && decoded.token.length > 0 ? decoded : newXsrfToken(clock);
}

/** Options of {@link encodeXsrfToken}. */
export interface EncodeXsrfTokenOptions {
  /** Output format: 2 (masked, default) or 1 (bare hex, Tornado's `xsrf_cookie_version=1`). */
  version?: 1 | 2;
  /** The 4-byte mask (default: random); fixed masks are for tests. */
  mask?: Buffer;
}

/**
 * Encodes a secret for a page or cookie: by default the version-2 masked form with a fresh
 * random mask, so every rendering differs while all of them verify.
 *
 * Tornado: the `xsrf_token` property's formatting.
 *
 * @example
 * ```ts
 * const token = encodeXsrfToken(readXsrfCookie(cookie)); // '2|5f1c09aa|…|1700000000'
 * ```
 */
export function encodeXsrfToken(raw: RawXsrfToken, options: EncodeXsrfTokenOptions = {}): string {
  const { version = 2, mask = randomBytes(4) } = options;
  if (version === 1) return raw.token.toString('hex');
  if (version !== 2) throw new TypeError(`Unknown xsrf token version ${String(version)}`);
  if (mask.length !== 4) throw new TypeError('An xsrf mask is 4 bytes');
  const masked = applyMask(mask, raw.token);
  return `2|${mask.toString('hex')}|${masked.toString('hex')}|${Math.floor(raw.timestamp)}`;
}

/**
 * Picks the submitted XSRF value in Tornado's order: the `_xsrf` argument, then the
 * `X-XSRFToken` header, then `X-CSRFToken` (Django's name); empty values are skipped.
 *
 * Tornado: the first lines of `RequestHandler.check_xsrf_cookie`.
 *
 * @example
 * ```ts
 * const submitted = xsrfSubmission(
 *   handler.getArgument('_xsrf', null),
 *   request.headers.get('X-Xsrftoken'),
 *   request.headers.get('X-Csrftoken'),
 * );
 * ```
 */
export function xsrfSubmission(
  argument: string | null | undefined,
  xsrfHeader?: string | null,
  csrfHeader?: string | null,
): string | null {
  return argument || xsrfHeader || csrfHeader || null;
}

/**
 * Compares a submitted XSRF value with the secret from the cookie (see {@link readXsrfCookie})
 * in constant time. Returns `null` when they match, or the reason to log with the 403:
 * `"'_xsrf' argument missing from POST"`, `"'_xsrf' argument has invalid format"` or
 * `"XSRF cookie does not match POST argument"`.
 *
 * Tornado: `RequestHandler.check_xsrf_cookie`.
 *
 * @example
 * ```ts
 * const failure = checkXsrfToken(submitted, readXsrfCookie(cookie).token);
 * if (failure !== null) throw new HTTPError(403, failure);
 * ```
 */
export function checkXsrfToken(
  submitted: string | null | undefined,
  expected: Buffer,
): string | null {
  if (!submitted) return "'_xsrf' argument missing from POST";
  const decoded = decodeXsrfToken(submitted);
  if (decoded === null || decoded.token.length === 0) return "'_xsrf' argument has invalid format";
  const ok = decoded.token.length === expected.length && timingSafeEqual(decoded.token, expected);
  return ok ? null : 'XSRF cookie does not match POST argument';
}

/**
 * The hidden form field carrying the token, HTML-escaped.
 *
 * Tornado: `RequestHandler.xsrf_form_html`.
 *
 * @example
 * ```ts
 * xsrfFormHtml('2|ab|cd|1'); // → '<input type="hidden" name="_xsrf" value="2|ab|cd|1"/>'
 * ```
 */
export function xsrfFormHtml(token: string): string {
  return `<input type="hidden" name="_xsrf" value="${escapeHtml(token)}"/>`;
}

// XOR with a repeating 4-byte mask (the WebSocket masking Tornado reuses for this).
function applyMask(mask: Buffer, data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(data.length);
  for (let i = 0; i < data.length; i++) out[i] = (data[i] as number) ^ (mask[i & 3] as number);
  return out;
}
