// The handler lifecycle: when a request finishes (sync, async, generator coroutine,
// autoFinish = false), prepare/onFinish ordering, onConnectionClose when the client leaves,
// and exceptions at every stage logged exactly once with no unhandled rejection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { Application, RequestHandler } from '../../src/web/index.ts';
import { expectLog } from '../../src/testing.ts';
import { coroutine, sleep } from '../../src/gen.ts';
import { accessLog, appLog } from '../../src/log.ts';
import { captureLogs, get, sendRaw } from '../helpers/raw-http.ts';
import { withTestServer } from '../helpers/server.ts';

const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

test('sync, async and generator methods all finish when they are done', async () => {
  const order: string[] = [];
  class Sync extends RequestHandler {
    override prepare() {
      order.push('prepare');
    }
    override get() {
      order.push('get');
      this.write('sync');
    }
    override onFinish() {
      order.push('onFinish');
    }
  }
  class Async extends RequestHandler {
    override async prepare() {
      await sleep(5);
      this.write('p,');
    }
    override async get() {
      await sleep(5);
      this.write('async');
    }
  }
  class Gen extends RequestHandler {
    override *get(): Generator<unknown, void, unknown> {
      const value = (yield sleep(5).then(() => 'gen')) as string;
      this.write(value);
    }
  }
  class Wrapped extends RequestHandler {
    override get = coroutine(function* (this: Wrapped) {
      yield sleep(5);
      this.write('wrapped');
    });
  }
  await withTestServer(
    new Application([
      ['/sync', Sync],
      ['/async', Async],
      ['/gen', Gen],
      ['/wrapped', Wrapped],
    ]),
    async (srv) => {
      assert.equal(await (await srv.fetch('/sync')).text(), 'sync');
      assert.deepEqual(order, ['prepare', 'get', 'onFinish']);
      assert.equal(await (await srv.fetch('/async')).text(), 'p,async');
      assert.equal(await (await srv.fetch('/gen')).text(), 'gen');
      assert.equal(await (await srv.fetch('/wrapped')).text(), 'wrapped');
    },
  );
});

test('a method that starts async work without returning it finishes early', async () => {
  const later = deferred();
  let finishedAtReturn: boolean | undefined;
  class Forgets extends RequestHandler {
    override get() {
      void (async () => {
        await sleep(30);
        finishedAtReturn = this.finished;
        later.resolve();
      })();
      this.write('early');
    }
  }
  await withTestServer(new Application([['/', Forgets]]), async (srv) => {
    assert.equal(await (await srv.fetch('/')).text(), 'early');
    assert.equal(finishedAtReturn, undefined, 'response arrived before the work ran');
    await later.promise;
    assert.equal(finishedAtReturn, true);
  });
});

test('autoFinish = false keeps the request open until finish()', async () => {
  const release = deferred();
  class Held extends RequestHandler {
    override get() {
      this.autoFinish = false;
      void release.promise.then(() => this.finish('released'));
    }
  }
  await withTestServer(new Application([['/', Held]]), async (srv) => {
    const pending = srv.fetch('/').then((r) => r.text());
    const raced = await Promise.race([pending, sleep(50).then(() => 'still open')]);
    assert.equal(raced, 'still open');
    release.resolve();
    assert.equal(await pending, 'released');
  });
});

test('finish() inside prepare skips the method', async () => {
  let ran = false;
  class P extends RequestHandler {
    override prepare() {
      void this.finish('from prepare');
    }
    override get() {
      ran = true;
    }
  }
  await withTestServer(new Application([['/', P]]), async (srv) => {
    assert.equal(await (await srv.fetch('/')).text(), 'from prepare');
    assert.equal(ran, false);
  });
});

test('onConnectionClose fires once when the client disconnects while the handler waits', async () => {
  const closed = deferred();
  let calls = 0;
  let finishedCalls = 0;
  class LongPoll extends RequestHandler {
    override get() {
      this.autoFinish = false;
    }
    override onConnectionClose() {
      calls++;
      closed.resolve();
    }
    override onFinish() {
      finishedCalls++;
    }
  }
  await withTestServer(new Application([['/', LongPoll]]), async (srv) => {
    const socket = net.connect(srv.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(get('/', {}, false));
    await sleep(50);
    socket.destroy();
    await closed.promise;
    await sleep(20);
    assert.equal(calls, 1);
    assert.equal(finishedCalls, 0);
  });
});

test('a reset mid-response: onConnectionClose once, no error log, no unhandled rejection', async () => {
  const closed = deferred();
  let calls = 0;
  class Streamer extends RequestHandler {
    override async get() {
      for (let i = 0; i < 100 && !this.request.connection!.closed; i++) {
        this.write('x'.repeat(1000));
        await this.flush().catch(() => {});
        await sleep(5);
      }
    }
    override onConnectionClose() {
      calls++;
      closed.resolve();
    }
  }
  await withTestServer(new Application([['/', Streamer]]), async (srv) => {
    const socket = net.connect(srv.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(get('/', {}, false));
    await new Promise((r) => socket.once('data', r));
    socket.resetAndDestroy();
    await closed.promise;
    await sleep(100);
    assert.equal(calls, 1);
    assert.deepEqual(unhandled, []);
  });
});

test('exceptions: sync, async, after finish(), after flush: one log line each, no unhandled rejection', async () => {
  class Sync extends RequestHandler {
    override get() {
      throw new Error('sync-fail');
    }
  }
  class Async extends RequestHandler {
    override async get() {
      await sleep(1);
      throw new Error('async-fail');
    }
  }
  class AfterFinish extends RequestHandler {
    override async get() {
      await this.finish('done');
      throw new Error('after-finish-fail');
    }
  }
  class AfterFlush extends RequestHandler {
    override async get() {
      this.write('partial');
      await this.flush();
      throw new Error('after-flush-fail');
    }
  }
  await withTestServer(
    new Application([
      ['/sync', Sync],
      ['/async', Async],
      ['/finish', AfterFinish],
      ['/flush', AfterFlush],
    ]),
    async (srv) => {
      const cases: Array<[string, number, string]> = [
        ['/sync', 500, 'sync-fail'],
        ['/async', 500, 'async-fail'],
        ['/finish', 200, 'after-finish-fail'],
        ['/flush', 200, 'after-flush-fail'],
      ];
      for (const [path, status, message] of cases) {
        const [, records] = await captureLogs('app', async () => {
          await expectLog(
            accessLog,
            /.*/,
            async () => {
              const res = await srv.fetch(path);
              assert.equal(res.status, status, path);
              await res.text().catch(() => '');
              await sleep(20);
            },
            { required: false },
          );
        });
        const errors = records.filter((r) => r.level === 'error');
        assert.equal(errors.length, 1, `${path}: ${errors.map((r) => r.message).join(' | ')}`);
        assert.match(String((errors[0]!.error as Error).message), new RegExp(message));
      }
      assert.deepEqual(unhandled, []);
    },
  );
});

test('an exception in onFinish or onConnectionClose is logged and does not break the server', async () => {
  class BadFinish extends RequestHandler {
    override get() {
      this.write('ok');
    }
    override onFinish() {
      throw new Error('onFinish-fail');
    }
  }
  await withTestServer(new Application([['/', BadFinish]]), async (srv) => {
    await expectLog(appLog, /Exception in onFinish/, async () => {
      assert.equal(await (await srv.fetch('/')).text(), 'ok');
    });
    const raw = await expectLog(appLog, /Exception in onFinish/, () => sendRaw(srv.port, get('/')));
    assert.match(raw.text, /^HTTP\/1\.1 200 OK/);
  });
});
