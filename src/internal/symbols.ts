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
