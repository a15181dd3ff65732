/**
 * A generator coroutine vs the same `async` function vs the npm package `co` (issue 2 target:
 * typhoon's generator coroutine ≤ 2× the async function, and faster than `co`).
 *
 * Each operation calls a coroutine that waits on ten things and sums them, and awaits its
 * result once. "Completed work": the ten are already-finished Futures (typhoon's runner
 * resumes the generator synchronously for those; async/await and co take a microtask per
 * wait). "Pending work": each wait is on a Future finished a microtask later, so every
 * contender really suspends. Samples are ns per coroutine call; lower is better.
 */
import co from 'co';
import type { Bench, BenchFactory } from './harness.ts';
import { Future, resolvedFuture } from '../src/concurrent.ts';
import { coroutine } from '../src/gen.ts';

const WAITS = 10;

const typhoonSum = coroutine(function* (items: ReadonlyArray<() => PromiseLike<number>>) {
  let sum = 0;
  for (const item of items) sum += (yield item()) as number;
  return sum;
});

async function asyncSum(items: ReadonlyArray<() => PromiseLike<number>>): Promise<number> {
  let sum = 0;
  for (const item of items) sum += await item();
  return sum;
}

const coSum = co.wrap(function* (items: ReadonlyArray<() => PromiseLike<number>>) {
  let sum = 0;
  for (const item of items) sum += (yield item()) as number;
  return sum;
});

type Sum = (items: ReadonlyArray<() => PromiseLike<number>>) => PromiseLike<number>;

async function timeCalls(fn: Sum, items: ReadonlyArray<() => PromiseLike<number>>, n: number) {
  const start = process.hrtime.bigint();
  let total = 0;
  for (let i = 0; i < n; i++) total += await fn(items);
  const ns = Number(process.hrtime.bigint() - start) / n;
  if (total !== n * WAITS) throw new Error(`wrong total ${total}`);
  return ns;
}

const factory: BenchFactory = ({ smoke }) => {
  const n = smoke ? 5_000 : 200_000;
  const done = resolvedFuture(1);
  const completed = Array.from({ length: WAITS }, () => () => done);
  const pending = Array.from({ length: WAITS }, () => () => {
    const f = new Future<number>();
    queueMicrotask(() => f.setResult(1));
    return f;
  });
  const contenders = (items: ReadonlyArray<() => PromiseLike<number>>) => [
    { name: 'typhoon generator coroutine', measure: () => timeCalls(typhoonSum, items, n) },
    { name: 'async function', measure: () => timeCalls(asyncSum, items, n) },
    { name: 'co', measure: () => timeCalls(coSum as Sum, items, n) },
  ];
  const benches: Bench[] = [
    {
      name: `coroutine of ${WAITS} waits on completed Futures`,
      unit: 'ns/call',
      higherIsBetter: false,
      baseline: 'async function',
      target: 'typhoon ≤ 2x async function and faster than co',
      contenders: contenders(completed),
    },
    {
      name: `coroutine of ${WAITS} waits on pending Futures`,
      unit: 'ns/call',
      higherIsBetter: false,
      baseline: 'async function',
      target: 'typhoon ≤ 2x async function and faster than co',
      contenders: contenders(pending),
    },
  ];
  return benches;
};
export default factory;
