/**
 * Response-body decoding for the HTTP client: `Content-Encoding` parsing and a streaming
 * decoder (gzip, deflate, br) whose *output* is bounded, so a gzip bomb stops at the limit
 * instead of filling memory. Layer 0: it knows nothing of typhoon's errors; it reports
 * failures as {@link DecodeError} with a `reason` the client turns into its own error.
 * @module
 */
import { Buffer } from 'node:buffer';
import * as zlib from 'node:zlib';
import type { Transform } from 'node:stream';

/** Codings the decoder understands. `x-gzip` is the historical alias of gzip. */
const KNOWN = new Set(['gzip', 'x-gzip', 'deflate', 'br']);

/** At most this many stacked codings are decoded; more is refused (each one costs a stream). */
export const MAX_CONTENT_ENCODINGS = 3;

/** Why decoding failed. */
export type DecodeFailure = 'too-large' | 'too-many-encodings' | 'corrupt';

/** A decoding failure; `reason` says which kind. */
export class DecodeError extends Error {
  readonly reason: DecodeFailure;
  constructor(reason: DecodeFailure, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'DecodeError';
    this.reason = reason;
  }
}

/**
 * Parse a `Content-Encoding` value into the codings in the order they were applied, without
 * `identity`. Returns `null` when the body should be left as it is: no coding, or one this
 * decoder does not know (the caller then passes the bytes through untouched, as Tornado
 * does). Throws {@link DecodeError} `too-many-encodings` past {@link MAX_CONTENT_ENCODINGS}.
 */
export function parseContentEncoding(value: string | undefined): string[] | null {
  if (value === undefined || value === '') return null;
  const codings: string[] = [];
  for (const part of value.split(',')) {
    const coding = part.trim().toLowerCase();
    if (coding === '' || coding === 'identity') continue;
    codings.push(coding);
  }
  if (codings.length === 0) return null;
  if (codings.length > MAX_CONTENT_ENCODINGS) {
    throw new DecodeError(
      'too-many-encodings',
      `Response has ${codings.length} stacked Content-Encodings (at most ${MAX_CONTENT_ENCODINGS} are decoded)`,
    );
  }
  for (const coding of codings) if (!KNOWN.has(coding)) return null;
  return codings;
}

/** Where a {@link BodyDecoder} delivers its output. */
export interface DecoderSink {
  /** A decoded chunk. */
  data(chunk: Buffer): void;
  /** All input was decoded. */
  end(): void;
  /** Decoding failed; nothing more will be delivered. */
  error(err: DecodeError): void;
}

/** True if `head` starts with a zlib header (RFC 1950): servers send `deflate` both ways. */
function isZlibHeader(head: Buffer): boolean {
  const cmf = head[0]!;
  const flg = head[1]!;
  return (cmf & 0x0f) === 8 && ((cmf << 8) | flg) % 31 === 0;
}

function makeStage(coding: string, head: Buffer | null): Transform {
  switch (coding) {
    case 'br':
      return zlib.createBrotliDecompress();
    case 'deflate':
      return head !== null && head.length >= 2 && !isZlibHeader(head)
        ? zlib.createInflateRaw()
        : zlib.createInflate();
    default:
      // Servers often end gzip streams without the trailer; accept what decoded.
      return zlib.createGunzip({ finishFlush: zlib.constants.Z_SYNC_FLUSH });
  }
}

/**
 * A streaming decoder for a stack of codings. Write the raw body with {@link BodyDecoder.write},
 * then call {@link BodyDecoder.end}; decoded chunks reach the sink. The decoded size is counted
 * as it is produced and decoding stops with `too-large` once it passes `maxOutput`.
 * The zlib streams are created on the first non-empty chunk, so an empty body (HEAD, 204)
 * decodes to nothing instead of failing as a truncated stream.
 */
export class BodyDecoder {
  #codings: string[];
  #maxOutput: number;
  #sink: DecoderSink;
  #first: Transform | null = null;
  #stages: Transform[] = [];
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #output = 0;
  #ended = false;
  #finished = false;

  constructor(codings: string[], maxOutput: number, sink: DecoderSink) {
    this.#codings = codings;
    this.#maxOutput = maxOutput;
    this.#sink = sink;
  }

  /** Decoded bytes delivered so far. */
  get outputBytes(): number {
    return this.#output;
  }

  /** Feed raw body bytes. */
  write(chunk: Buffer): void {
    if (this.#finished || chunk.length === 0) return;
    if (this.#first === null) {
      // The outermost coding is the last applied; deflate is sniffed from its first two
      // bytes, which may arrive split across chunks.
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
      if (this.#pendingBytes < 2) return;
      const head = Buffer.concat(this.#pending);
      this.#pending = [];
      this.#build(head);
      this.#first!.write(head);
      return;
    }
    this.#first.write(chunk);
  }

  /** No more input. */
  end(): void {
    if (this.#finished || this.#ended) return;
    this.#ended = true;
    if (this.#first === null) {
      if (this.#pendingBytes === 0) {
        this.#finish();
        return;
      }
      const head = Buffer.concat(this.#pending);
      this.#pending = [];
      this.#build(head);
    }
    this.#first!.end();
  }

  /** Stop decoding and release the zlib streams; the sink hears nothing more. */
  destroy(): void {
    this.#finished = true;
    for (const stage of this.#stages) stage.destroy();
    this.#stages = [];
  }

  #build(head: Buffer): void {
    const order = [...this.#codings].reverse();
    const stages = order.map((coding, i) => makeStage(coding, i === 0 ? head : null));
    this.#stages = stages;
    this.#first = stages[0]!;
    for (let i = 0; i < stages.length; i++) {
      const stage = stages[i]!;
      stage.on('error', (err: Error) =>
        this.#fail(
          new DecodeError(
            'corrupt',
            `Error decoding ${order[i]} response body: ${err.message}`,
            err,
          ),
        ),
      );
      const next = stages[i + 1];
      if (next !== undefined) stage.pipe(next);
    }
    const last = stages[stages.length - 1]!;
    last.on('data', (chunk: Buffer) => {
      if (this.#finished) return;
      this.#output += chunk.length;
      if (this.#output > this.#maxOutput) {
        this.#fail(
          new DecodeError(
            'too-large',
            `Decoded response body exceeds maxBodySize (${this.#maxOutput} bytes)`,
          ),
        );
        return;
      }
      this.#sink.data(chunk);
    });
    last.on('end', () => this.#finish());
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#sink.end();
  }

  #fail(err: DecodeError): void {
    if (this.#finished) return;
    this.destroy();
    this.#sink.error(err);
  }
}
