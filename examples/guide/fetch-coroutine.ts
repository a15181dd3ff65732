/**
 * The guide's coroutine fetch, both ways: a generator coroutine (`coroutine(function* …)`,
 * Tornado's `@gen.coroutine` with `yield`) and a native `async` function (Tornado's
 * `async def` with `await`). Both return a Future/Promise of the body.
 *
 * Run it: `node examples/guide/fetch-coroutine.ts`
 * Tornado guide: "Coroutines" → `fetch_coroutine`.
 */
import { coroutine } from '../../src/gen.ts';
import { AsyncHTTPClient, type HTTPResponse } from '../../src/httpclient/index.ts';

/** Generator coroutine: `yield` the fetch Future, get the response back. */
export const fetchCoroutine = coroutine(function* (url: string) {
  const httpClient = new AsyncHTTPClient();
  const response = (yield httpClient.fetch(url)) as HTTPResponse;
  return response.body;
});

/** The same as a native coroutine. */
export async function fetchAsync(url: string): Promise<Buffer> {
  const httpClient = new AsyncHTTPClient();
  const response = await httpClient.fetch(url);
  return response.body;
}

if (import.meta.filename === process.argv[1]) {
  const { startTestServer } = await import('../../src/testing.ts');
  const { makeFetchApp } = await import('./fetch-server.ts');
  const server = await startTestServer(makeFetchApp());
  console.log('generator:', (await fetchCoroutine(server.url('/hello'))).toString());
  console.log('async:', (await fetchAsync(server.url('/hello'))).toString());
  await server.close();
  await new AsyncHTTPClient().close();
}
