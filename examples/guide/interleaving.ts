/**
 * Interleaving, as in the guide: save a Future instead of waiting for it at once, start the
 * next operation, and only then wait. Here each chunk's fetch is started before the previous
 * chunk is flushed, so fetching and flushing overlap.
 *
 * Run it: `node examples/guide/interleaving.ts`
 * Tornado guide: "Coroutines" → "Interleaving".
 */
import { Future } from '../../src/concurrent.ts';
import { coroutine, sleep } from '../../src/gen.ts';

/** A source of chunks with slow fetches and slow flushes, logging what happens. */
export class ChunkSource {
  readonly log: string[] = [];
  #chunks: string[];
  #index = 0;

  constructor(chunks: string[]) {
    this.#chunks = [...chunks];
  }

  /** Fetch the next chunk; `null` at the end. */
  fetchNextChunk(): Future<string | null> {
    const chunk = this.#chunks[this.#index++] ?? null;
    this.log.push(`fetch start ${chunk ?? 'end'}`);
    const future = new Future<string | null>();
    void sleep(5).then(() => {
      this.log.push(`fetch done ${chunk ?? 'end'}`);
      future.setResult(chunk);
    });
    return future;
  }

  /** Write a chunk to the (pretend) client and wait until it is flushed. */
  flush(chunk: string): Future<void> {
    this.log.push(`flush start ${chunk}`);
    const future = new Future<void>();
    void sleep(8).then(() => {
      this.log.push(`flush done ${chunk}`);
      future.setResult();
    });
    return future;
  }
}

/** The guide's handler: the fetch of chunk n+1 runs while chunk n is being flushed. */
export const streamChunks = coroutine(function* (source: ChunkSource) {
  let fetchFuture = source.fetchNextChunk();
  const written: string[] = [];
  for (;;) {
    const chunk = (yield fetchFuture) as string | null;
    if (chunk === null) break;
    written.push(chunk);
    fetchFuture = source.fetchNextChunk(); // start the next fetch now...
    yield source.flush(chunk); // ...and wait for this flush meanwhile
  }
  return written;
});

if (import.meta.filename === process.argv[1]) {
  const source = new ChunkSource(['a', 'b', 'c']);
  console.log('written:', await streamChunks(source));
  for (const line of source.log) console.log(line);
}
