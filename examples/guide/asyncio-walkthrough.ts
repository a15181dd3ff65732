/**
 * "How does asyncio work?" in TypeScript: the pieces a coroutine system is built from, step
 * by step, each as a function returning the lines it would print.
 *
 * 1. A generator pauses at `yield`; `next()` resumes it (Python's `next(gen)`).
 * 2. `next(value)` sends a value in (Python's `gen.send(value)`): it becomes the result of the
 *    paused `yield`. `throw(error)` raises inside the generator at that `yield`.
 * 3. A generator's `return` value arrives as `{ value, done: true }` (Python puts it on
 *    `StopIteration.value`).
 * 4. `yield*` delegates to an inner generator (Python's `yield from`): values sent in reach the
 *    innermost generator, and its return value is the value of the `yield*` expression.
 * 5. A Future has three states — pending, cancelled, finished (with a result or an exception) —
 *    and runs its done-callbacks when it leaves pending.
 * 6. A Task wraps a coroutine: each time the coroutine yields a Future, the Task adds a
 *    done-callback to it, and when the Future completes, the callback sends the result back in
 *    — the "method chain" from data arriving to the innermost coroutine waking up.
 *
 * Run it: `node examples/guide/asyncio-walkthrough.ts`
 */
import { Future } from '../../src/concurrent.ts';

/** 1. Pausing and resuming a generator. */
export function generatorBasics(): string[] {
  const out: string[] = [];
  function* test() {
    yield 1;
    yield 2;
  }
  const gen = test();
  out.push(`type: ${Object.prototype.toString.call(gen)}`);
  out.push(String(gen.next().value));
  out.push(String(gen.next().value));
  out.push(`done: ${gen.next().done}`); // where Python raises StopIteration
  return out;
}

/** 2. Sending values in and throwing errors in. */
export function sendAndThrow(): string[] {
  const out: string[] = [];
  function* test(): Generator<number, void, string> {
    const val = yield 1;
    out.push(val);
    yield 2;
    yield 3;
  }
  const gen = test();
  out.push(String(gen.next().value)); // 1
  out.push(String(gen.next('abc').value)); // prints abc, then 2
  out.push(String(gen.next().value)); // 3
  try {
    gen.throw(new Error('!'));
  } catch (error) {
    out.push(`Error: ${(error as Error).message}`); // not caught inside, so it comes back out
  }
  return out;
}

/** 3. Getting a generator's return value. */
export function returnValues(): string[] {
  const out: string[] = [];
  function* test() {
    yield 1;
    return 'abc';
  }
  const gen = test();
  out.push(String(gen.next().value)); // 1
  const last = gen.next();
  out.push(`${String(last.value)} (done: ${last.done})`); // abc (done: true)
  return out;
}

/** 4. Delegation with `yield*`, the twin of `yield from`. */
export function delegation(): string[] {
  const out: string[] = [];
  function* inner(): Generator<number, number, string> {
    const innerResult = yield 2;
    out.push(`inner ${innerResult}`);
    return 3;
  }
  function* outer(): Generator<number, void, string> {
    yield 1;
    const val = yield* inner();
    out.push(`outer ${val}`);
    yield 4;
  }
  const gen = outer();
  out.push(String(gen.next().value)); // 1
  out.push(String(gen.next().value)); // 2 (from inner, through outer)
  out.push(String(gen.next('abc').value)); // inner abc, outer 3, then 4
  return out;
}

/** 5. A Future's three states and its done-callbacks. */
export async function futureStates(): Promise<string[]> {
  const out: string[] = [];
  const describe = (name: string, f: Future<unknown>) =>
    `${name}: ${f.cancelled() ? 'cancelled' : f.done() ? 'finished' : 'pending'}`;

  const withResult = new Future<string>();
  withResult.addDoneCallback((f) => out.push(`callback: result ${f.result()}`));
  out.push(describe('a', withResult));
  withResult.setResult('data');
  out.push(describe('a', withResult));

  const withError = new Future<string>();
  withError.addDoneCallback((f) => out.push(`callback: exception ${String(f.exception())}`));
  withError.setException(new Error('boom'));
  out.push(describe('b', withError));

  const cancelled = new Future<string>();
  cancelled.addDoneCallback((f) => out.push(`callback: cancelled ${f.cancelled()}`));
  cancelled.cancel();
  out.push(describe('c', cancelled));

  // Done-callbacks run soon after completion, not inside setResult/cancel.
  out.push('(callbacks run next)');
  await new Promise((resolve) => setImmediate(resolve));
  return out;
}

/** A coroutine for {@link MiniTask}: yields Futures and receives their results. */
export type Coro<R> = Generator<Future<unknown>, R, unknown>;

/**
 * 6. A minimal Task: a Future for a coroutine's result that steps the coroutine each time the
 * Future it waits on completes.
 */
export class MiniTask<R> {
  readonly result = new Future<R>();
  readonly steps: string[] = [];
  #coro: Coro<R>;

  constructor(coro: Coro<R>) {
    this.#coro = coro;
    this.#step(undefined);
  }

  #step(value: unknown): void {
    this.steps.push(`task sends ${JSON.stringify(value) ?? 'undefined'}`);
    const next = this.#coro.next(value);
    if (next.done === true) {
      this.result.setResult(next.value);
      return;
    }
    // The coroutine waits on a Future: bind this task to it.
    next.value.addDoneCallback((f) => this.#step(f.result()));
  }
}

/** A pretend socket whose data "arrives" later, completing the Future of a `recv()`. */
export function recv(data: string, ms = 3): Future<string> {
  const future = new Future<string>();
  setTimeout(() => future.setResult(data), ms); // select() says ready; set_result()
  return future;
}

/** The innermost coroutine reads from the socket; the outer one delegates with `yield*`. */
export function* readMessage(): Coro<string> {
  const header = (yield recv('HEAD')) as string;
  const body = (yield recv('body')) as string;
  return `${header}:${body}`;
}

export function* handler(): Coro<string> {
  const first = yield* readMessage();
  const second = yield* readMessage();
  return `${first} | ${second}`;
}

/** Run `handler` under a MiniTask; returns its result and the task's steps. */
export async function miniTaskDemo(): Promise<{ result: string; steps: string[] }> {
  const task = new MiniTask(handler());
  const result = await task.result;
  return { result, steps: task.steps };
}

if (import.meta.filename === process.argv[1]) {
  const sections: Array<[string, () => string[] | Promise<string[]>]> = [
    ['1. generators', generatorBasics],
    ['2. send and throw', sendAndThrow],
    ['3. return values', returnValues],
    ['4. yield* (yield from)', delegation],
    ['5. Future states', futureStates],
    [
      '6. a minimal Task',
      async () => {
        const { result, steps } = await miniTaskDemo();
        return [...steps, `result: ${result}`];
      },
    ],
  ];
  for (const [title, run] of sections) {
    console.log(`== ${title}`);
    for (const line of await run()) console.log(line);
  }
}
