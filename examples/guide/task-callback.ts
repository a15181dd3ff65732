/**
 * `Task` around a callback-style function, as in the guide: an old API that takes a callback
 * is called from a coroutine as if it returned a Future. `Task` passes a trailing callback
 * whose first argument is the result (Tornado's convention); `fromCallback` does the same for
 * Node's `(err, value)` convention.
 *
 * Run it: `node examples/guide/task-callback.ts`
 * Tornado guide: "Coroutines" → "Calling blocking functions" / `gen.Task`.
 */
import { coroutine, fromCallback, Task } from '../../src/gen.ts';

const PAGES: Record<string, string> = {
  'http://example.com/': '<html>example</html>',
  'http://example.com/about': '<html>about</html>',
};

/** A callback-style fetch, the kind of API `Task` adapts: `callback(response)` later. */
export function legacyFetch(url: string, callback: (body: string | null) => void): void {
  setTimeout(() => callback(PAGES[url] ?? null), 2);
}

/** A Node-style fetch: `callback(error, body)`. */
export function nodeStyleFetch(
  url: string,
  callback: (error: Error | null, body?: string) => void,
): void {
  setTimeout(() => {
    const body = PAGES[url];
    if (body === undefined) callback(new Error(`404 ${url}`));
    else callback(null, body);
  }, 2);
}

/** The guide's coroutine: `response = yield gen.Task(fetch, url)`. */
export const fetchCoroutine = coroutine(function* (url: string) {
  const body = (yield Task(legacyFetch, url)) as string | null;
  return body;
});

/** The same with `async`/`await`. */
export async function fetchAsync(url: string): Promise<string | null> {
  return await Task(legacyFetch, url);
}

/** And with a Node-style API: a missing page rejects. */
export async function fetchNodeStyle(url: string): Promise<string> {
  return await fromCallback(nodeStyleFetch, url);
}

if (import.meta.filename === process.argv[1]) {
  console.log('coroutine:', await fetchCoroutine('http://example.com/'));
  console.log('async:', await fetchAsync('http://example.com/about'));
  console.log('node-style:', await fetchNodeStyle('http://example.com/'));
  try {
    await fetchNodeStyle('http://example.com/missing');
  } catch (error) {
    console.log('node-style error:', (error as Error).message);
  }
}
