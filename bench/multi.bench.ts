/**
 * `multi` of 1000 Futures vs `Promise.all` of 1000 Promises (issue 2 target: ≤ 1.5×).
 *
 * "Pending": the children are created, the parallel wait starts, then every child completes
 * — the usual shape of a fan-out. "Completed": every child is already done when the wait
 * starts. Samples are µs per 1000-child wait, lower is better.
 */
import type { Bench, BenchFactory } from './harness.ts';
import { Future, resolvedFuture } from '../src/concurrent.ts';
import { multi } from '../src/gen.ts';

const CHILDREN = 1000;

async function time(n: number, op: () => Promise<number>): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const sum = await op();
    if (sum !== CHILDREN) throw new Error(`wrong sum ${sum}`);
  }
  return Number(process.hrtime.bigint() - start) / n / 1000;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

async function multiPending(): Promise<number> {
  const children = new Array<Future<number>>(CHILDREN);
  for (let i = 0; i < CHILDREN; i++) children[i] = new Future<number>();
  const all = multi(children);
  for (let i = 0; i < CHILDREN; i++) children[i]!.setResult(1);
  return sum(await all);
}

async function promiseAllPending(): Promise<number> {
  const resolvers = new Array<(v: number) => void>(CHILDREN);
  const children = new Array<Promise<number>>(CHILDREN);
  for (let i = 0; i < CHILDREN; i++) {
    const { promise, resolve } = Promise.withResolvers<number>();
    children[i] = promise;
    resolvers[i] = resolve;
  }
  const all = Promise.all(children);
  for (let i = 0; i < CHILDREN; i++) resolvers[i]!(1);
  return sum(await all);
}

const doneFutures = Array.from({ length: CHILDREN }, () => resolvedFuture(1));
const donePromises = Array.from({ length: CHILDREN }, () => Promise.resolve(1));

const factory: BenchFactory = ({ smoke }) => {
  const n = smoke ? 50 : 3_000;
  const benches: Bench[] = [
    {
      name: `parallel wait on ${CHILDREN} pending children`,
      unit: 'µs/wait',
      higherIsBetter: false,
      target: 'typhoon multi ≤ 1.5x Promise.all',
      contenders: [
        { name: 'typhoon multi', measure: () => time(n, multiPending) },
        { name: 'Promise.all', measure: () => time(n, promiseAllPending) },
      ],
    },
    {
      name: `parallel wait on ${CHILDREN} completed children`,
      unit: 'µs/wait',
      higherIsBetter: false,
      target: 'typhoon multi ≤ 1.5x Promise.all',
      contenders: [
        {
          name: 'typhoon multi',
          measure: () => time(n, async () => sum(await multi(doneFutures))),
        },
        {
          name: 'Promise.all',
          measure: () => time(n, async () => sum(await Promise.all(donePromises))),
        },
      ],
    },
  ];
  return benches;
};
export default factory;
