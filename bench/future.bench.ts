/**
 * Awaiting a Future vs awaiting a native Promise (issue 2 target: a Future ≤ 1.5× a Promise).
 *
 * Two shapes: awaiting an already-resolved value over and over (the pure cost of `await`),
 * and the whole life of a placeholder — create, resolve, await — which is what I/O code does.
 * Samples are ns per operation, lower is better; contenders alternate round by round.
 */
import type { Bench, BenchFactory } from './harness.ts';
import { Future, resolvedFuture } from '../src/concurrent.ts';

async function awaitSame(value: PromiseLike<number>, n: number): Promise<number> {
  const start = process.hrtime.bigint();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += await value;
  const ns = Number(process.hrtime.bigint() - start) / n;
  if (sum !== n) throw new Error('wrong sum');
  return ns;
}

async function lifeOfFuture(n: number): Promise<number> {
  const start = process.hrtime.bigint();
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const f = new Future<number>();
    f.setResult(1);
    sum += await f;
  }
  const ns = Number(process.hrtime.bigint() - start) / n;
  if (sum !== n) throw new Error('wrong sum');
  return ns;
}

async function lifeOfPromise(n: number): Promise<number> {
  const start = process.hrtime.bigint();
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const { promise, resolve } = Promise.withResolvers<number>();
    resolve(1);
    sum += await promise;
  }
  const ns = Number(process.hrtime.bigint() - start) / n;
  if (sum !== n) throw new Error('wrong sum');
  return ns;
}

const factory: BenchFactory = ({ smoke }) => {
  const n = smoke ? 20_000 : 1_000_000;
  const future = resolvedFuture(1);
  const promise = Promise.resolve(1);
  const benches: Bench[] = [
    {
      name: 'await an already-resolved placeholder',
      unit: 'ns/await',
      higherIsBetter: false,
      target: 'typhoon Future ≤ 1.5x native Promise',
      contenders: [
        { name: 'typhoon Future', measure: () => awaitSame(future, n) },
        { name: 'native Promise', measure: () => awaitSame(promise, n) },
      ],
    },
    {
      name: 'create, resolve and await a placeholder',
      unit: 'ns/op',
      higherIsBetter: false,
      target: 'typhoon Future ≤ 1.5x native Promise',
      contenders: [
        { name: 'typhoon Future', measure: () => lifeOfFuture(n) },
        { name: 'native Promise (withResolvers)', measure: () => lifeOfPromise(n) },
      ],
    },
  ];
  return benches;
};
export default factory;
