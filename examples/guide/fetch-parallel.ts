/**
 * The guide's parallel fetches: yield a list of fetch Futures and get a list of responses in
 * the same order; yield an object and get an object with the same keys. The requests are in
 * flight together, so the wait is the slowest one, not the sum.
 *
 * Run it: `node examples/guide/fetch-parallel.ts`
 * Tornado guide: "Coroutines" → "Parallelism" (`parallel_fetch`, `parallel_fetch_many`,
 * `parallel_fetch_dict`).
 */
import { coroutine, multi } from '../../src/gen.ts';
import { AsyncHTTPClient, type HTTPResponse } from '../../src/httpclient/index.ts';

/** Two URLs at once. */
export const parallelFetch = coroutine(function* (url1: string, url2: string) {
  const httpClient = new AsyncHTTPClient();
  const [resp1, resp2] = (yield [httpClient.fetch(url1), httpClient.fetch(url2)]) as HTTPResponse[];
  return [resp1!, resp2!] as [HTTPResponse, HTTPResponse];
});

/** A list of URLs: the responses come back as a list in the same order. */
export const parallelFetchMany = coroutine(function* (urls: string[]) {
  const httpClient = new AsyncHTTPClient();
  const responses = (yield urls.map((url) => httpClient.fetch(url))) as HTTPResponse[];
  return responses;
});

/** An object of URLs: the responses come back as an object `{url: response}`. */
export const parallelFetchDict = coroutine(function* (urls: string[]) {
  const httpClient = new AsyncHTTPClient();
  const responses = (yield Object.fromEntries(
    urls.map((url) => [url, httpClient.fetch(url)]),
  )) as Record<string, HTTPResponse>;
  return responses;
});

/** The same with `async`/`await`: `multi` takes a list or an object too. */
export async function parallelFetchAsync(urls: string[]): Promise<HTTPResponse[]> {
  const httpClient = new AsyncHTTPClient();
  return (await multi(urls.map((url) => httpClient.fetch(url)))) as HTTPResponse[];
}

if (import.meta.filename === process.argv[1]) {
  const { startTestServer } = await import('../../src/testing.ts');
  const { makeFetchApp } = await import('./fetch-server.ts');
  const server = await startTestServer(makeFetchApp());
  const urls = ['a', 'b', 'c'].map((name) => server.url(`/echo/${name}`));
  console.log(
    'list:',
    (await parallelFetchMany(urls)).map((r) => r.text),
  );
  const dict = await parallelFetchDict(urls);
  console.log('dict:', Object.fromEntries(Object.entries(dict).map(([url, r]) => [url, r.text])));
  await server.close();
  await new AsyncHTTPClient().close();
}
