/**
 * Parallel waiting, as in the guide: yield a list or an object of Futures and the coroutine
 * waits for all of them at once, getting the results in the same shape. The same works with
 * `await multi([...])` in an async function.
 *
 * Run it: `node examples/guide/parallel-yield.ts`
 * Tornado guide: "Coroutines" → "Parallelism".
 */
import { Future } from '../../src/concurrent.ts';
import { coroutine, multi, sleep } from '../../src/gen.ts';

/** Counts fetches in flight, to show they overlap. */
export const inFlight = { now: 0, max: 0 };

/** A stand-in for `AsyncHTTPClient.fetch`: a Future of `response for URL` after `ms`. */
export function fetch(url: string, ms = 20): Future<string> {
  inFlight.now++;
  inFlight.max = Math.max(inFlight.max, inFlight.now);
  const future = new Future<string>();
  void sleep(ms).then(() => {
    inFlight.now--;
    future.setResult(`response for ${url}`);
  });
  return future;
}

/** The guide's handler body: a list, then a dict, of fetches in parallel. */
export const parallelFetch = coroutine(function* (url1: string, url2: string) {
  const [response1, response2] = (yield [fetch(url1), fetch(url2)]) as [string, string];
  const responseDict = (yield { response3: fetch(`${url1}?3`), response4: fetch(`${url2}?4`) }) as {
    response3: string;
    response4: string;
  };
  return { response1, response2, ...responseDict };
});

/** The same with async/await and `multi`. */
export async function parallelFetchAsync(urls: string[]): Promise<string[]> {
  return await multi(urls.map((url) => fetch(url)));
}

if (import.meta.filename === process.argv[1]) {
  const start = performance.now();
  console.log(await parallelFetch('/a', '/b'));
  console.log(await parallelFetchAsync(['/x', '/y', '/z']));
  console.log(`most fetches in flight at once: ${inFlight.max}`);
  console.log(`took ${(performance.now() - start).toFixed(0)} ms (sequential would be ~140 ms)`);
}
