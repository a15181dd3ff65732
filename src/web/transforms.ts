/**
 * Output transforms: `GZipContentEncoding` compresses text-like responses for clients that
 * accept gzip. The application adds it to every response when the `compressResponse` setting
 * is on.
 *
 * Compression works on the handler's flush path, which is synchronous, so it cannot use a
 * zlib stream. Instead every flushed piece is deflated on its own (`deflateRawSync`) with the
 * previous 32 KiB of output as its preset dictionary, ending with a sync flush (a byte-aligned,
 * non-final block); the last piece ends with a final block. Raw deflate blocks laid end to end
 * form one valid deflate stream, and because the dictionary holds exactly the bytes the
 * decoder has just produced, back-references into it decode correctly — so a streamed response
 * compresses almost as well as a single-shot one, and each `flush()` reaches the client
 * decodable (the `Z_SYNC_FLUSH` Tornado does per flush):
 * ```
 * 1f8b 08 …  | deflate(piece 1, sync) | deflate(piece 2, dict=tail(1), sync) | … final | crc32 isize
 *  header       ↑ sent at the 1st flush   ↑ 2nd flush                                    trailer
 * ```
 * @example
 * ```ts
 * const app = new Application(rules, { compressResponse: true });
 * // or, explicitly:
 * app.addTransform(GZipContentEncoding.factory);
 * ```
 * Tornado: `tornado.web.GZipContentEncoding`.
 * @module
 */
import { Buffer } from 'node:buffer';
import { constants, crc32, deflateRawSync } from 'node:zlib';
import type { HTTPHeaders, HTTPServerRequest } from '../httputil/index.ts';
import type { OutputTransform, OutputTransformFactory } from './settings.ts';

// Types that compress well, besides every text/*: Tornado's list, plus the +json/+xml suffixes.
const COMPRESSIBLE = new Set([
  'application/javascript',
  'application/x-javascript',
  'application/ecmascript',
  'application/json',
  'application/manifest+json',
  'application/xml',
  'application/atom+xml',
  'application/rss+xml',
  'application/xhtml+xml',
  'image/svg+xml',
]);
const WINDOW = 32 * 1024;
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03]);
const FINAL_EMPTY_BLOCK = Buffer.from([0x03, 0x00]);
const EMPTY = Buffer.alloc(0);

/**
 * Whether a Content-Type (parameters ignored) is worth compressing: `text/*`, JavaScript,
 * JSON, XML, SVG and any `+json`/`+xml` type.
 *
 * Tornado: `GZipContentEncoding._compressible_type`.
 *
 * @example
 * ```ts
 * isCompressibleType('text/html; charset=UTF-8'); // → true
 * isCompressibleType('image/png'); // → false
 * ```
 */
export function isCompressibleType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const semi = contentType.indexOf(';');
  const type = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return (
    type.startsWith('text/') ||
    COMPRESSIBLE.has(type) ||
    type.endsWith('+json') ||
    type.endsWith('+xml')
  );
}

/**
 * Whether an `Accept-Encoding` header allows gzip: `gzip` (or `x-gzip`) listed with a
 * non-zero q-value, or `*` with a non-zero q-value when gzip is not listed at all.
 *
 * @example
 * ```ts
 * acceptsGzip('gzip, deflate, br'); // → true
 * acceptsGzip('gzip;q=0, *');       // → false
 * ```
 */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  let star = false;
  for (const item of header.split(',')) {
    const semi = item.indexOf(';');
    const coding = (semi === -1 ? item : item.slice(0, semi)).trim().toLowerCase();
    if (coding !== 'gzip' && coding !== 'x-gzip' && coding !== '*') continue;
    let q = 1;
    if (semi !== -1) {
      const m = /(?:^|;)\s*q\s*=\s*([0-9.]+)/i.exec(item.slice(semi));
      if (m !== null) q = Number(m[1]);
    }
    if (coding === '*') star = q > 0;
    else return q > 0;
  }
  return star;
}

/**
 * Compresses the response with gzip when the client accepts it, the status has a body worth
 * compressing (not 204, 206, 304 or 1xx), the type is text-like ({@link isCompressibleType}),
 * there is no `Content-Encoding` yet, and — for a response sent in one piece — it is at least
 * {@link GZipContentEncoding.MIN_LENGTH} bytes. Adds `Vary: Accept-Encoding` to every response
 * so caches keep the two forms apart. A response flushed in pieces is compressed as it goes,
 * each `flush()` producing decodable output (see the module documentation).
 *
 * Tornado: `tornado.web.GZipContentEncoding`.
 *
 * @example
 * ```ts
 * new Application(rules, { compressResponse: true }); // adds GZipContentEncoding.factory
 * ```
 */
export class GZipContentEncoding implements OutputTransform {
  /** Smallest response (sent in one piece) worth compressing, in bytes. */
  static MIN_LENGTH = 1024;
  /** zlib compression level (Tornado's `GZIP_LEVEL`). */
  static GZIP_LEVEL = 6;
  /** The factory to register with `Application.addTransform`. */
  static readonly factory: OutputTransformFactory = (request) => new GZipContentEncoding(request);

  readonly #accepts: boolean;
  #gzipping = false;
  #window: Buffer = EMPTY;
  #crc = 0;
  #size = 0;

  constructor(request: HTTPServerRequest) {
    this.#accepts = acceptsGzip(request.headers.get('Accept-Encoding'));
  }

  transformFirstChunk(
    statusCode: number,
    headers: HTTPHeaders,
    chunk: Buffer,
    finishing: boolean,
  ): [number, HTTPHeaders, Buffer] {
    const vary = headers.get('Vary');
    if (vary === undefined) headers.set('Vary', 'Accept-Encoding');
    else if (!/(?:^|,)\s*(?:accept-encoding|\*)\s*(?:,|$)/i.test(vary))
      headers.set('Vary', `${vary}, Accept-Encoding`);
    const noBody = statusCode === 204 || statusCode === 304 || statusCode < 200;
    this.#gzipping =
      this.#accepts &&
      !noBody &&
      statusCode !== 206 &&
      isCompressibleType(headers.get('Content-Type')) &&
      (!finishing || chunk.length >= GZipContentEncoding.MIN_LENGTH) &&
      !headers.has('Content-Encoding');
    if (this.#gzipping) {
      headers.set('Content-Encoding', 'gzip');
      chunk = Buffer.concat([GZIP_HEADER, this.#compress(chunk, finishing)]);
      if (finishing) headers.set('Content-Length', String(chunk.length));
      else headers.delete('Content-Length');
    } else if (finishing && !noBody && !headers.has('Content-Length')) {
      headers.set('Content-Length', String(chunk.length));
    }
    return [statusCode, headers, chunk];
  }

  transformChunk(chunk: Buffer, finishing: boolean): Buffer {
    if (!this.#gzipping) return chunk;
    return this.#compress(chunk, finishing);
  }

  #compress(chunk: Buffer, finishing: boolean): Buffer {
    const pieces: Buffer[] = [];
    if (chunk.length > 0) {
      const options: Parameters<typeof deflateRawSync>[1] = {
        level: GZipContentEncoding.GZIP_LEVEL,
        finishFlush: finishing ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
      };
      if (this.#window.length > 0) options.dictionary = this.#window;
      pieces.push(deflateRawSync(chunk, options));
      this.#crc = crc32(chunk, this.#crc);
      this.#size = (this.#size + chunk.length) >>> 0;
      this.#window =
        chunk.length >= WINDOW
          ? Buffer.from(chunk.subarray(chunk.length - WINDOW))
          : Buffer.concat([this.#window, chunk]).subarray(-WINDOW);
    } else if (finishing) {
      pieces.push(FINAL_EMPTY_BLOCK);
    }
    if (finishing) {
      const trailer = Buffer.allocUnsafe(8);
      trailer.writeUInt32LE(this.#crc >>> 0, 0);
      trailer.writeUInt32LE(this.#size, 4);
      pieces.push(trailer);
      this.#window = EMPTY;
    }
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  }
}
