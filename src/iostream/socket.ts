/**
 * What an {@link IOStream} hands its socket and its callers besides data: Node's own `end`
 * listener slot shared, a no-op error listener, and the Futures of writes and failures.
 * @module
 */
import * as net from 'node:net';
import { Future, QuietFuture } from '../concurrent.ts';

/** The socket of a stream, which its shared listeners find the stream through. */
export const kStream: unique symbol = Symbol('typhoon.iostream');
/** A socket wrapped by a stream `S`. */
export interface StreamSocket<S> extends net.Socket {
  [kStream]?: S | undefined;
}

/** A client connection (or TLS handshake) under way; rare, so kept out of the stream's fields. */
export interface Connecting<S> {
  future: Future<S>;
  target: string | null;
}

// Node gives every socket one `end` listener of its own. Adding a second turns the socket's
// listener slot into an array (plus the property store Node's emitter puts on it: ~100 bytes
// per connection). So when a socket has exactly that listener, ours replaces it and calls it
// first (the order it would have run in); anything else gets a plain second listener.
export type Listener = (this: net.Socket, ...args: unknown[]) => void;
export const nodeEndListener = ((): Listener | null => {
  const listeners = new net.Socket().listeners('end');
  return listeners.length === 1 ? (listeners[0] as Listener) : null;
})();
/** Remove Node's own `end` listener from `socket` if it is the only one; true if it was. */
export function takeNodeEndListener(socket: net.Socket): boolean {
  if (nodeEndListener === null || socket.listenerCount('end') !== 1) return false;
  if (socket.listeners('end')[0] !== nodeEndListener) return false;
  socket.removeListener('end', nodeEndListener);
  return true;
}

/** An error listener that keeps a socket's errors from going uncaught once no stream owns it. */
export function noop(): void {}

// What `write` returns when the socket took all its bytes at once: one finished Future shared
// by all such writes (a done Future cannot change; creating and resolving one per write was a
// measurable part of an echo round-trip).
export const HANDED_OVER: Future<void> = new QuietFuture<void>();
HANDED_OVER.setResult(undefined);

// Failures handed to a Future the caller may never look at (a write it did not await, a read
// left pending at close) are marked retrieved, as Tornado does, so they are not logged as lost.
export function failQuietly(future: Future<unknown>, error: Error): void {
  if (future.done()) return;
  future.setException(error);
  future.exception();
}

/** A Future already failed with `error`: what a read or write that cannot start returns. */
export function refused<T>(error: Error): Future<T> {
  const future = new Future<T>();
  future.setException(error);
  return future;
}
