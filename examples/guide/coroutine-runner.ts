/**
 * The guide's "simplified coroutine runner": how a generator coroutine is driven.
 *
 * The runner takes the Future a generator yields, waits for it with a done-callback, then
 * `send`s its result back in — in JavaScript, `gen.next(value)` is Python's `gen.send(value)`:
 * the value becomes the result of the `yield` the generator is paused at, and the call returns
 * at the next `yield`. typhoon's real runner (`coroutine` in src/gen.ts) adds error handling,
 * lists of futures, cancellation and a fast path for finished futures; this is the core idea.
 *
 * Run it: `node examples/guide/coroutine-runner.ts`
 * Tornado guide: "Coroutines" → "How it works".
 */
import { Future } from '../../src/concurrent.ts';
import { sleep } from '../../src/gen.ts';

/** A generator that yields Futures and receives their results. */
export type FutureGenerator<R> = Generator<Future<unknown>, R, unknown>;

/** The simplified runner of the guide, with a Future for the generator's return value. */
export class Runner<R> {
  readonly gen: FutureGenerator<R>;
  /** Finished with what the generator returns. */
  readonly result = new Future<R>();
  #next: unknown = undefined;

  constructor(gen: FutureGenerator<R>) {
    this.gen = gen;
  }

  run(): void {
    // next(x) makes the current yield return x; it returns when the next yield is reached.
    const step = this.gen.next(this.#next);
    if (step.done === true) {
      this.result.setResult(step.value);
      return;
    }
    step.value.addDoneCallback((f) => {
      this.#next = f.result();
      this.run();
    });
  }
}

/** A stand-in for an asynchronous fetch: a Future finished with `body` after `ms`. */
export function fakeFetch(body: string, ms = 5): Future<string> {
  const future = new Future<string>();
  void sleep(ms).then(() => future.setResult(body));
  return future;
}

/** The guide's coroutine, run by the simplified runner; returns the log of what happened. */
export async function demo(): Promise<string[]> {
  const log: string[] = [];
  function* fetchTwo(): FutureGenerator<string> {
    log.push('start');
    const a = (yield fakeFetch('first page')) as string;
    log.push(`got ${a}`);
    const b = (yield fakeFetch('second page')) as string;
    log.push(`got ${b}`);
    return `${a} + ${b}`;
  }
  const runner = new Runner(fetchTwo());
  runner.run();
  log.push('runner returned; the generator is waiting');
  log.push(`result: ${await runner.result}`);
  return log;
}

if (import.meta.filename === process.argv[1]) {
  for (const line of await demo()) console.log(line);
}
