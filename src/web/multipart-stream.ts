/**
 * Streaming `multipart/form-data` uploads: a handler that receives each part of a form as it
 * arrives — its headers, then its bytes piece by piece, then its end — so a file of any size
 * goes to disk (or anywhere) without ever sitting in memory. Tornado leaves this to its users
 * (`@stream_request_body` gives raw chunks only); here the parsing is done for you, bounded in
 * parts, header bytes, header parameters and bytes per part.
 *
 * Subclass {@link MultipartStreamHandler}, implement `onPartBegin` / `onPartData` /
 * `onPartEnd` (each may return a Promise: the upload pauses until it settles), and answer in
 * `post()` (or `put()`), which runs once the closing boundary arrived. A malformed body gets
 * 400, a part over `maxPartBytes` or a body over `maxBodySize` 413, a non-multipart body 415.
 *
 * @example
 * ```ts
 * class Upload extends MultipartStreamHandler {
 *   static override maxBodySize = 8 * 1024 ** 3;
 *   #file: fs.WriteStream | null = null;
 *   override onPartBegin(part: StreamedPart) {
 *     if (part.filename !== null) this.#file = fs.createWriteStream(`/uploads/${randomUUID()}`);
 *   }
 *   override onPartData(chunk: Buffer) {
 *     if (this.#file && !this.#file.write(chunk)) return once(this.#file, 'drain');
 *   }
 *   override async onPartEnd() {
 *     this.#file?.end();
 *     this.#file = null;
 *   }
 *   override post() { this.write({ ok: true }); }
 * }
 * ```
 * Tornado: `tornado.web.stream_request_body` plus what `parse_multipart_form_data` does,
 * made incremental.
 * @module
 */
import { Buffer } from 'node:buffer';
import { HTTPError } from '../errors.ts';
import { isThenable } from '../concurrent.ts';
import {
  MultipartError,
  MultipartParser,
  parseMultipartBoundary,
  type MultipartEvent,
} from '../internal/multipart.ts';
import { RequestHandler } from './request-handler.ts';
import { kBodyComplete } from './stream-body.ts';

/** One part of a streamed multipart body, as {@link MultipartStreamHandler.onPartBegin} gets it. */
export interface StreamedPart {
  /** The form field's name (`Content-Disposition`'s `name`). */
  name: string;
  /** The uploaded file's name (`filename*` wins over `filename`), or `null` for a plain field. */
  filename: string | null;
  /** The part's `Content-Type`, or `null` when absent. */
  contentType: string | null;
  /** All the part's headers, names lower-cased (prototype-free). */
  headers: Record<string, string>;
}

/** Limits of a {@link MultipartStreamHandler}; crossing one answers 400 (counts) or 413 (sizes). */
export interface MultipartStreamLimits {
  /** Most parts in one body. Default 1 000. */
  maxParts?: number;
  /** Most bytes of one part's header block. Default 16 384. */
  maxHeaderBytes?: number;
  /** Most `;`-separated parameters in one part header. Default 32. */
  maxHeaderParams?: number;
  /** Most bytes in one part. Default unlimited (the body limit still applies). */
  maxPartBytes?: number;
}

/**
 * Base class of handlers that stream `multipart/form-data` bodies part by part (see the module
 * documentation). `streamRequestBody` is on; set `static maxBodySize` for large uploads (the
 * server's `maxBodySize`, 100 MiB by default, applies otherwise) and `multipartLimits` (in
 * `initialize` or `prepare`) to bound the parts.
 *
 * Tornado: a `@stream_request_body` handler with an incremental multipart parser.
 */
export class MultipartStreamHandler extends RequestHandler {
  static override streamRequestBody = true;

  /** Bounds of the parser, read when the first body chunk arrives. */
  multipartLimits: MultipartStreamLimits = {};

  #parser: MultipartParser | null = null;
  #inPart = false;

  /** A part starts: its name, filename, content type and headers. Tornado: none. */
  onPartBegin(_part: StreamedPart): unknown {
    return undefined;
  }

  /** Bytes of the current part, in order, as they arrive (never the whole part at once). */
  onPartData(_chunk: Buffer): unknown {
    return undefined;
  }

  /** The current part is complete. */
  onPartEnd(): unknown {
    return undefined;
  }

  #parserFor(): MultipartParser {
    if (this.#parser !== null) return this.#parser;
    const contentType = this.request.headers.get('Content-Type');
    const boundary = parseMultipartBoundary(contentType);
    if (boundary === null) {
      throw new HTTPError(
        415,
        `expected multipart/form-data with a boundary, got ${JSON.stringify(contentType ?? '')}`,
      );
    }
    this.#parser = new MultipartParser(boundary, this.multipartLimits);
    return this.#parser;
  }

  override dataReceived(chunk: Buffer): unknown {
    let events: MultipartEvent[];
    try {
      events = this.#parserFor().feed(chunk);
    } catch (error) {
      throw asHTTPError(error);
    }
    return this.#dispatch(events, 0);
  }

  // Runs the callbacks for `events` in order, synchronously until one returns a Promise.
  #dispatch(events: MultipartEvent[], from: number): unknown {
    for (let i = from; i < events.length; i++) {
      const event = events[i]!;
      let result: unknown;
      if (event.type === 'part') {
        this.#inPart = true;
        const { name, filename, contentType, headers } = event.part;
        result = this.onPartBegin({ name, filename, contentType, headers });
      } else if (event.type === 'data') {
        result = this.onPartData(event.data);
      } else if (event.type === 'partEnd') {
        this.#inPart = false;
        result = this.onPartEnd();
      }
      if (isThenable(result))
        return Promise.resolve(result).then(() => this.#dispatch(events, i + 1));
    }
    return undefined;
  }

  /** @internal The body is complete: it must have ended with the closing boundary. */
  [kBodyComplete](): void {
    try {
      this.#parserFor().end();
    } catch (error) {
      throw asHTTPError(error);
    }
    if (this.#inPart) throw new HTTPError(400, 'multipart body ended inside a part');
  }
}

function asHTTPError(error: unknown): unknown {
  if (error instanceof MultipartError) {
    return new HTTPError(error.status, error.message, { cause: error });
  }
  return error;
}
