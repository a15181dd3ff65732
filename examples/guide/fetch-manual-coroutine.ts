/**
 * The guide's simplified coroutine runner, driving a generator that fetches over HTTP: the
 * runner takes the Future the generator yields, waits for it with a done-callback, and sends
 * its result back in (`gen.next(value)` is Python's `gen.send(value)`), until the generator
 * returns. typhoon's `coroutine` does the same plus errors, lists/objects of Futures,
 * cancellation and a fast path for finished Futures.
 *
 * Run it: `node examples/guide/fetch-manual-coroutine.ts`
 * Tornado guide: "Coroutines" → "How it works" (simplified inner loop of `gen.Runner`).
 */
import { Future } from '../../src/concurrent.ts';
import { AsyncHTTPClient, type HTTPResponse } from '../../src/httpclient/index.ts';

/** The simplified runner: send the last result in, wait for the next yielded Future. */
export class SimpleRunner<R> {
  readonly gen: Generator<Future<unknown>, R, unknown>;
  /** Completed with the generator's return value. */
  readonly result = new Future<R>();
  next: unknown = undefined;

  constructor(gen: Generator<Future<unknown>, R, unknown>) {
    this.gen = gen;
  }

  run(): void {
    // next(x) makes the current yield return x; it returns at the next yield.
    const step = this.gen.next(this.next);
    if (step.done) {
      this.result.setResult(step.value);
      return;
    }
    step.value.addDoneCallback((f) => {
      this.next = f.result();
      this.run();
    });
  }
}

/** A hand-made coroutine: a generator that yields fetch Futures. */
export function* fetchTwo(url1: string, url2: string): Generator<Future<unknown>, string, unknown> {
  const httpClient = new AsyncHTTPClient();
  const first = (yield httpClient.fetch(url1)) as HTTPResponse;
  const second = (yield httpClient.fetch(url2)) as HTTPResponse;
  return `${first.text} + ${second.text}`;
}

/** Run `fetchTwo` with the simplified runner. */
export function runFetchTwo(url1: string, url2: string): Future<string> {
  const runner = new SimpleRunner(fetchTwo(url1, url2));
  runner.run();
  return runner.result;
}

if (import.meta.filename === process.argv[1]) {
  const { startTestServer } = await import('../../src/testing.ts');
  const { makeFetchApp } = await import('./fetch-server.ts');
  const server = await startTestServer(makeFetchApp());
  console.log(await runFetchTwo(server.url('/echo/one'), server.url('/echo/two')));
  await server.close();
  await new AsyncHTTPClient().close();
}
