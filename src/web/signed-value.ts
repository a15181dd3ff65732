/**
 * Signed, timestamped values in Tornado's format, so a cookie signed by Python Tornado verifies
 * here and the reverse. Pure: `node:crypto` only.
 *
 * Format version 2 (the default), all fields `|`-separated, lengths in decimal bytes:
 * ```
 * 2|<len>:<key version>|<len>:<unix seconds>|<len>:<name>|<len>:<base64 value>|<hex HMAC-SHA256>
 * 2|1:0|10:1700000000|3:uid|8:dmFsdWU=|6c0f…
 * ```
 * The HMAC-SHA256 (keyed by the secret for the key version) covers everything before it,
 * including the last `|`. Version 1 (decoded for compatibility, as Tornado still accepts it by
 * default) is `<base64 value>|<unix seconds>|<hex HMAC-SHA1 of name + value + timestamp>`.
 * @module
 */
import { Buffer } from 'node:buffer';
import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * A cookie secret: one key, or key rotation as a map of key version → key (an object with
 * numeric keys or a `Map`). With a map, values are signed with the key `keyVersion` names, and
 * the `key version` field of a value picks the key that verifies it.
 */
export type SignedValueSecret =
  | string
  | Buffer
  | Readonly<Record<number, string | Buffer>>
  | ReadonlyMap<number, string | Buffer>;

/** Options of {@link createSignedValue}. */
export interface CreateSignedValueOptions {
  /** Format version: 2 (default) or 1 (legacy; no key rotation). */
  version?: 1 | 2;
  /** Clock in milliseconds since the epoch (default `Date.now`); written in whole seconds. */
  clock?: () => number;
  /** The key to sign with when `secret` is a map (required then); default 0 otherwise. */
  keyVersion?: number;
}

/** Options of {@link decodeSignedValue}. */
export interface DecodeSignedValueOptions {
  /** Oldest acceptable signature age in days (default 31, as Tornado's `max_age_days`). */
  maxAgeDays?: number;
  /** Clock in milliseconds since the epoch (default `Date.now`). */
  clock?: () => number;
  /** Refuse values of an older format version (default 1: both 1 and 2 are accepted). */
  minVersion?: 1 | 2;
}

const DAY_SECONDS = 86_400;
// A signature dated more than this far ahead of our clock is refused. Tornado checks this only
// for version 1 (where digits can move from the value into the timestamp without changing the
// signature); typhoon checks it for version 2 as well, so no value is trusted for far longer
// than `maxAgeDays` because its signer's clock was wrong or it was minted to outlive a rotation.
const FUTURE_TOLERANCE_SECONDS = 31 * DAY_SECONDS;
const DIGITS_RE = /^[0-9]+$/;
// A leading version number in decimal without leading zeros, then a pipe (Tornado's rule).
const VERSION_RE = /^([1-9][0-9]*)\|/;

/**
 * Signs and timestamps `value` under `name` so it cannot be forged or moved to another name.
 * Returns the signed string (ASCII), ready to be a cookie value.
 *
 * `value` is UTF-8 encoded (a Buffer is taken as it is) and base64-encoded. With a map of
 * secrets, `keyVersion` is required and picks the signing key. Throws a `TypeError` for a
 * missing or unknown key version or an unsupported format version — these are programming
 * errors, not input errors.
 *
 * The name's length prefix counts bytes, which is what Tornado's decoder reads (Tornado's own
 * encoder counts characters, so only ASCII names interoperate with it; names are meant to be
 * ASCII).
 *
 * Tornado: `tornado.web.create_signed_value`.
 *
 * @example
 * ```ts
 * const signed = createSignedValue('s3cret', 'uid', '42');
 * decodeSignedValue('s3cret', 'uid', signed); // → '42'
 * const rotated = createSignedValue({ 0: 'old', 1: 'new' }, 'uid', '42', { keyVersion: 1 });
 * ```
 */
export function createSignedValue(
  secret: SignedValueSecret,
  name: string,
  value: string | Buffer,
  options: CreateSignedValueOptions = {},
): string {
  const { version = 2, clock = Date.now, keyVersion } = options;
  const timestamp = String(Math.floor(clock() / 1000));
  const encoded = Buffer.from(value).toString('base64');
  if (version === 1) {
    const key = singleSecret(secret);
    if (key === null) throw new TypeError('Signed value version 1 does not support key maps');
    return `${encoded}|${timestamp}|${hmacHex('sha1', key, byteString(name) + encoded + timestamp)}`;
  }
  if (version !== 2) throw new TypeError(`Unsupported signed value version ${String(version)}`);
  let key = singleSecret(secret);
  if (key === null) {
    if (keyVersion === undefined) {
      throw new TypeError('keyVersion is required when the secret is a map of key versions');
    }
    key = lookupKey(secret, keyVersion);
    if (key === null) throw new TypeError(`No secret for key version ${keyVersion}`);
  }
  const kv = String(keyVersion ?? 0);
  if (!DIGITS_RE.test(kv)) throw new TypeError(`Invalid key version ${kv}`);
  const toSign = `2|${field(kv)}|${field(timestamp)}|${field(byteString(name))}|${field(encoded)}|`;
  return toSign + hmacHex('sha256', key, toSign);
}

/**
 * Verifies a value made by {@link createSignedValue} (or by Python Tornado with the same
 * secret) and returns what was signed, decoded as UTF-8 — or `null` when anything is wrong:
 * a missing or malformed value, a bad or wrong-length signature, a value signed for another
 * name, an unknown key version, a timestamp older than `maxAgeDays` or more than 31 days in the
 * future, or a format older than `minVersion`. It never throws on bad input; the signature is
 * compared in constant time.
 *
 * Tornado: `tornado.web.decode_signed_value`.
 *
 * @example
 * ```ts
 * const uid = decodeSignedValue(settings.cookieSecret, 'uid', cookieValue, { maxAgeDays: 7 });
 * if (uid === null) throw new HTTPError(403);
 * ```
 */
export function decodeSignedValue(
  secret: SignedValueSecret,
  name: string,
  value: string | Buffer | null | undefined,
  options: DecodeSignedValueOptions = {},
): string | null {
  const bytes = decodeSignedValueBytes(secret, name, value, options);
  return bytes === null ? null : bytes.toString('utf8');
}

/**
 * {@link decodeSignedValue}, returning the signed bytes as a Buffer (Tornado returns bytes).
 *
 * Tornado: `tornado.web.decode_signed_value`.
 *
 * @example
 * ```ts
 * const raw = decodeSignedValueBytes(secret, 'blob', signed); // Buffer | null
 * ```
 */
export function decodeSignedValueBytes(
  secret: SignedValueSecret,
  name: string,
  value: string | Buffer | null | undefined,
  options: DecodeSignedValueOptions = {},
): Buffer | null {
  const { maxAgeDays = 31, clock = Date.now, minVersion = 1 } = options;
  if (value === null || value === undefined || value.length === 0) return null;
  if (minVersion !== 1 && minVersion !== 2) return null;
  const text = typeof value === 'string' ? stringAsBytes(value) : value.toString('latin1');
  const version = signedValueVersion(text);
  if (version < minVersion) return null;
  const nowSeconds = clock() / 1000;
  try {
    if (version === 1) return decodeV1(secret, name, text, maxAgeDays, nowSeconds);
    if (version === 2) return decodeV2(secret, name, text, maxAgeDays, nowSeconds);
  } catch {
    // Defensive: nothing above should throw on any input, but a verifier must fail closed.
  }
  return null;
}

/**
 * The key version a signed value claims (the field that picks the key in a rotation), or
 * `null` for a version-1 or malformed value. Not verified: use it to decide whether to re-sign
 * a value with the newest key after {@link decodeSignedValue} accepted it.
 *
 * Tornado: `tornado.web.get_signature_key_version`.
 *
 * @example
 * ```ts
 * if (getSignatureKeyVersion(cookie) !== currentKeyVersion) resignCookie();
 * ```
 */
export function getSignatureKeyVersion(value: string | Buffer): number | null {
  const text = typeof value === 'string' ? stringAsBytes(value) : value.toString('latin1');
  if (signedValueVersion(text) !== 2) return null;
  const fields = splitV2(text);
  return fields === null ? null : fields.keyVersion;
}

function signedValueVersion(text: string): number {
  const m = VERSION_RE.exec(text);
  if (m === null) return 1;
  // A version-1 value starts with arbitrary base64, which may look like a number; base64
  // padding rules mean such a run is a multiple of 4 long, so 1–3 digits are a real version.
  const v = Number(m[1]);
  return v > 999 ? 1 : v;
}

function decodeV1(
  secret: SignedValueSecret,
  name: string,
  text: string,
  maxAgeDays: number,
  now: number,
): Buffer | null {
  const key = singleSecret(secret);
  if (key === null) return null;
  const parts = text.split('|');
  if (parts.length !== 3) return null;
  const [encoded, timestamp, signature] = parts as [string, string, string];
  const expected = hmacHex('sha1', key, byteString(name) + encoded + timestamp);
  if (!safeEqualAscii(signature, expected)) return null;
  // Version 1 signs name+value+timestamp without separators, so trailing digits of the value
  // can be moved into the timestamp: refuse leading zeros and far-future timestamps.
  if (!DIGITS_RE.test(timestamp) || timestamp.startsWith('0')) return null;
  const ts = Number(timestamp);
  if (ts < now - maxAgeDays * DAY_SECONDS || ts > now + FUTURE_TOLERANCE_SECONDS) return null;
  return Buffer.from(encoded, 'base64');
}

interface V2Fields {
  keyVersion: number;
  timestamp: string;
  name: string;
  value: string;
  signature: string;
  signed: string;
}

function decodeV2(
  secret: SignedValueSecret,
  name: string,
  text: string,
  maxAgeDays: number,
  now: number,
): Buffer | null {
  const fields = splitV2(text);
  if (fields === null) return null;
  let key = singleSecret(secret);
  if (key === null) key = lookupKey(secret, fields.keyVersion);
  if (key === null) return null;
  if (!safeEqualAscii(fields.signature, hmacHex('sha256', key, fields.signed))) return null;
  if (fields.name !== byteString(name)) return null;
  if (!DIGITS_RE.test(fields.timestamp)) return null;
  const ts = Number(fields.timestamp);
  if (ts < now - maxAgeDays * DAY_SECONDS || ts > now + FUTURE_TOLERANCE_SECONDS) return null;
  return Buffer.from(fields.value, 'base64');
}

// Splits `2|n:kv|n:ts|n:name|n:value|sig`. `text` holds one character per byte (latin1 for
// Buffers; a string from a header is ASCII-or-latin1 too), so lengths count bytes.
function splitV2(text: string): V2Fields | null {
  let pos = 2; // past "2|"
  const values: string[] = [];
  for (let i = 0; i < 4; i++) {
    const colon = text.indexOf(':', pos);
    // A length longer than 9 digits cannot be honest (it would exceed any header).
    if (colon === -1 || colon - pos > 9) return null;
    const lengthText = text.slice(pos, colon);
    if (!DIGITS_RE.test(lengthText)) return null;
    const start = colon + 1;
    const end = start + Number(lengthText);
    if (end >= text.length || text.charCodeAt(end) !== 0x7c /* | */) return null;
    values.push(text.slice(start, end));
    pos = end + 1;
  }
  const [kv, timestamp, name, value] = values as [string, string, string, string];
  if (!DIGITS_RE.test(kv) || kv.length > 9) return null;
  return {
    keyVersion: Number(kv),
    timestamp,
    name,
    value,
    signature: text.slice(pos),
    signed: text.slice(0, pos),
  };
}

// Signed values are handled as byte strings (one character per byte, as node:http hands header
// values over), so field lengths are string lengths and hashing them as latin1 hashes the bytes.
function field(byteStr: string): string {
  return `${byteStr.length}:${byteStr}`;
}

function byteString(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

// A string from a header already holds one character per byte; a string with characters above
// U+00FF can only be text the caller decoded, so it is re-encoded as UTF-8 bytes.
function stringAsBytes(s: string): string {
  return /[^\x00-\xff]/.test(s) ? byteString(s) : s;
}

function hmacHex(algorithm: 'sha1' | 'sha256', key: string | Buffer, data: string): string {
  // `data` is built from ASCII fields plus the name; for the signed string of a received value
  // it is latin1 (one char per received byte), which must be hashed as those same bytes.
  return createHmac(algorithm, key).update(data, 'latin1').digest('hex');
}

function safeEqualAscii(received: string, expected: string): boolean {
  // The length of an HMAC is public, so an early exit on a length mismatch leaks nothing.
  if (received.length !== expected.length) return false;
  const a = Buffer.from(received, 'latin1');
  const b = Buffer.from(expected, 'latin1');
  return a.length === b.length && timingSafeEqual(a, b);
}

function singleSecret(secret: SignedValueSecret): string | Buffer | null {
  return typeof secret === 'string' || Buffer.isBuffer(secret) ? secret : null;
}

function lookupKey(secret: SignedValueSecret, keyVersion: number): string | Buffer | null {
  if (secret instanceof Map)
    return (secret as ReadonlyMap<number, string | Buffer>).get(keyVersion) ?? null;
  if (typeof secret !== 'object' || Buffer.isBuffer(secret)) return null;
  const table = secret as Readonly<Record<string, string | Buffer>>;
  return Object.prototype.hasOwnProperty.call(table, String(keyVersion))
    ? (table[String(keyVersion)] ?? null)
    : null;
}
