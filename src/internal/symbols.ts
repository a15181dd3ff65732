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
