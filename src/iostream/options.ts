/**
 * The options of an {@link IOStream} and its buffer limits, which consecutive streams created
 * with the same values share.
 * @module
 */
/** Options of {@link IOStream}. */
export interface IOStreamOptions {
  /**
   * Most bytes the read buffer may hold while a read waits for more; past it the read fails
   * with {@link typhoon/errors!StreamBufferFullError | StreamBufferFullError} and the stream closes. Bytes beyond what the reads ask
   * for are not held against it: with no read pending, the stream stops reading from the
   * socket once this much (or 64 KiB) is buffered. Default 100 MiB.
   */
  maxBufferSize?: number;
  /**
   * Most bytes that may wait in the write queue (written but not yet handed to the OS); a
   * `write()` that would pass it fails with {@link typhoon/errors!StreamBufferFullError | StreamBufferFullError} and the stream stays
   * open. Default: no limit (as Tornado) — await `write()` to apply backpressure.
   */
  maxWriteBufferSize?: number;
}

/** Extra options of {@link IOStream.connect}: where to connect from. */
export interface ConnectOptions {
  /** Local address to connect from (Tornado: `source_ip`). */
  localAddress?: string;
  /** Local port to connect from (Tornado: `source_port`). */
  localPort?: number;
  /** Address family to resolve `host` to: 4, 6, or 0 for either (default). */
  family?: 0 | 4 | 6;
}

/** Options of {@link IOStream.readUntil} and {@link IOStream.readUntilRegex}. */
export interface ReadUntilOptions {
  /**
   * Fail with {@link typhoon/errors!UnsatisfiableReadError | UnsatisfiableReadError} (and close the stream) when the delimiter or match
   * has not ended within this many bytes.
   */
  maxBytes?: number;
}

/** Options of {@link IOStream.readBytes} and {@link IOStream.readInto}. */
export interface ReadBytesOptions {
  /** Resolve as soon as at least one byte is available, with up to the requested count. */
  partial?: boolean;
}

/**
 * Default {@link IOStreamOptions.maxBufferSize}: 100 MiB, as Tornado's `max_buffer_size`.
 *
 * @example
 * ```ts
 * new IOStream(socket, { maxBufferSize: DEFAULT_MAX_BUFFER_SIZE / 100 }); // 1 MiB
 * ```
 */
export const DEFAULT_MAX_BUFFER_SIZE = 100 * 1024 * 1024;

/** @internal The buffer limits, shared by consecutive streams created with the same limits (a server
// creates all its connections' streams with one set) instead of two fields per stream. */
export interface Limits {
  readonly maxBufferSize: number;
  readonly maxWriteBufferSize: number;
}
const DEFAULT_LIMITS: Limits = {
  maxBufferSize: DEFAULT_MAX_BUFFER_SIZE,
  maxWriteBufferSize: Infinity,
};
let lastLimits: Limits = DEFAULT_LIMITS;
/** @internal The shared {@link Limits} of `options` (validated). */
export function limitsOf(options: IOStreamOptions): Limits {
  const maxBufferSize = options.maxBufferSize ?? DEFAULT_MAX_BUFFER_SIZE;
  const maxWriteBufferSize = options.maxWriteBufferSize ?? Infinity;
  if (
    maxBufferSize === lastLimits.maxBufferSize &&
    maxWriteBufferSize === lastLimits.maxWriteBufferSize
  ) {
    return lastLimits;
  }
  if (!(maxBufferSize > 0)) throw new RangeError('maxBufferSize must be positive');
  if (!(maxWriteBufferSize >= 0)) throw new RangeError('maxWriteBufferSize must be >= 0');
  lastLimits = { maxBufferSize, maxWriteBufferSize };
  return lastLimits;
}

/** @internal With no read pending, a stream stops reading from its socket once this much is buffered. */
export const PAUSE_THRESHOLD = 64 * 1024;

/** @internal The options of a stream created without any. */
export const NO_OPTIONS: IOStreamOptions = {};
