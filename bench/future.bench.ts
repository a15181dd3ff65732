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

// Two floors for the life of a placeholder, to tell what typhoon's Future adds from what any
// Promise subclass costs: a bare subclass that keeps its resolve function and answers
// `constructor` with a plain property (V8's `await` then still takes its fast path), and the
// same with a `constructor` getter that marks the instance, which is how a Future learns it was
// awaited (for the never-retrieved report).
let captured: ((value: number) => void) | undefined;
function capture(resolve: (value: number) => void): void {
  captured = resolve;
}
class BareSubclass extends Promise<number> {
  resolveIt: (value: number) => void;
  constructor() {
    super(capture);
    this.resolveIt = captured!;
    captured = undefined;
  }
  static {
    Reflect.defineProperty(BareSubclass.prototype, 'constructor', {
      value: Promise,
      writable: true,
      configurable: true,
    });
  }
}
// Written out again rather than extending BareSubclass: a second derived constructor in the
// chain costs more than the getter (measured 1.30x instead of 1.20x).
class GetterSubclass extends Promise<number> {
  #awaited = false;
  resolveIt: (value: number) => void;
  constructor() {
    super(capture);
    this.resolveIt = captured!;
    captured = undefined;
  }
  static {
    Reflect.defineProperty(GetterSubclass.prototype, 'constructor', {
      configurable: true,
      get(this: unknown) {
        if (typeof this === 'object' && this !== null && #awaited in this) this.#awaited = true;
        return Promise;
      },
    });
  }
}

async function lifeOfSubclass(n: number, Kind: typeof BareSubclass): Promise<number> {
  const start = process.hrtime.bigint();
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const p = new Kind();
    p.resolveIt(1);
    sum += await p;
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
        { name: 'bare Promise subclass (floor)', measure: () => lifeOfSubclass(n, BareSubclass) },
        {
          name: 'subclass with a constructor getter (floor)',
          measure: () => lifeOfSubclass(n, GetterSubclass),
        },
      ],
    },
  ];
  return benches;
};
export default factory;
