/**
 * Streamed request bodies: the link between the application's dispatcher, which receives a
 * request's body chunk by chunk from the server, and a handler class with
 * `static streamRequestBody = true`, whose `dataReceived(chunk)` gets each chunk.
 *
 * The order is Tornado's: the handler is created as soon as the headers arrive and runs
 * `prepare()` (which may raise the body limit with `this.request.connection.setMaxBodySize`,
 * or refuse the request) before any of the body is read; then every chunk goes to
 * `dataReceived`, one at a time — a Promise it returns holds the next chunk back and pauses
 * the socket, so a slow consumer slows the client down instead of filling memory; when the
 * body is complete the HTTP method runs. An exception in `dataReceived` ends the request with
 * its error page (an `HTTPError`'s status, else 500) and closes the connection.
 * ```
 * headers ─▶ initialize, prepare ─▶ dataReceived(c1) ─▶ dataReceived(c2) … ─▶ post()
 *             (server waits)          (socket paused while a returned Promise is pending)
 * ```
 * Internal to the web layer; users only see `streamRequestBody` and `dataReceived`.
 *
 * Tornado: `tornado.web.stream_request_body` and `_HandlerDelegate`'s streaming path.
 * @module
 */
import { Buffer } from 'node:buffer';
import { isThenable } from '../concurrent.ts';
import type { HTTPServerRequest } from '../httputil/index.ts';

/**
 * A handler may define a method under this symbol: it is called (and awaited) once the whole
 * body was received, before the HTTP method runs — the multipart handler checks there that the
 * closing boundary came.
 */
export const kBodyComplete: unique symbol = Symbol('typhoon.bodyComplete');

/** What the gate needs from a streaming handler. */
export interface StreamingHandler {
  readonly request: HTTPServerRequest;
  readonly finished: boolean;
  prepare(): unknown;
  dataReceived(chunk: Buffer): unknown;
  [kBodyComplete]?(): unknown;
}

const bodies = new WeakMap<object, StreamedBody>();
const noop = (): void => undefined;

/**
 * One streamed body, between the dispatcher (`deliver`, `end`, `abort`) and its handler
 * (`run`). See the module documentation.
 *
 * @example
 * ```ts
 * const body = new StreamedBody(handler);   // in headersReceived, before the handler runs
 * return body.prepared;                     // the server reads the body once prepare() ran
 * // dataReceived(chunk): return body.deliver(chunk);  finish(): body.end();
 * ```
 */
export class StreamedBody {
  readonly #handler: StreamingHandler;
  /** Settles when `prepare()` has run (or the request ended without it): read the body then. */
  readonly prepared: Promise<void>;
  #markPrepared!: () => void;
  readonly #ended: Promise<void>;
  #resolveEnded!: () => void;
  #rejectEnded!: (error: unknown) => void;
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;
  #dead = false;

  constructor(handler: StreamingHandler) {
    this.#handler = handler;
    this.prepared = new Promise<void>((resolve) => {
      this.#markPrepared = resolve;
    });
    this.#ended = new Promise<void>((resolve, reject) => {
      this.#resolveEnded = resolve;
      this.#rejectEnded = reject;
    });
    // Nobody awaits the end when prepare() finished the request; that is not a failure.
    this.#ended.catch(noop);
    bodies.set(handler, this);
  }

  /** `prepare()`, then the whole body, then the end-of-body hook; the method runs after. */
  async run(): Promise<void> {
    const handler = this.#handler;
    try {
      await handler.prepare();
    } catch (error) {
      this.#dead = true;
      throw error;
    } finally {
      this.#markPrepared();
    }
    if (handler.finished) {
      this.#dead = true;
      return;
    }
    await this.#ended;
    if (handler.finished) return;
    const complete = handler[kBodyComplete];
    if (complete !== undefined) await complete.call(handler);
  }

  /** A chunk of the body; returns a Promise while the handler is still busy with earlier ones. */
  deliver(chunk: Buffer): void | Promise<void> {
    if (this.#dead) return;
    if (this.#pending > 0) {
      this.#pending++;
      const next = this.#tail.then(() => {
        this.#pending--;
        return this.#deliverNow(chunk);
      });
      this.#tail = next;
      return next;
    }
    return this.#deliverNow(chunk);
  }

  #deliverNow(chunk: Buffer): void | Promise<void> {
    const handler = this.#handler;
    if (this.#dead || handler.finished) return;
    let result: unknown;
    try {
      result = handler.dataReceived(chunk);
    } catch (error) {
      this.#fail(error);
      return;
    }
    if (!isThenable(result)) return;
    this.#pending++;
    const done = Promise.resolve(result).then(
      () => {
        this.#pending--;
      },
      (error: unknown) => {
        this.#pending--;
        this.#fail(error);
      },
    );
    this.#tail = done;
    return done;
  }

  /** The body is complete (after every chunk the handler is still working on). */
  end(): void {
    if (this.#dead) return;
    if (this.#pending === 0) this.#resolveEnded();
    else
      void this.#tail.then(() => {
        if (!this.#dead) this.#resolveEnded();
      });
  }

  /** The connection closed or the server refused the body: drop everything, run nothing. */
  abort(): void {
    this.#dead = true;
    this.#markPrepared();
  }

  #fail(error: unknown): void {
    if (this.#dead) return;
    this.#dead = true;
    // The rest of the body will not be read: the connection cannot carry another request.
    const res = this.#handler.request.connection?.raw.res;
    if (res !== undefined) res.shouldKeepAlive = false;
    this.#rejectEnded(error);
  }
}

/**
 * Runs a streaming handler's `prepare()` followed by its body (when the dispatcher attached
 * one), else just `prepare()`. Called by the handler's lifecycle in place of `prepare()`.
 *
 * @example
 * ```ts
 * const prepared = streamRequestBody ? prepareWithBody(handler) : handler.prepare();
 * ```
 */
export function prepareWithBody(handler: StreamingHandler): unknown {
  const body = bodies.get(handler);
  return body === undefined ? handler.prepare() : body.run();
}
