/**
 * Looping over an asynchronous cursor, as in the guide: the loop condition itself must wait,
 * so it is `while (yield cursor.fetchNext)` in a generator coroutine, or `for await` over an
 * async iterator. The cursor here is a small in-memory stand-in for a database driver's
 * (Motor's) cursor that fetches documents in batches.
 *
 * Run it: `node examples/guide/async-cursor.ts`
 * Tornado guide: "Coroutines" → "Looping".
 */
import { Future } from '../../src/concurrent.ts';
import { coroutine, sleep } from '../../src/gen.ts';

/** A cursor over in-memory documents that fetches `batchSize` at a time, asynchronously. */
export class InMemoryCursor<T> implements AsyncIterable<T> {
  /** How many batch fetches were made (to show the batching). */
  fetches = 0;
  #docs: T[];
  #batchSize: number;
  #position = 0;
  #buffer: T[] = [];

  constructor(docs: T[], batchSize = 2) {
    this.#docs = [...docs];
    this.#batchSize = batchSize;
  }

  /**
   * A Future that is `true` when a document is ready for {@link nextObject}, `false` at the
   * end; it fetches a new batch when the buffer is empty.
   */
  get fetchNext(): Future<boolean> {
    const future = new Future<boolean>();
    if (this.#buffer.length > 0) {
      future.setResult(true);
      return future;
    }
    if (this.#position >= this.#docs.length) {
      future.setResult(false);
      return future;
    }
    this.fetches++;
    void sleep(2).then(() => {
      this.#buffer = this.#docs.slice(this.#position, this.#position + this.#batchSize);
      this.#position += this.#buffer.length;
      future.setResult(true);
    });
    return future;
  }

  /** The next document; only after `fetchNext` gave `true`. */
  nextObject(): T {
    const doc = this.#buffer.shift();
    if (doc === undefined) throw new Error('nextObject() without a successful fetchNext');
    return doc;
  }

  /** The `for await` form. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (await this.fetchNext) yield this.nextObject();
  }
}

/** The guide's generator loop: `while (yield cursor.fetchNext) doc = cursor.nextObject()`. */
export const loopExample = coroutine(function* <T>(cursor: InMemoryCursor<T>) {
  const seen: T[] = [];
  while ((yield cursor.fetchNext) as boolean) {
    seen.push(cursor.nextObject());
  }
  return seen;
});

/** The same with `for await`. */
export async function loopForAwait<T>(cursor: InMemoryCursor<T>): Promise<T[]> {
  const seen: T[] = [];
  for await (const doc of cursor) seen.push(doc);
  return seen;
}

if (import.meta.filename === process.argv[1]) {
  const docs = [{ _id: 1 }, { _id: 2 }, { _id: 3 }, { _id: 4 }, { _id: 5 }];
  const c1 = new InMemoryCursor(docs);
  console.log('generator loop:', await loopExample(c1), `(${c1.fetches} batch fetches)`);
  const c2 = new InMemoryCursor(docs);
  console.log('for await:', await loopForAwait(c2), `(${c2.fetches} batch fetches)`);
}
