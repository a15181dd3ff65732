// The guide's fetch examples (examples/guide/fetch-*.ts) against a local typhoon server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AsyncHTTPClient, type HTTPResponse } from '../../src/httpclient/index.ts';
import { HTTPClientError } from '../../src/errors.ts';
import { accessLog } from '../../src/log.ts';
import { expectLog, startTestServer, type TestServer } from '../../src/testing.ts';
import { makeFetchApp, CHUNKS } from '../../examples/guide/fetch-server.ts';
import { synchronousFetch } from '../../examples/guide/fetch-sync.ts';
import { asynchronousFetch } from '../../examples/guide/fetch-callback.ts';
import { asyncFetchFuture } from '../../examples/guide/fetch-future.ts';
import { fetchCoroutine, fetchAsync } from '../../examples/guide/fetch-coroutine.ts';
import { runFetchTwo } from '../../examples/guide/fetch-manual-coroutine.ts';
import {
  parallelFetch,
  parallelFetchMany,
  parallelFetchDict,
  parallelFetchAsync,
} from '../../examples/guide/fetch-parallel.ts';
import { makeInterleavedApp } from '../../examples/guide/fetch-interleaved.ts';

let server: TestServer;

before(async () => {
  server = await startTestServer(makeFetchApp());
});
after(async () => {
  await server.close();
  await new AsyncHTTPClient().close();
});

test('synchronous fetch: the body, with the server in another process', async () => {
  const script = fileURLToPath(new URL('../../examples/guide/fetch-server.ts', import.meta.url));
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const port = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(/listening (\d+)/.exec(d.toString())![1]!));
      child.once('error', reject);
    });
    assert.equal(synchronousFetch(`http://127.0.0.1:${port}/hello`).toString(), 'Hello, world');
  } finally {
    child.kill();
  }
});

test('callback fetch: returns at once, the callback gets the body later', async () => {
  const order: string[] = [];
  const body = await new Promise<Buffer>((resolve) => {
    asynchronousFetch(server.url('/hello'), (b) => {
      order.push('callback');
      resolve(b);
    });
    order.push('returned');
  });
  assert.equal(body.toString(), 'Hello, world');
  assert.deepEqual(order, ['returned', 'callback']);
});

test('Future fetch: a Future of the body; a failed fetch fails it', async () => {
  assert.equal((await asyncFetchFuture(server.url('/hello'))).toString(), 'Hello, world');
  await expectLog(accessLog, /404 GET \/chunk\/99/, async () => {
    await assert.rejects(asyncFetchFuture(server.url('/chunk/99')), (err: unknown) => {
      assert.ok(err instanceof HTTPClientError);
      assert.equal(err.code, 404);
      return true;
    });
  });
});

test('coroutine fetch, generator and async', async () => {
  assert.equal((await fetchCoroutine(server.url('/hello'))).toString(), 'Hello, world');
  assert.equal((await fetchAsync(server.url('/hello'))).toString(), 'Hello, world');
});

test('the simplified manual coroutine runner drives two fetches in turn', async () => {
  assert.equal(await runFetchTwo(server.url('/echo/one'), server.url('/echo/two')), 'one + two');
});

test('parallel fetch of a list and of an object: same shape back, all in flight together', async () => {
  const urls = ['a', 'b', 'c', 'd'].map((name) => server.url(`/echo/${name}`));
  const many = parallelFetchMany(urls);
  // The coroutine ran to its first yield: every request is already in flight.
  assert.equal(new AsyncHTTPClient().stats().inFlight, 4);
  assert.deepEqual(
    (await many).map((r) => r.text),
    ['a', 'b', 'c', 'd'],
  );
  const dict = await parallelFetchDict(urls);
  assert.deepEqual(Object.keys(dict), urls);
  assert.deepEqual(
    Object.values(dict).map((r: HTTPResponse) => r.text),
    ['a', 'b', 'c', 'd'],
  );
  const [one, two] = await parallelFetch(urls[0]!, urls[1]!);
  assert.deepEqual([one.text, two.text], ['a', 'b']);
  assert.deepEqual(
    (await parallelFetchAsync(urls)).map((r) => r.text),
    ['a', 'b', 'c', 'd'],
  );
});

test('interleaved: chunk n+1 is being fetched before chunk n is flushed', async () => {
  const log: string[] = [];
  const proxy = await startTestServer(
    makeInterleavedApp({ upstream: server.url('').replace(/\/$/, ''), log }),
  );
  try {
    const response = await expectLog(accessLog, /404 GET \/chunk\/5/, () =>
      new AsyncHTTPClient().fetch(proxy.url('/stream')),
    );
    assert.equal(response.text, Array.from({ length: CHUNKS }, (_, n) => `chunk ${n};`).join(''));
    for (let n = 0; n < CHUNKS; n++) {
      const nextStarted = log.indexOf(`fetch ${n + 1} started`);
      const flushed = log.indexOf(`flushed chunk ${n};`);
      assert.ok(nextStarted !== -1 && flushed !== -1, `log: ${log.join(', ')}`);
      assert.ok(nextStarted < flushed, `fetch ${n + 1} starts before chunk ${n} is flushed`);
    }
  } finally {
    await proxy.close();
  }
});
