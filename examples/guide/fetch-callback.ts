/**
 * The guide's callback-style fetch: `asynchronousFetch` returns at once and calls `callback`
 * with the body later. The fetch's `callback` option receives the `HTTPResponse` in every
 * case (on failure its `error` is set), as Tornado's callback did.
 *
 * Run it: `node examples/guide/fetch-callback.ts`
 * Tornado guide: "Asynchronous and non-Blocking I/O" → callback argument.
 */
import { AsyncHTTPClient, type HTTPResponse } from '../../src/httpclient/index.ts';

/** Fetch `url`; `callback(body)` runs when it has arrived. */
export function asynchronousFetch(url: string, callback: (body: Buffer) => void): void {
  const httpClient = new AsyncHTTPClient();
  function handleResponse(response: HTTPResponse): void {
    callback(response.body);
  }
  void httpClient.fetch(url, { callback: handleResponse });
}

if (import.meta.filename === process.argv[1]) {
  const { startTestServer } = await import('../../src/testing.ts');
  const { makeFetchApp } = await import('./fetch-server.ts');
  const server = await startTestServer(makeFetchApp());
  asynchronousFetch(server.url('/hello'), (body) => {
    console.log(body.toString());
    void server.close().then(() => new AsyncHTTPClient().close());
  });
  console.log('asynchronousFetch returned before the body arrived');
}
