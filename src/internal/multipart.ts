/**
 * A streaming `multipart/form-data` parser: feed it the body's Buffers as they arrive and it
 * returns events — a part's headers, its bytes as they come, its end — so an upload of any size
 * passes through without being held in memory. Pure (no sockets, no files), bounded (parts,
 * header bytes, header parameters, part bytes) and linear in its input whatever that input is.
 *
 * ```
 *  body:   preamble CRLF--B CRLF headers CRLF CRLF bytes… CRLF--B CRLF … CRLF--B-- epilogue
 *  events:                     part{name,…}          data*  partEnd   …  partEnd end
 * ```
 * The parser looks for `CRLF--boundary` (a virtual CRLF precedes the body, so a body starting
 * with `--boundary` needs none); at most `boundary length + 3` bytes that might start a
 * delimiter are held back between chunks, everything else is handed on at once as slices of
 * the chunks fed in. Semantics follow Tornado's `parse_multipart_form_data`: each part needs a
 * `Content-Disposition: form-data` header with a `name`; a non-empty `filename` makes it a file.
 *
 * Errors are {@link MultipartError}s with an HTTP status (400 malformed or over a count limit,
 * 413 over a size limit). This layer-0 module cannot see typhoon's error classes; the web layer
 * turns them into `HTTPError`s.
 * @module
 */

import { Buffer } from 'node:buffer';

/** A malformed or over-limit multipart body; `status` is the HTTP status to answer. */
export class MultipartError extends Error {
  /** 400 for malformed input or too many parts/parameters, 413 for a part over its size limit. */
  readonly status: 400 | 413;
  constructor(message: string, status: 400 | 413 = 400) {
    super(message);
    this.name = 'MultipartError';
    this.status = status;
  }
}

/** One part's head, as the `part` event carries it. */
export interface MultipartPart {
  /** The `name` parameter of its `Content-Disposition`. */
  name: string;
  /**
   * The `filename` parameter (`filename*` wins when both are present), or `null`. Tornado
   * treats a part with an empty filename (what browsers send for an empty file input) as a
   * plain argument; so does {@link collectMultipart}.
   */
  filename: string | null;
  /** Its `Content-Type` header, or `null` when absent. */
  contentType: string | null;
  /** All its headers, names lower-cased, repeated ones joined with `, ` (prototype-free). */
  headers: Record<string, string>;
}

/** What {@link MultipartParser.feed} returns, in body order. */
export type MultipartEvent =
  | { type: 'part'; part: MultipartPart }
  | { type: 'data'; data: Buffer }
  | { type: 'partEnd' }
  | { type: 'end' };

/** Limits of {@link MultipartParser}; every one has a test that crosses it. */
export interface MultipartLimits {
  /** Most parts in one body (default 1 000); one more → 400. */
  maxParts?: number;
  /** Most bytes in one part's header block (default 16 384); more → 400. */
  maxHeaderBytes?: number;
  /** Most `;`-separated parameters in one header value (default 32); more → 400. */
  maxHeaderParams?: number;
  /** Most body bytes in one part (default unlimited: streaming consumers set their own); → 413. */
  maxPartBytes?: number;
}

const CR = 0x0d;
const BARE_CR_LF_NUL = /[\r\n\0]/;
const LF = 0x0a;
const DASH = 0x2d;
const EMPTY = Buffer.alloc(0);
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 2046 boundary characters; at most 70, and the last may not be a space.
const BOUNDARY_RE = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

// Parser states (plain constants: enums are not erasable syntax).
const State = {
  Preamble: 0,
  DelimiterTail: 1,
  Headers: 2,
  Body: 3,
  Epilogue: 4,
  Failed: 5,
} as const;
type State = (typeof State)[keyof typeof State];

/**
 * The streaming parser. `feed(chunk)` for each piece of the body, then `end()`. Once it has
 * thrown, it stays failed: every later call throws the same error, so stop feeding it.
 *
 * Tornado: what `parse_multipart_form_data` does, made incremental (Tornado itself only parses
 * a complete body).
 *
 * @example
 * ```ts
 * const parser = new MultipartParser(parseMultipartBoundary(contentType)!);
 * // in dataReceived(chunk):
 * for (const event of parser.feed(chunk)) {
 *   if (event.type === 'part') file = openFor(event.part);
 *   else if (event.type === 'data') await file.write(event.data);
 *   else if (event.type === 'partEnd') await file.close();
 * }
 * // in post():
 * parser.end(); // throws a MultipartError when the closing boundary never came
 * ```
 */
export class MultipartParser {
  readonly #delimiter: Buffer;
  readonly #maxParts: number;
  readonly #maxHeaderBytes: number;
  readonly #maxHeaderParams: number;
  readonly #maxPartBytes: number;
  #state: State = State.Preamble;
  // Bytes held back from the previous chunk (a possible delimiter start, or a partial
  // delimiter tail). Starts as the virtual CRLF before the first boundary.
  #carry: Buffer = Buffer.from('\r\n');
  #inPart = false;
  #parts = 0;
  #partBytes = 0;
  #headerPieces: Buffer[] = [];
  #headerBytes = 0;
  #headerMatch = 0;
  #error: MultipartError | null = null;

  constructor(boundary: string, limits: MultipartLimits = {}) {
    if (!BOUNDARY_RE.test(boundary)) {
      throw new MultipartError(`invalid multipart boundary ${JSON.stringify(boundary)}`);
    }
    this.#delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
    this.#maxParts = limits.maxParts ?? 1000;
    this.#maxHeaderBytes = limits.maxHeaderBytes ?? 16_384;
    this.#maxHeaderParams = limits.maxHeaderParams ?? 32;
    this.#maxPartBytes = limits.maxPartBytes ?? Infinity;
  }

  /** Whether the closing boundary has been seen (the body is complete). */
  get done(): boolean {
    return this.#state === State.Epilogue;
  }

  /**
   * Parses the next piece of the body and returns the events it completes. `data` events are
   * slices of `chunk` (not copies) wherever possible.
   */
  feed(chunk: Buffer | Uint8Array): MultipartEvent[] {
    if (this.#error !== null) throw this.#error;
    const events: MultipartEvent[] = [];
    try {
      this.#feed(
        Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length),
        events,
      );
    } catch (err) {
      if (err instanceof MultipartError) this.#fail(err);
      throw err;
    }
    return events;
  }

  /** Declares the body finished; throws a {@link MultipartError} if it was incomplete. */
  end(): void {
    if (this.#error !== null) throw this.#error;
    if (this.#state !== State.Epilogue) {
      this.#fail(new MultipartError('invalid multipart/form-data: no final boundary'));
    }
  }

  #fail(err: MultipartError): never {
    this.#error = err;
    this.#state = State.Failed;
    this.#carry = EMPTY;
    this.#headerPieces = [];
    throw err;
  }

  #feed(chunk: Buffer, events: MultipartEvent[]): void {
    let buf = chunk;
    if (this.#carry.length > 0) {
      buf = Buffer.concat([this.#carry, chunk]);
      this.#carry = EMPTY;
    }
    let pos = 0;
    const delimiter = this.#delimiter;
    while (pos < buf.length) {
      switch (this.#state) {
        case State.Preamble:
        case State.Body: {
          const idx = buf.indexOf(delimiter, pos);
          const stop = idx === -1 ? heldBackFrom(buf, pos, delimiter) : idx;
          if (this.#state === State.Body && stop > pos) this.#data(buf.subarray(pos, stop), events);
          if (idx === -1) {
            this.#carry = Buffer.from(buf.subarray(stop));
            return;
          }
          pos = idx + delimiter.length;
          this.#state = State.DelimiterTail;
          break;
        }
        case State.DelimiterTail: {
          if (buf.length - pos < 2) {
            this.#carry = Buffer.from(buf.subarray(pos));
            return;
          }
          const a = buf[pos];
          const b = buf[pos + 1];
          pos += 2;
          if (this.#inPart) {
            events.push({ type: 'partEnd' });
            this.#inPart = false;
          }
          if (a === DASH && b === DASH) {
            events.push({ type: 'end' });
            this.#state = State.Epilogue;
          } else if (a === CR && b === LF) {
            if (++this.#parts > this.#maxParts) {
              throw new MultipartError(`too many multipart parts (more than ${this.#maxParts})`);
            }
            this.#state = State.Headers;
            this.#headerPieces = [];
            this.#headerBytes = 0;
            // The CRLF ending the boundary line counts towards CRLF CRLF, so a part without
            // headers (boundary line directly followed by CRLF) ends its header block at once.
            this.#headerMatch = 2;
          } else {
            throw new MultipartError('invalid multipart/form-data: bad boundary line');
          }
          break;
        }
        case State.Headers:
          pos = this.#headers(buf, pos, events);
          break;
        case State.Epilogue:
          return; // anything after the closing boundary is ignored, as RFC 2046 says
        case State.Failed:
          throw this.#error ?? new MultipartError('multipart parser failed');
      }
    }
  }

  #data(data: Buffer, events: MultipartEvent[]): void {
    this.#partBytes += data.length;
    if (this.#partBytes > this.#maxPartBytes) {
      throw new MultipartError(`multipart part larger than ${this.#maxPartBytes} bytes`, 413);
    }
    events.push({ type: 'data', data });
  }

  // Scans for the CRLF CRLF ending the header block; returns where parsing continues.
  #headers(buf: Buffer, pos: number, events: MultipartEvent[]): number {
    let m = this.#headerMatch;
    // Scan at most one byte past the budget: enough to know the budget was exceeded.
    const limit = Math.min(buf.length, pos + (this.#maxHeaderBytes - this.#headerBytes) + 1);
    let i = pos;
    for (; i < limit && m !== 4; i++) {
      const c = buf[i];
      if (c === CR) m = m === 2 ? 3 : 1;
      else if (c === LF) m = m === 1 ? 2 : m === 3 ? 4 : 0;
      else m = 0;
    }
    this.#headerMatch = m;
    this.#headerBytes += i - pos;
    if (this.#headerBytes > this.#maxHeaderBytes) {
      throw new MultipartError(`multipart part headers larger than ${this.#maxHeaderBytes} bytes`);
    }
    if (m !== 4) {
      this.#headerPieces.push(Buffer.from(buf.subarray(pos, i)));
      return i;
    }
    this.#headerPieces.push(buf.subarray(pos, i));
    const block = Buffer.concat(this.#headerPieces);
    this.#headerPieces = [];
    // The block ends with CRLF CRLF, or is just CRLF when the part has no headers.
    const part = this.#parsePart(block.subarray(0, Math.max(0, block.length - 4)));
    events.push({ type: 'part', part });
    this.#inPart = true;
    this.#partBytes = 0;
    this.#state = State.Body;
    // The body scan looks for CRLF--boundary; the CRLF ending the headers is not body, so the
    // body starts right here, and an empty body is immediately followed by the delimiter.
    return i;
  }

  #parsePart(block: Buffer): MultipartPart {
    let text: string;
    try {
      text = utf8.decode(block);
    } catch {
      throw new MultipartError('multipart part headers are not valid UTF-8');
    }
    const headers = Object.create(null) as Record<string, string>;
    let dispositions = 0;
    let last: string | null = null;
    for (const line of text === '' ? [] : text.split('\r\n')) {
      // A CR or LF left after splitting at CRLF is a bare one: other parsers read it as a
      // line break, so the part's headers would mean different things to different readers.
      if (BARE_CR_LF_NUL.test(line))
        throw new MultipartError('bare CR, LF or NUL in a multipart part header');
      if ((line.startsWith(' ') || line.startsWith('\t')) && last !== null) {
        headers[last] += ' ' + line.trim(); // obsolete line folding
        continue;
      }
      const colon = line.indexOf(':');
      const name = colon === -1 ? '' : line.slice(0, colon);
      if (!TOKEN_RE.test(name)) throw new MultipartError('malformed multipart part header line');
      last = name.toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (last === 'content-disposition') dispositions++;
      const previous = headers[last];
      headers[last] = previous === undefined ? value : `${previous}, ${value}`;
    }
    if (dispositions !== 1) {
      throw new MultipartError('multipart part needs exactly one Content-Disposition header');
    }
    const disposition = parseHeaderParams(
      headers['content-disposition'] ?? '',
      this.#maxHeaderParams,
    );
    if (disposition === null) {
      throw new MultipartError(
        `too many Content-Disposition parameters (more than ${this.#maxHeaderParams})`,
      );
    }
    if (disposition.value !== 'form-data') {
      throw new MultipartError('invalid multipart/form-data: disposition is not form-data');
    }
    const name = disposition.params.name;
    if (!name) throw new MultipartError('multipart/form-data part missing name');
    return {
      name,
      filename: disposition.params.filename ?? null,
      contentType: headers['content-type'] ?? null,
      headers,
    };
  }
}

// Where the bytes that might begin a delimiter start: the longest suffix of buf[from..] that is
// a proper prefix of the delimiter (it starts with CR, so only CR positions are tried).
function heldBackFrom(buf: Buffer, from: number, delimiter: Buffer): number {
  const start = Math.max(from, buf.length - delimiter.length + 1);
  for (let i = buf.indexOf(CR, start); i !== -1; i = buf.indexOf(CR, i + 1)) {
    const tail = buf.length - i;
    if (buf.compare(delimiter, 0, tail, i, buf.length) === 0) return i;
  }
  return buf.length;
}

/** A header value split into its main value and parameters; see {@link parseHeaderParams}. */
export interface HeaderParams {
  /** The part before the first `;`, trimmed and lower-cased (`form-data`, `multipart/…`). */
  value: string;
  /** Parameters, names lower-cased, values unquoted (prototype-free). */
  params: Record<string, string>;
}

/**
 * Parses a header value with parameters, like `Content-Disposition` or `Content-Type`:
 * `form-data; name="a\"b"; filename*=UTF-8''na%C3%AFve.txt`. Quoted values are unquoted
 * (`\x` → `x`); an RFC 5987 extended value (`name*=charset'lang'percent-encoded`, UTF-8 or
 * ISO-8859-1) replaces the plain parameter of the same name; segments without `=` are
 * ignored. One pass over the input, so a value of 100 000 `;` costs 100 000 steps, and more
 * than `maxParams` `;`-separated segments gives `null`.
 *
 * Tornado: `tornado.httputil._parse_header`.
 *
 * @example
 * ```ts
 * parseHeaderParams('form-data; name="field"; filename="a.txt"');
 * // → { value: 'form-data', params: { name: 'field', filename: 'a.txt' } }
 * ```
 */
export function parseHeaderParams(header: string, maxParams = 32): HeaderParams | null {
  const params = Object.create(null) as Record<string, string>;
  const extended = new Set<string>();
  const n = header.length;
  let i = header.indexOf(';');
  if (i === -1) i = n;
  const value = header.slice(0, i).trim().toLowerCase();
  let segments = 0;
  while (i < n) {
    // Here header[i] is ';'.
    i++;
    if (++segments > maxParams) return null;
    let nameEnd = i;
    while (nameEnd < n && header[nameEnd] !== '=' && header[nameEnd] !== ';') nameEnd++;
    const name = header.slice(i, nameEnd).trim().toLowerCase();
    i = nameEnd;
    if (i >= n || header[i] === ';') continue; // no '=': ignored
    i++; // past '='
    while (i < n && (header[i] === ' ' || header[i] === '\t')) i++;
    let raw: string;
    if (header[i] === '"') {
      // Pieces between escapes, joined once: `+=` on millions of tiny pieces builds a deep
      // rope that V8 is slow to flatten.
      const pieces: string[] = [];
      let j = i + 1;
      let chunkStart = j;
      for (; j < n && header[j] !== '"'; j++) {
        if (header[j] === '\\' && j + 1 < n) {
          pieces.push(header.slice(chunkStart, j));
          chunkStart = j + 1;
          j++;
        }
      }
      pieces.push(header.slice(chunkStart, j));
      raw = pieces.join('');
      i = j + 1;
      // Skip anything between the closing quote and the next ';'.
      while (i < n && header[i] !== ';') i++;
    } else {
      let end = header.indexOf(';', i);
      if (end === -1) end = n;
      raw = header.slice(i, end).trim();
      i = end;
    }
    if (name === '') continue;
    if (name.endsWith('*')) {
      const decoded = decodeExtValue(raw);
      const plain = name.slice(0, -1);
      if (decoded !== null && plain !== '') {
        params[plain] = decoded;
        extended.add(plain);
      }
    } else if (!extended.has(name)) {
      params[name] = raw;
    }
  }
  return { value, params };
}

// RFC 5987/8187 ext-value: charset'language'percent-encoded.
function decodeExtValue(raw: string): string | null {
  const first = raw.indexOf("'");
  const second = first === -1 ? -1 : raw.indexOf("'", first + 1);
  if (second === -1) return null;
  const charset = raw.slice(0, first).toLowerCase();
  const encoded = raw.slice(second + 1);
  if (!/^(?:[!#$&+\-.^_`|~0-9A-Za-z]|%[0-9A-Fa-f]{2})*$/.test(encoded)) return null;
  const bytes = Buffer.from(
    encoded.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) =>
      String.fromCharCode(parseInt(hex, 16)),
    ),
    'latin1',
  );
  if (charset === 'utf-8') {
    try {
      return utf8.decode(bytes);
    } catch {
      return null;
    }
  }
  if (charset === 'iso-8859-1') return bytes.toString('latin1');
  return null;
}

/**
 * The boundary of a `multipart/form-data` Content-Type header, or `null` when the header is of
 * another type, has no boundary, or its boundary breaks RFC 2046 (1–70 characters from the
 * allowed set, not ending with a space). The boundary may be quoted.
 *
 * Tornado: the boundary lookup in `tornado.httputil.parse_body_arguments`.
 *
 * @example
 * ```ts
 * parseMultipartBoundary('multipart/form-data; boundary=----WebKitFormBoundaryX'); // '----WebKitFormBoundaryX'
 * parseMultipartBoundary('multipart/form-data; boundary="a b"'); // 'a b'
 * ```
 */
export function parseMultipartBoundary(contentType: string | null | undefined): string | null {
  if (!contentType) return null;
  const parsed = parseHeaderParams(contentType);
  if (parsed === null || parsed.value !== 'multipart/form-data') return null;
  const boundary = parsed.params.boundary;
  return boundary !== undefined && BOUNDARY_RE.test(boundary) ? boundary : null;
}

/** An uploaded file as {@link collectMultipart} builds it by default. */
export interface MultipartFile {
  filename: string;
  body: Buffer;
  /** The part's Content-Type, `application/unknown` when absent (as Tornado). */
  contentType: string;
}

/** Options of {@link collectMultipart}. */
export interface CollectMultipartOptions<F> extends MultipartLimits {
  /** Builds each file (e.g. `(f) => new HTTPFile(f.filename, f.body, f.contentType)`). */
  makeFile?: (file: MultipartFile) => F;
}

/** What {@link collectMultipart} returns: prototype-free maps of name → values / files. */
export interface CollectedMultipart<F> {
  arguments: Record<string, Buffer[]>;
  files: Record<string, F[]>;
}

/**
 * Parses a complete `multipart/form-data` body (one Buffer or the list of its chunks) into
 * arguments and files, as Tornado does: a part with a non-empty filename is a file (with
 * `application/unknown` as its default content type), any other part an argument (raw bytes).
 * Same limits and errors as {@link MultipartParser}.
 *
 * Tornado: `tornado.httputil.parse_multipart_form_data`.
 *
 * @example
 * ```ts
 * const { arguments: args, files } = collectMultipart(boundary, request.body, {
 *   makeFile: (f) => new HTTPFile(f.filename, f.body, f.contentType),
 * });
 * ```
 */
export function collectMultipart<F = MultipartFile>(
  boundary: string,
  body: Buffer | Iterable<Buffer>,
  options: CollectMultipartOptions<F> = {},
): CollectedMultipart<F> {
  const parser = new MultipartParser(boundary, options);
  const makeFile = options.makeFile ?? ((f: MultipartFile) => f as unknown as F);
  const args = Object.create(null) as Record<string, Buffer[]>;
  const files = Object.create(null) as Record<string, F[]>;
  let current: MultipartPart | null = null;
  let pieces: Buffer[] = [];
  const handle = (events: MultipartEvent[]): void => {
    for (const event of events) {
      if (event.type === 'part') {
        current = event.part;
        pieces = [];
      } else if (event.type === 'data') {
        pieces.push(event.data);
      } else if (event.type === 'partEnd' && current !== null) {
        const part: MultipartPart = current;
        const value = pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces);
        if (part.filename) {
          const file = makeFile({
            filename: part.filename,
            body: value,
            contentType: part.contentType ?? 'application/unknown',
          });
          (files[part.name] ??= []).push(file);
        } else {
          (args[part.name] ??= []).push(value);
        }
        current = null;
        pieces = [];
      }
    }
  };
  for (const chunk of Buffer.isBuffer(body) ? [body] : body) handle(parser.feed(chunk));
  parser.end();
  return { arguments: args, files };
}
