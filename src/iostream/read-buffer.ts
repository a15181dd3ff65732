/**
 * Searching and copying the read buffer of an {@link IOStream}. Arriving chunks are kept as they
 * came, in a list, with an offset into the first one; positions are relative to the unread
 * start. A read that is satisfied by the first chunk gets a view of it (no copy); only a read
 * that spans chunks copies, and then only the bytes it returns. The delimiter search remembers
 * how far it got (`scanned`), so a line arriving in many small pieces is scanned once, not once
 * per piece.
 *
 * ```
 *   chunks:  [ ....|xxxxxxxx ] [ xxxxxxxxxxxxx ] [ xxxxx ]
 *                  ^ offset      <------------ size ------------>
 * ```
 * @module
 */

import { Buffer } from 'node:buffer';

export const EMPTY = Buffer.alloc(0);
/** The chunk list of an empty buffer: shared and never mutated, so an idle stream owns no array. */
export const NO_CHUNKS: Buffer[] = [];

// `readUntil('\n')` in a loop would otherwise encode the same delimiter on every call.
let lastDelimiterText = '';
let lastDelimiterBytes: Buffer = EMPTY;
/** `delimiter` as bytes (a string is encoded as UTF-8). */
export function delimiterBytes(delimiter: string | Uint8Array): Buffer {
  if (typeof delimiter !== 'string') {
    return Buffer.isBuffer(delimiter)
      ? delimiter
      : Buffer.from(delimiter.buffer, delimiter.byteOffset, delimiter.byteLength);
  }
  if (delimiter !== lastDelimiterText) {
    lastDelimiterBytes = Buffer.from(delimiter, 'utf8');
    lastDelimiterText = delimiter;
  }
  return lastDelimiterBytes;
}

/** Copy of buffered bytes [from, to). */
export function copyRange(chunks: Buffer[], offset: number, from: number, to: number): Buffer {
  const out = Buffer.allocUnsafe(to - from);
  let abs = 0;
  let written = 0;
  for (let i = 0; i < chunks.length && abs < to; i++) {
    const chunk = chunks[i]!;
    const start = i === 0 ? offset : 0;
    const len = chunk.length - start;
    const lo = Math.max(from - abs, 0);
    const hi = Math.min(to - abs, len);
    if (hi > lo) written += chunk.copy(out, written, start + lo, start + hi);
    abs += len;
  }
  return out;
}

/**
 * End position (exclusive) of the first `delimiter` in the `size` buffered bytes, searching
 * from `scanned` (bytes known not to start it), or -1. Matches inside one chunk are found with
 * indexOf; a match straddling chunks is found in a small window copied around the boundary.
 */
export function findDelimiter(
  chunks: Buffer[],
  offset: number,
  size: number,
  scanned: number,
  delimiter: Buffer,
): number {
  const d = delimiter.length;
  // One byte (a newline): searching for a number is cheaper in Node than for a buffer.
  const needle = d === 1 ? delimiter[0]! : delimiter;
  let abs = 0;
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i]!;
    const start = i === 0 ? offset : 0;
    const chunkEnd = abs + chunk.length - start;
    if (chunkEnd > scanned) {
      const from = Math.max(scanned - abs, 0);
      const idx = chunk.indexOf(needle, start + from);
      if (idx >= 0) return abs + (idx - start) + d;
      if (d > 1 && i + 1 < chunks.length) {
        const wStart = Math.max(chunkEnd - (d - 1), scanned);
        const wEnd = Math.min(chunkEnd + d - 1, size);
        const widx = copyRange(chunks, offset, wStart, wEnd).indexOf(delimiter);
        if (widx >= 0) return wStart + widx + d;
      }
    }
    abs = chunkEnd;
  }
  return -1;
}
