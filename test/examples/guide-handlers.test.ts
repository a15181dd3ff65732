// The guide's three handler cases, checked by what the client receives and when: the
// upstream fetch is held until the test releases it, so "when" is an order, not a timing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Application, RequestHandler } from '../../src/web/index.ts';
import { startTestServer, type TestServer } from '../../src/testing.ts';
import { AsyncHTTPClient } from '../../src/httpclient/index.ts';
import { sleep } from '../../src/gen.ts';
import { makeApp as forgetsApp } from '../../examples/guide/handler-forgets-to-wait.ts';
import { makeApp as awaitsApp } from '../../examples/guide/handler-awaits.ts';
import { makeApp as autoFinishApp } from '../../examples/guide/handler-autofinish.ts';
import { until } from '../helpers/wait.ts';

/** An upstream whose answer waits until `release()` is called. */
async function heldUpstream(): Promise<{
  srv: TestServer;
  release: () => void;
  hits: () => number;
}> {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let hits = 0;
  class Held extends RequestHandler {
    override async get() {
      hits++;
      await gate;
      this.write('upstream');
    }
  }
  const srv = await startTestServer(new Application([['/', Held]]));
  return { srv, release, hits: () => hits };
}

test('forgets to wait: the client gets its answer before the upstream fetch completes', async () => {
  const up = await heldUpstream();
  const events: string[] = [];
  const srv = await startTestServer(forgetsApp(up.srv.url('/'), events));
  try {
    const res = await srv.fetch('/test', { method: 'POST' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '');
    events.push('client got response');
    await until(() => up.hits() === 1, 'the condition', 1000);
    up.release();
    await until(() => events.includes('response 200'), 'the condition', 1000);
    assert.deepEqual(events, ['test', 'done', 'finished', 'client got response', 'response 200']);
  } finally {
    await srv.close();
    await up.srv.close();
    await new AsyncHTTPClient().close();
  }
});

for (const [name, path] of [
  ['generator', '/test'],
  ['async', '/test-async'],
] as const) {
  test(`awaits (${name}): the answer waits for the upstream and carries its result`, async () => {
    const up = await heldUpstream();
    const events: string[] = [];
    const srv = await startTestServer(awaitsApp(up.srv.url('/'), events));
    try {
      let answered = false;
      const pending = srv.fetch(path, { method: 'POST' }).then(async (r) => {
        answered = true;
        return [r.status, await r.text()] as const;
      });
      await until(() => up.hits() === 1, 'the condition', 1000);
      await sleep(30);
      assert.equal(answered, false, 'no answer while the upstream is held');
      up.release();
      assert.deepEqual(await pending, [200, 'upstream said 200']);
      assert.deepEqual(events, ['test', 'response 200', 'done', 'finished']);
    } finally {
      await srv.close();
      await up.srv.close();
      await new AsyncHTTPClient().close();
    }
  });
}

test('autoFinish = false: the connection stays open until the work calls finish()', async () => {
  const up = await heldUpstream();
  const events: string[] = [];
  const srv = await startTestServer(autoFinishApp(up.srv.url('/'), events));
  try {
    let answered = false;
    const pending = srv.fetch('/test', { method: 'POST' }).then(async (r) => {
      answered = true;
      return [r.status, await r.text()] as const;
    });
    await until(() => up.hits() === 1, 'the condition', 1000);
    await sleep(30);
    assert.equal(answered, false, 'no answer before finish()');
    up.release();
    assert.deepEqual(await pending, [200, 'upstream said 200']);
    assert.deepEqual(events, ['test', 'response 200', 'done', 'finished']);
  } finally {
    await srv.close();
    await up.srv.close();
    await new AsyncHTTPClient().close();
  }
});
