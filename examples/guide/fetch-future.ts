/**
 * The guide's Future-returning fetch: instead of taking a callback, `asyncFetchFuture` returns
 * a Future of the body, completed from the fetch Future's done-callback. (Returning
 * `httpClient.fetch(url)` itself would do; the guide spells the chaining out.)
 *
 * Run it: `node examples/guide/fetch-future.ts`
 * Tornado guide: "Asynchronous and non-Blocking I/O" → `Future`.
 */
import { Future } from '../../src/concurrent.ts';
import { AsyncHTTPClient } from '../../src/httpclient/index.ts';

/** A Future of `url`'s body. */
export function asyncFetchFuture(url: string): Future<Buffer> {
  const httpClient = new AsyncHTTPClient();
  const myFuture = new Future<Buffer>();
  const fetchFuture = httpClient.fetch(url);
  fetchFuture.addDoneCallback((f) => {
    // result() rethrows a failed fetch; hand the failure on instead of losing it.
    try {
      myFuture.setResult(f.result().body);
    } catch (error) {
      myFuture.setException(error);
    }
  });
  return myFuture;
}

if (import.meta.filename === process.argv[1]) {
  const { startTestServer } = await import('../../src/testing.ts');
  const { makeFetchApp } = await import('./fetch-server.ts');
  const server = await startTestServer(makeFetchApp());
  console.log((await asyncFetchFuture(server.url('/hello'))).toString());
  await server.close();
  await new AsyncHTTPClient().close();
}
