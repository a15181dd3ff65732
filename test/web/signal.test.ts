// RequestHandler.signal: aborted when the request finishes (however it finishes) or the client
// goes away (with onConnectionClose), one per request even on a keep-alive connection, and
// made only when read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { Application, HTTPError, RequestHandler } from '../../src/index.ts';
import type { Rule } from '../../src/index.ts';
import { accessLog } from '../../src/log.ts';
import { expectLog } from '../../src/testing.ts';
import type { HTTPServer } from '../../src/httpserver/index.ts';
import { sendRaw } from '../helpers/raw-http.ts';
import { until } from '../helpers/wait.ts';

async function serve(rules: Rule[]): Promise<{ server: HTTPServer; port: number }> {
  const server = await new Application(rules).listen(0, '127.0.0.1');
  return { server, port: (server.address() as net.AddressInfo).port };
}

async function stop(server: HTTPServer): Promise<void> {
  server.closeAllConnections();
  await server.stop();
}

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

test('signal is aborted at finish, before onFinish runs; read after finish it is already aborted', async () => {
  const seen: Array<{ inGet: boolean; inOnFinish: boolean; reason: unknown; late: boolean }> = [];
  class Handler extends RequestHandler {
    #signal: AbortSignal | undefined;
    override get() {
      this.#signal = this.signal;
      this.write('ok');
    }
    override onFinish() {
      const signal = this.#signal!;
      seen.push({
        inGet: false,
        inOnFinish: signal.aborted,
        reason: signal.reason,
        late: false,
      });
    }
  }
  class ReadsLate extends RequestHandler {
    override get() {
      this.write('ok');
    }
    override onFinish() {
      // First read after the request finished: made already aborted.
      seen.push({ inGet: false, inOnFinish: false, reason: undefined, late: this.signal.aborted });
    }
  }
  const { server, port } = await serve([
    ['/', Handler],
    ['/late', ReadsLate],
  ]);
  try {
    const response = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(await response.text(), 'ok');
    await (await fetch(`http://127.0.0.1:${port}/late`)).text();
    await until(() => seen.length === 2, 'both onFinish calls');
    assert.equal(seen[0]!.inOnFinish, true);
    assert.ok(seen[0]!.reason instanceof DOMException);
    assert.equal((seen[0]!.reason as DOMException).name, 'AbortError');
    assert.equal(seen[1]!.late, true);
  } finally {
    await stop(server);
  }
});

test('signal is aborted by finish() with autoFinish = false, not before', async () => {
  const observed = deferred<{ beforeFinish: boolean; afterFinish: boolean }>();
  class Later extends RequestHandler {
    override get() {
      this.autoFinish = false;
      const signal = this.signal;
      setTimeout(() => {
        const beforeFinish = signal.aborted;
        void this.finish('late');
        observed.resolve({ beforeFinish, afterFinish: signal.aborted });
      }, 30);
    }
  }
  const { server, port } = await serve([['/', Later]]);
  try {
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'late');
    assert.deepEqual(await observed.promise, { beforeFinish: false, afterFinish: true });
  } finally {
    await stop(server);
  }
});

test('a request ended by an error page aborts its signal too', async () => {
  let signal: AbortSignal | undefined;
  class Refuses extends RequestHandler {
    override get() {
      signal = this.signal;
      throw new HTTPError(404);
    }
  }
  const { server, port } = await serve([['/', Refuses]]);
  try {
    await expectLog(accessLog, /^404 GET \//, async () => {
      const response = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(response.status, 404);
      await response.text();
    });
    assert.equal(signal?.aborted, true);
  } finally {
    await stop(server);
  }
});

test('one signal per request on a keep-alive connection', async () => {
  const signals: AbortSignal[] = [];
  const statesDuringSecond: boolean[] = [];
  class Each extends RequestHandler {
    override get() {
      const signal = this.signal;
      if (signals.length === 1) statesDuringSecond.push(signals[0]!.aborted, signal.aborted);
      signals.push(signal);
      this.write(`n${signals.length}`);
    }
  }
  const { server, port } = await serve([['/', Each]]);
  try {
    const request = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';
    const result = await sendRaw(port, [request, 50, request], { until: /n2$/ });
    assert.match(result.text, /n1[^]*n2$/);
    assert.equal(signals.length, 2);
    assert.notEqual(signals[0], signals[1]);
    // While the second request ran, the first's signal was aborted and its own was not.
    assert.deepEqual(statesDuringSecond, [true, false]);
    await until(() => signals[1]!.aborted, 'the second request finishing');
  } finally {
    await stop(server);
  }
});

test('signal aborts within 500 ms of onConnectionClose when the client goes away', async () => {
  let closedAt = 0;
  let closes = 0;
  const abortedAt = deferred<number>();
  const waiting = deferred();
  class LongPoll extends RequestHandler {
    override async get() {
      const signal = this.signal;
      signal.addEventListener('abort', () => abortedAt.resolve(performance.now()));
      waiting.resolve();
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
    }
    override onConnectionClose() {
      closes++;
      closedAt = performance.now();
    }
  }
  const { server, port } = await serve([['/', LongPoll]]);
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  try {
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await waiting.promise;
    socket.destroy();
    const at = await abortedAt.promise;
    assert.equal(closes, 1);
    assert.ok(at - closedAt >= 0 && at - closedAt < 500, `aborted ${at - closedAt} ms after`);
  } finally {
    socket.destroy();
    await stop(server);
  }
});

test('signal is made only when read: no AbortController for handlers that never look', async () => {
  const Original = globalThis.AbortController;
  let made = 0;
  class Counting extends Original {
    constructor() {
      super();
      made++;
    }
  }
  class Plain extends RequestHandler {
    override get() {
      this.write('plain');
    }
  }
  class Reads extends RequestHandler {
    override get() {
      this.write(String(this.signal.aborted) + String(this.signal === this.signal));
    }
  }
  const { server, port } = await serve([
    ['/plain', Plain],
    ['/reads', Reads],
  ]);
  globalThis.AbortController = Counting;
  try {
    const plain = await sendRaw(port, 'GET /plain HTTP/1.1\r\nHost: x\r\n\r\n', {
      until: /plain$/,
    });
    assert.match(plain.text, /plain$/);
    assert.equal(made, 0);
    const reads = await sendRaw(port, 'GET /reads HTTP/1.1\r\nHost: x\r\n\r\n', {
      until: /true$/,
    });
    // Read twice, made once; not aborted while the method runs.
    assert.match(reads.text, /falsetrue$/);
    assert.equal(made, 1);
  } finally {
    globalThis.AbortController = Original;
    await stop(server);
  }
});
