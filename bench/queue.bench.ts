/**
 * `Queue` put/get throughput vs a minimal array-and-promise queue.
 *
 * A producer `await`s `put()` for each item while a consumer `await`s `get()`: the consumer
 * is usually already waiting, so most items go straight from a put to a waiting getter, the
 * hand-off path that matters in practice. The peer is the smallest correct unbounded queue one
 * would write by hand (an array of items and an array of waiting resolvers); typhoon's queue
 * also does timeouts, maxsize, taskDone/join and skips abandoned waiters. Samples are items
 * per second, higher is better.
 */
import type { Bench, BenchFactory } from './harness.ts';
import { Queue } from '../src/queues.ts';

interface PutGet {
  put(item: number): PromiseLike<void>;
  get(): PromiseLike<number>;
}

/** The hand-written peer. */
class MinimalQueue implements PutGet {
  #items: number[] = [];
  #waiters: Array<(item: number) => void> = [];
  put(item: number): Promise<void> {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(item);
    else this.#items.push(item);
    return Promise.resolve();
  }
  get(): Promise<number> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift()!);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

async function throughput(q: PutGet, n: number): Promise<number> {
  const start = process.hrtime.bigint();
  const consumer = (async () => {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += await q.get();
    return sum;
  })();
  for (let i = 0; i < n; i++) await q.put(1);
  const sum = await consumer;
  if (sum !== n) throw new Error(`lost items: ${sum} of ${n}`);
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

const factory: BenchFactory = ({ smoke }) => {
  const n = smoke ? 20_000 : 500_000;
  const benches: Bench[] = [
    {
      name: 'queue put/get hand-off (producer and consumer coroutines)',
      unit: 'items/s',
      higherIsBetter: true,
      contenders: [
        { name: 'typhoon Queue', measure: () => throughput(new Queue<number>(), n) },
        {
          name: 'typhoon Queue (maxsize 100)',
          measure: () => throughput(new Queue<number>({ maxsize: 100 }), n),
        },
        { name: 'array + promise queue', measure: () => throughput(new MinimalQueue(), n) },
      ],
      baseline: 'array + promise queue',
    },
  ];
  return benches;
};
export default factory;
