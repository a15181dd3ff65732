/**
 * Symbols shared between typhoon's own modules, so internals can cross module boundaries
 * without being reachable by name from user code.
 * @module
 */
export {};

/**
 * `IOStream[kAfterHandshake](tlsSocket, event, target, options)`: wrap a TLS socket whose
 * handshake is under way and resolve once it completes (used by TCPServer and TCPClient).
 */
export const kAfterHandshake: unique symbol = Symbol('typhoon.iostream.afterHandshake');

/** `HandlerOutput[kSetTransforms](transforms)`: the output transforms of one request. */
export const kSetTransforms: unique symbol = Symbol('typhoon.web.setTransforms');

/**
 * `socket[kServerStopping]?.()`: set on an upgraded socket by whoever took it over (a
 * WebSocketHandler); the HTTP server calls it when it stops, to close gracefully (a 1001 close
 * frame) before the connection is cut.
 */
export const kServerStopping: unique symbol = Symbol('typhoon.httpserver.serverStopping');

/** `HandlerOutput[kDetach]()`: the connection was handed to other code (WebSocket, fallback). */
export const kDetach: unique symbol = Symbol('typhoon.web.detach');

/** `HandlerOutput[kFinish](chunk?, callback?)`: finish without making a Future. */
export const kFinish: unique symbol = Symbol('typhoon.web.finish');

/** `HandlerOutput[kFinished]()`: hook run once the response is finished. */
export const kFinished: unique symbol = Symbol('typhoon.web.finished');

/** `RequestHandler[kExecute](args, kwargs, transforms)`: run a matched request. */
export const kExecute: unique symbol = Symbol('typhoon.web.execute');

/** `RequestHandler[kConnectionClose]()`: the client went away. */
export const kConnectionClose: unique symbol = Symbol('typhoon.web.connectionClose');

/** `RequestHandler[kMethodStart]()`: the verb's method is about to run (an event stream opens). */
export const kMethodStart: unique symbol = Symbol('typhoon.web.methodStart');

/** What a source hands items to in push mode (see {@link kPushTo}). */
export interface PushSink<T> {
  /** One item, in order. Returning false pauses the source until `source[kPushResume]()`. */
  push(item: T): boolean;
  /** The source ended: `undefined` when it finished, else its error. Called once. */
  end(error: unknown): void;
}

/**
 * `iterator[kPushTo]?.(sink)`: an async iterator that can also push (a broker stream) hands
 * its items to `sink` as they come, instead of one promise per `next()`. It is then no longer
 * read with `next()`; `return()` still ends it (and `sink.end(undefined)` follows).
 */
export const kPushTo: unique symbol = Symbol('typhoon.pushTo');

/** `iterator[kPushResume]()`: the sink that paused the push (returned false) takes items again. */
export const kPushResume: unique symbol = Symbol('typhoon.pushResume');

/**
 * `connection[kFinishWithLines]?.(status, reason, lines, contentLength, body)`: end a response
 * whose header lines (`Name: value\r\n` each) were checked when they were set, building the
 * header block without a second check. Returns false, having done nothing, when the
 * connection cannot; the caller then uses `writeHeaders` and `finish`.
 */
export const kFinishWithLines: unique symbol = Symbol('typhoon.httpserver.finishWithLines');

/** The method behind {@link kFinishWithLines}. */
export type FinishWithLines = (
  statusCode: number,
  reason: string,
  lines: string,
  contentLength: string,
  body: string | Buffer | null,
) => boolean;
