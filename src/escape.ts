/// <reference types="node" preserve="true" />

/**
 * Escaping and unescaping for HTML, URLs and JSON, plus a few text helpers templates use.
 *
 * Every function gives Tornado's output for the same input, so a page ported from Tornado
 * renders byte for byte the same: `xhtmlEscape` escapes `& < > " '` (the quote as `&#39;`),
 * `urlEscape` is Python's `quote_plus`, `jsonEncode` writes `</` as `<\/` so JSON can sit inside
 * a `<script>` element, and `linkify` finds the links Tornado finds. Functions that take text
 * also take a `Buffer` (or any `Uint8Array`), read as UTF-8.
 *
 * @example
 * ```ts
 * import { xhtmlEscape, linkify, urlEscape } from 'typhoon/escape';
 * xhtmlEscape('<b>"Tom" & Jerry</b>'); // '&lt;b&gt;&quot;Tom&quot; &amp; Jerry&lt;/b&gt;'
 * urlEscape('a b&c'); // 'a+b%26c'
 * linkify('see www.example.com!'); // 'see <a href="http://www.example.com">www.example.com</a>!'
 * ```
 * Tornado: `tornado.escape`.
 * @module typhoon/escape
 */

// First, so that an unsupported Node.js fails with one clear sentence (see there).
import './internal/node-version.ts';
import { Buffer } from 'node:buffer';

/** Text or its UTF-8 bytes. */
export type TextInput = string | Uint8Array;

/** Decode UTF-8 the way a renderer should: bad bytes become U+FFFD rather than an error. */
function asText(value: TextInput): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  }
  throw new TypeError(`Expected a string or Buffer; got ${describeType(value)}`);
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value;
}

// ---------------------------------------------------------------------------------------------
// HTML
// ---------------------------------------------------------------------------------------------

const XHTML_SPECIAL = /[&<>"']/;
const XHTML_SPECIAL_ALL = /[&<>"']/g;
const XHTML_REPLACEMENTS: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
const xhtmlReplace = (ch: string): string => XHTML_REPLACEMENTS[ch]!;

/**
 * Escape text so it is safe inside HTML or XML, in element content and in quoted attribute
 * values: `&`, `<`, `>`, `"` and `'` become `&amp;`, `&lt;`, `&gt;`, `&quot;` and `&#39;`.
 * This is the default autoescape function of templates.
 *
 * @example
 * ```ts
 * xhtmlEscape(`<a href="x">Tom's</a>`); // '&lt;a href=&quot;x&quot;&gt;Tom&#39;s&lt;/a&gt;'
 * ```
 * Tornado: `tornado.escape.xhtml_escape`.
 */
export function xhtmlEscape(value: TextInput): string {
  const text = typeof value === 'string' ? value : asText(value);
  // Most template values contain none of the five characters: test before allocating.
  return XHTML_SPECIAL.test(text) ? text.replace(XHTML_SPECIAL_ALL, xhtmlReplace) : text;
}

// The HTML 4 named entities (Python's html.entities.name2codepoint), as name:hex-codepoint.
const HTML4_ENTITIES =
  'AElig:c6 Aacute:c1 Acirc:c2 Agrave:c0 Alpha:391 Aring:c5 Atilde:c3 Auml:c4 Beta:392 ' +
  'Ccedil:c7 Chi:3a7 Dagger:2021 Delta:394 ETH:d0 Eacute:c9 Ecirc:ca Egrave:c8 Epsilon:395 ' +
  'Eta:397 Euml:cb Gamma:393 Iacute:cd Icirc:ce Igrave:cc Iota:399 Iuml:cf Kappa:39a ' +
  'Lambda:39b Mu:39c Ntilde:d1 Nu:39d OElig:152 Oacute:d3 Ocirc:d4 Ograve:d2 Omega:3a9 ' +
  'Omicron:39f Oslash:d8 Otilde:d5 Ouml:d6 Phi:3a6 Pi:3a0 Prime:2033 Psi:3a8 Rho:3a1 ' +
  'Scaron:160 Sigma:3a3 THORN:de Tau:3a4 Theta:398 Uacute:da Ucirc:db Ugrave:d9 Upsilon:3a5 ' +
  'Uuml:dc Xi:39e Yacute:dd Yuml:178 Zeta:396 aacute:e1 acirc:e2 acute:b4 aelig:e6 agrave:e0 ' +
  'alefsym:2135 alpha:3b1 amp:26 and:2227 ang:2220 aring:e5 asymp:2248 atilde:e3 auml:e4 ' +
  'bdquo:201e beta:3b2 brvbar:a6 bull:2022 cap:2229 ccedil:e7 cedil:b8 cent:a2 chi:3c7 ' +
  'circ:2c6 clubs:2663 cong:2245 copy:a9 crarr:21b5 cup:222a curren:a4 dArr:21d3 dagger:2020 ' +
  'darr:2193 deg:b0 delta:3b4 diams:2666 divide:f7 eacute:e9 ecirc:ea egrave:e8 empty:2205 ' +
  'emsp:2003 ensp:2002 epsilon:3b5 equiv:2261 eta:3b7 eth:f0 euml:eb euro:20ac exist:2203 ' +
  'fnof:192 forall:2200 frac12:bd frac14:bc frac34:be frasl:2044 gamma:3b3 ge:2265 gt:3e ' +
  'hArr:21d4 harr:2194 hearts:2665 hellip:2026 iacute:ed icirc:ee iexcl:a1 igrave:ec ' +
  'image:2111 infin:221e int:222b iota:3b9 iquest:bf isin:2208 iuml:ef kappa:3ba lArr:21d0 ' +
  'lambda:3bb lang:2329 laquo:ab larr:2190 lceil:2308 ldquo:201c le:2264 lfloor:230a ' +
  'lowast:2217 loz:25ca lrm:200e lsaquo:2039 lsquo:2018 lt:3c macr:af mdash:2014 micro:b5 ' +
  'middot:b7 minus:2212 mu:3bc nabla:2207 nbsp:a0 ndash:2013 ne:2260 ni:220b not:ac ' +
  'notin:2209 nsub:2284 ntilde:f1 nu:3bd oacute:f3 ocirc:f4 oelig:153 ograve:f2 oline:203e ' +
  'omega:3c9 omicron:3bf oplus:2295 or:2228 ordf:aa ordm:ba oslash:f8 otilde:f5 otimes:2297 ' +
  'ouml:f6 para:b6 part:2202 permil:2030 perp:22a5 phi:3c6 pi:3c0 piv:3d6 plusmn:b1 pound:a3 ' +
  'prime:2032 prod:220f prop:221d psi:3c8 quot:22 rArr:21d2 radic:221a rang:232a raquo:bb ' +
  'rarr:2192 rceil:2309 rdquo:201d real:211c reg:ae rfloor:230b rho:3c1 rlm:200f ' +
  'rsaquo:203a rsquo:2019 sbquo:201a scaron:161 sdot:22c5 sect:a7 shy:ad sigma:3c3 ' +
  'sigmaf:3c2 sim:223c spades:2660 sub:2282 sube:2286 sum:2211 sup:2283 sup1:b9 sup2:b2 ' +
  'sup3:b3 supe:2287 szlig:df tau:3c4 there4:2234 theta:3b8 thetasym:3d1 thinsp:2009 ' +
  'thorn:fe tilde:2dc times:d7 trade:2122 uArr:21d1 uacute:fa uarr:2191 ucirc:fb ugrave:f9 ' +
  'uml:a8 upsih:3d2 upsilon:3c5 uuml:fc weierp:2118 xi:3be yacute:fd yen:a5 yuml:ff ' +
  'zeta:3b6 zwj:200d zwnj:200c';

const ENTITY_MAP: ReadonlyMap<string, string> = new Map(
  HTML4_ENTITIES.split(' ').map((pair) => {
    const [name, hex] = pair.split(':') as [string, string];
    return [name, String.fromCodePoint(parseInt(hex, 16))];
  }),
);

// Python's `\w` on text: letters, numbers (any script) and the underscore.
const WORD = String.raw`\p{L}\p{N}_`;
const ENTITY_RE = new RegExp(String.raw`&(#?)([${WORD}]+?);`, 'gu');

function convertEntity(whole: string, hash: string, body: string): string {
  if (hash === '#') {
    const hex = body[0] === 'x' || body[0] === 'X';
    const digits = hex ? body.slice(1) : body;
    if (!(hex ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/).test(digits)) return whole;
    const code = parseInt(digits, hex ? 16 : 10);
    return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  }
  return ENTITY_MAP.get(body) ?? whole;
}

/**
 * Turn HTML character references back into characters: the HTML 4 named entities (`&eacute;`,
 * `&nbsp;`, …), decimal (`&#32;`) and hex (`&#x20;`, `&#X20;`) references. Unknown names and
 * malformed references (`&#xyz;`, `&#;`) are left as they are.
 *
 * @example
 * ```ts
 * xhtmlUnescape('caf&eacute; &lt;3 &#x41;'); // 'café <3 A'
 * ```
 * Tornado: `tornado.escape.xhtml_unescape`.
 */
export function xhtmlUnescape(value: TextInput): string {
  const text = asText(value);
  return text.includes('&') ? text.replace(ENTITY_RE, convertEntity) : text;
}

// ---------------------------------------------------------------------------------------------
// URLs
// ---------------------------------------------------------------------------------------------

const HEX = '0123456789ABCDEF';
// Python's quote keeps letters, digits and `_.-~` (plus the `safe` characters).
function isUnreserved(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) ||
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) ||
    byte === 0x5f ||
    byte === 0x2e ||
    byte === 0x2d ||
    byte === 0x7e
  );
}

function quoteBytes(bytes: Uint8Array, plus: boolean): string {
  let out = '';
  for (const byte of bytes) {
    if (isUnreserved(byte) || (!plus && byte === 0x2f)) out += String.fromCharCode(byte);
    else if (plus && byte === 0x20) out += '+';
    else out += '%' + HEX[byte >> 4]! + HEX[byte & 15]!;
  }
  return out;
}

const COMPONENT_EXTRAS = /[!'()*]/g;
const componentExtra = (ch: string): string => '%' + ch.charCodeAt(0).toString(16).toUpperCase();

/**
 * Percent-encode a value for a URL. With `plus` (the default) this is Python's `quote_plus`,
 * for query strings and form values: only letters, digits and `_.-~` stay, a space becomes `+`.
 * With `plus = false` it is `quote(value, safe='/')`, for a path: a space becomes `%20` and `/`
 * stays. Hex digits are upper case. Text is encoded as UTF-8; a `Buffer`'s bytes are taken as
 * they are.
 *
 * @example
 * ```ts
 * urlEscape('+ #%'); // '%2B+%23%25'
 * urlEscape('a b/c', false); // 'a%20b/c'
 * ```
 * Tornado: `tornado.escape.url_escape`.
 */
export function urlEscape(value: TextInput, plus = true): string {
  if (typeof value !== 'string') {
    if (value instanceof Uint8Array) return quoteBytes(value, plus);
    throw new TypeError(`Expected a string or Buffer; got ${describeType(value)}`);
  }
  // encodeURIComponent leaves exactly `!'()*` more than Python's quote: fix those up.
  let out = encodeURIComponent(value).replace(COMPONENT_EXTRAS, componentExtra);
  if (plus) out = out.replaceAll('%20', '+');
  else out = out.replaceAll('%2F', '/');
  return out;
}

/** Options of {@link urlUnescape}. */
export interface UrlUnescapeOptions {
  /** Read `+` as a space (default true), as in query strings and form values. */
  plus?: boolean;
  /**
   * Any Node encoding name for the decoded bytes (default `'utf8'`; bytes that are not valid
   * become U+FFFD); `null` returns the bytes as a `Buffer`.
   */
  encoding?: BufferEncoding | null;
}

const PERCENT_RUN = /(?:%[0-9a-fA-F]{2})+/g;

function percentBytes(run: string): Buffer {
  const bytes = Buffer.allocUnsafe(run.length / 3);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(run.slice(i * 3 + 1, i * 3 + 3), 16);
  return bytes;
}

/**
 * Decode a percent-encoded value. `%XX` sequences become bytes, read with `encoding` (UTF-8 by
 * default; `null` gives a `Buffer`); with `plus` (the default) a `+` is a space, so a literal
 * plus must be written `%2B`. A `%` not followed by two hex digits stays as it is.
 *
 * @example
 * ```ts
 * urlUnescape('caf%C3%A9+au+lait'); // 'café au lait'
 * urlUnescape('a+b', { plus: false }); // 'a+b'
 * urlUnescape('%C3%A9', { encoding: null }); // <Buffer c3 a9>
 * ```
 * Tornado: `tornado.escape.url_unescape`.
 */
export function urlUnescape(
  value: TextInput,
  options: UrlUnescapeOptions & { encoding: null },
): Buffer;
export function urlUnescape(value: TextInput, options?: UrlUnescapeOptions): string;
export function urlUnescape(value: TextInput, options: UrlUnescapeOptions = {}): string | Buffer {
  const { plus = true, encoding = 'utf8' } = options;
  // Bytes in are read as UTF-8 text first, as Tornado does.
  let text = asText(value);
  if (plus) text = text.replaceAll('+', ' ');
  if (encoding === null) {
    // Python's unquote_to_bytes: the text as UTF-8, each escape as the byte it names.
    const source = Buffer.from(text, 'utf8');
    const out = Buffer.allocUnsafe(source.length);
    let n = 0;
    for (let i = 0; i < source.length; i++) {
      const byte = source[i]!;
      if (
        byte === 0x25 &&
        i + 2 < source.length &&
        isHex(source[i + 1]!) &&
        isHex(source[i + 2]!)
      ) {
        out[n++] = (hexValue(source[i + 1]!) << 4) | hexValue(source[i + 2]!);
        i += 2;
      } else {
        out[n++] = byte;
      }
    }
    return out.subarray(0, n);
  }
  if (!Buffer.isEncoding(encoding)) throw new TypeError(`unknown encoding: ${String(encoding)}`);
  // Only runs of escapes are decoded with `encoding`; other characters stay as they are.
  return text.includes('%')
    ? text.replace(PERCENT_RUN, (run) => percentBytes(run).toString(encoding))
    : text;
}

function isHex(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) ||
    (byte >= 0x41 && byte <= 0x46) ||
    (byte >= 0x61 && byte <= 0x66)
  );
}

function hexValue(byte: number): number {
  return byte <= 0x39 ? byte - 0x30 : (byte | 0x20) - 0x61 + 10;
}

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

/**
 * Encode a value as JSON that is also safe inside an HTML `<script>` element: every `</` is
 * written `<\/` (still the same JSON string), so a value holding `</script>` cannot end the
 * script early. `undefined` encodes as `null`.
 *
 * @example
 * ```ts
 * jsonEncode({ msg: '</script><script>alert(1)' }); // '{"msg":"<\/script><script>alert(1)"}'
 * ```
 * Tornado: `tornado.escape.json_encode`.
 */
export function jsonEncode(value: unknown): string {
  const json = JSON.stringify(value) as string | undefined;
  if (json === undefined) return 'null';
  return json.includes('</') ? json.replaceAll('</', '<\\/') : json;
}

/**
 * Parse JSON text, or UTF-8 JSON bytes.
 *
 * @example
 * ```ts
 * jsonDecode(Buffer.from('{"a": [1, 2]}')); // { a: [1, 2] }
 * ```
 * Tornado: `tornado.escape.json_decode`.
 */
export function jsonDecode(value: TextInput): unknown {
  return JSON.parse(asText(value)) as unknown;
}

// ---------------------------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------------------------

/**
 * Collapse every run of whitespace (here: the characters `\x00`–`\x20`) into one space and trim
 * the ends.
 *
 * @example
 * ```ts
 * squeeze('  sequences     of\n\twhitespace   '); // 'sequences of whitespace'
 * ```
 * Tornado: `tornado.escape.squeeze`.
 */
export function squeeze(value: TextInput): string {
  const text = asText(value).replace(/[\x00-\x20]+/g, ' ');
  let start = 0;
  let end = text.length;
  if (text.charCodeAt(0) === 0x20) start = 1;
  if (end > start && text.charCodeAt(end - 1) === 0x20) end -= 1;
  return text.slice(start, end);
}

/**
 * Encode text as UTF-8 bytes: a string becomes a `Buffer`, a `Buffer` is returned as it is,
 * `null` stays `null`; anything else is a `TypeError`.
 *
 * @example
 * ```ts
 * utf8('é'); // <Buffer c3 a9>
 * ```
 * Tornado: `tornado.escape.utf8`.
 */
export function utf8(value: string | Uint8Array): Buffer;
export function utf8(value: null): null;
export function utf8(value: string | Uint8Array | null): Buffer | null;
export function utf8(value: unknown): Buffer | null {
  if (value === null) return null;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`Expected bytes, unicode, or None; got ${describeType(value)}`);
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decode UTF-8 bytes to a string (strictly: invalid UTF-8 is a `TypeError`); a string is
 * returned as it is, `null` stays `null`; anything else is a `TypeError`.
 *
 * @example
 * ```ts
 * toUnicode(Buffer.from([0xc3, 0xa9])); // 'é'
 * ```
 * Tornado: `tornado.escape.to_unicode`.
 */
export function toUnicode(value: string | Uint8Array): string;
export function toUnicode(value: null): null;
export function toUnicode(value: string | Uint8Array | null): string | null;
export function toUnicode(value: unknown): string | null {
  if (value === null || typeof value === 'string') return value;
  if (value instanceof Uint8Array) return STRICT_UTF8.decode(value);
  throw new TypeError(`Expected bytes, unicode, or None; got ${describeType(value)}`);
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Walk arrays and plain objects, turning every `Buffer` into its UTF-8 text (strictly, as
 * {@link toUnicode}); other values are kept. Returns new arrays and objects.
 *
 * @example
 * ```ts
 * recursiveUnicode({ user: [Buffer.from('ann')] }); // { user: ['ann'] }
 * ```
 * Tornado: `tornado.escape.recursive_unicode`.
 */
export function recursiveUnicode(value: unknown): unknown {
  if (value instanceof Uint8Array) return toUnicode(value);
  if (Array.isArray(value)) return value.map(recursiveUnicode);
  if (value !== null && typeof value === 'object' && isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = recursiveUnicode(item);
    return out;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// linkify
// ---------------------------------------------------------------------------------------------

// Python's `\s` on text (str.isspace): JavaScript's `\s` differs (it has U+FEFF, lacks
// U+001C–U+001F and U+0085), and linkify must split where Tornado splits.
const SPACE = String.raw`\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000`;
// Python's `\b`: between a word and a non-word character, either way round.
const BOUNDARY = String.raw`(?:(?<=[${WORD}])(?![${WORD}])|(?<![${WORD}])(?=[${WORD}]))`;
// Tornado's URL pattern (it avoids the exponential cases of Gruber's), in JavaScript syntax:
// a protocol or `www.`, then runs of characters that do not end in punctuation, or balanced
// parentheses. Entities other than &amp; and &quot; end a URL, because it runs on escaped text.
const URL_CHAR = String.raw`(?:[^${SPACE}&()]|&amp;|&quot;)`;
const URL_RE = new RegExp(
  BOUNDARY +
    String.raw`((?:([${WORD}-]+):(\/{1,3})|www[.])(?:(?:${URL_CHAR}*(?:[^!"#$%&'()*+,.:;<=>?@\[\]^\x60{|}~${SPACE}]))|(?:\(${URL_CHAR}*\)))+)`,
  'gu',
);

/** Options of {@link linkify}. */
export interface LinkifyOptions {
  /** Shorten the text of long links (the full URL goes into a `title` attribute). */
  shorten?: boolean;
  /**
   * Extra attributes for each `<a>` tag, e.g. `'rel="nofollow" class="external"'`, or a
   * function of the link's `href` returning them.
   */
  extraParams?: string | ((href: string) => string);
  /** Only link URLs that name their protocol (so `www.example.com` stays text). */
  requireProtocol?: boolean;
  /**
   * Protocols that become links (default `['http', 'https']`). Adding `javascript` would be
   * very unsafe.
   */
  permittedProtocols?: readonly string[];
}

const DEFAULT_PROTOCOLS: readonly string[] = ['http', 'https'];
const MAX_LEN = 30;

/**
 * Turn plain text into HTML with links: the text is HTML-escaped, then every URL with a
 * permitted protocol (and, unless `requireProtocol`, every `www.` address, linked as
 * `http://`) becomes an `<a href>` element. Trailing punctuation and unbalanced parentheses
 * stay outside the link.
 *
 * @example
 * ```ts
 * linkify('Hello http://tornadoweb.org!');
 * // 'Hello <a href="http://tornadoweb.org">http://tornadoweb.org</a>!'
 * linkify('www.x.com', { extraParams: 'rel="nofollow"' });
 * // '<a href="http://www.x.com" rel="nofollow">www.x.com</a>'
 * ```
 * Tornado: `tornado.escape.linkify`.
 */
export function linkify(text: TextInput, options: LinkifyOptions = {}): string {
  const {
    shorten = false,
    extraParams = '',
    requireProtocol = false,
    permittedProtocols = DEFAULT_PROTOCOLS,
  } = options;
  const fixedParams =
    typeof extraParams === 'function' ? null : extraParams ? ' ' + extraParams.trim() : '';

  const makeLink = (
    _match: string,
    url: string,
    proto: string | undefined,
    slashes: string | undefined,
  ): string => {
    if (requireProtocol && !proto) return url;
    if (proto && !permittedProtocols.includes(proto)) return url;
    const href = proto ? url : 'http://' + url;
    let params = fixedParams ?? ' ' + (extraParams as (href: string) => string)(href).trim();

    // Lengths and cuts count code points, as Python's do.
    const chars = Array.from(url);
    if (shorten && chars.length > MAX_LEN) {
      const protoLen = proto ? proto.length + 1 + (slashes ?? '').length : 0;
      let clipped = chars;
      const parts = chars.slice(protoLen).join('').split('/');
      if (parts.length > 1) {
        // The host and a hint of the path: the path is rarely interesting once shortened.
        const hint = Array.from(parts[1]!).slice(0, 8).join('').split('?')[0]!.split('.')[0]!;
        clipped = Array.from(chars.slice(0, protoLen).join('') + parts[0]! + '/' + hint);
      }
      if (clipped.length > MAX_LEN * 1.5) clipped = clipped.slice(0, MAX_LEN);
      if (clipped.join('') !== url) {
        const amp = clipped.lastIndexOf('&');
        // Never cut an entity in half.
        if (amp > MAX_LEN - 5) clipped = clipped.slice(0, amp);
        clipped.push('...');
        if (Array.from(clipped.join('')).length >= chars.length) {
          clipped = chars;
        } else {
          params += ` title="${href}"`;
        }
      }
      url = clipped.join('');
    }
    return `<a href="${href}"${params}>${url}</a>`;
  };

  return xhtmlEscape(text).replace(
    URL_RE,
    makeLink as (substring: string, ...args: unknown[]) => string,
  );
}
