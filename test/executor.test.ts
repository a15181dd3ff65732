import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import {
  ThreadPoolExecutor,
  defaultExecutor,
  runOnExecutor,
  transfer,
} from '../src/executor/index.ts';
import { Future } from '../src/concurrent.ts';
import {
  CancelledError,
  ExecutorShutdownError,
  TaskSerializationError,
  WorkerCrashedError,
} from '../src/errors.ts';
import { IOLoop } from '../src/ioloop.ts';

const TASKS = new URL('./fixtures/executor/tasks.ts', import.meta.url);

/** Wait for `future` to finish and return its exception (retrieving it explicitly). */
async function errorOf(future: Future<unknown>): Promise<unknown> {
  await new Promise<void>((resolve) => future.addDoneCallback(() => resolve()));
  if (future.cancelled()) return new CancelledError();
  const error = future.exception();
  assert.ok(error !== undefined, 'expected the task to fail');
  return error;
}

/** Busy-wait `ms` on whatever thread runs it (self-contained, for submit()). */
function spin(ms: number): number {
  const end = Date.now() + ms;
  let n = 0;
  while (Date.now() < end) n++;
  return n;
}

describe('ThreadPoolExecutor.submit', () => {
  const pool = new ThreadPoolExecutor({ maxWorkers: 2 });
  after(() => pool.shutdown());

  test('runs a function on a worker and resolves with its result', async () => {
    assert.equal(await pool.submit((a: number, b: number) => a + b, 2, 3), 5);
    const { threadId } = await import('node:worker_threads');
    const other = await pool.submit(() => process.getBuiltinModule('node:worker_threads').threadId);
    assert.notEqual(other, threadId);
  });

  test('awaits an async function and clones structured data both ways', async () => {
    const result = await pool.submit(
      async (m: Map<string, Date>) => {
        await new Promise((r) => setTimeout(r, 1));
        return { size: m.size, year: m.get('when')!.getUTCFullYear(), set: new Set([1, 2]) };
      },
      new Map([['when', new Date(Date.UTC(2020, 1, 1))]]),
    );
    assert.deepEqual(result, { size: 1, year: 2020, set: new Set([1, 2]) });
  });

  test('rebuilds a method from its source text', async () => {
    const helpers = {
      double(x: number) {
        return x * 2;
      },
    };
    assert.equal(await pool.submit(helpers.double, 21), 42);
  });

  test('a task that throws rejects with its class, message, stack and code', async () => {
    const error = await errorOf(
      pool.submit(function failsOnPurpose(code: string) {
        throw Object.assign(new RangeError('out of range on the worker'), { code });
      }, 'E_TEST'),
    );
    assert.ok(error instanceof RangeError);
    assert.equal(error.message, 'out of range on the worker');
    assert.match(error.stack ?? '', /failsOnPurpose/);
    assert.equal((error as RangeError & { code: string }).code, 'E_TEST');
    const custom = await errorOf(
      pool.submit(function custom() {
        class QuotaError extends Error {
          override name = 'QuotaError';
        }
        throw new QuotaError('quota');
      }),
    );
    assert.ok(custom instanceof Error);
    assert.equal(custom.name, 'QuotaError');
  });

  test('a closure over outer variables fails with a TaskSerializationError that explains', async () => {
    const secret = 'outer';
    const error = await errorOf(
      pool.submit(function usesOuter() {
        return secret.length;
      }),
    );
    assert.ok(error instanceof TaskSerializationError);
    assert.match(error.message, /closures can't cross threads/);
    assert.match(error.message, /secret is not defined/);
    assert.ok(error.cause instanceof ReferenceError);
  });

  test('bound, native and non-functions fail before anything is queued', () => {
    const bound = pool.submit(spin.bind(null, 1));
    assert.ok(bound.done());
    assert.ok(bound.exception() instanceof TaskSerializationError);
    assert.match((bound.exception() as Error).message, /bound function/);
    const native = pool.submit(Math.max, 1, 2);
    assert.ok(native.exception() instanceof TaskSerializationError);
    assert.match((native.exception() as Error).message, /native function/);
    const notFn = pool.submit(42 as unknown as () => void);
    assert.ok(notFn.exception() instanceof TypeError);
    class Widget {}
    assert.ok(
      pool.submit(Widget as unknown as () => void).exception() instanceof TaskSerializationError,
    );
  });

  test('arguments that cannot be cloned fail up front, naming the argument and why', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [
        { onDone: function onDone() {} },
        /argument 2 of task function identity\.onDone is function onDone/,
      ],
      [[1, Symbol('s')], /argument 2 .*\[1\] is a symbol/],
      [Promise.resolve(1), /is a Promise/],
      [new MessageChannel().port1, /MessagePort.*transfer\(port\)/],
    ];
    for (const [arg, pattern] of cases) {
      const future = pool.submit(
        function identity(_a: number, x: unknown) {
          return x;
        },
        1,
        arg,
      );
      assert.ok(future.done(), `${String(pattern)} should fail synchronously`);
      const error = future.exception();
      assert.ok(error instanceof TaskSerializationError);
      assert.match(error.message, pattern);
    }
    const socket = new net.Socket();
    const future = pool.submit((s: unknown) => s, socket);
    assert.ok(future.exception() instanceof TaskSerializationError);
    assert.match((future.exception() as Error).message, /argument 1 .*(Socket|function)/);
    socket.destroy();
  });

  test('a result that cannot be cloned fails with TaskSerializationError; the worker survives', async () => {
    const error = await errorOf(
      pool.submit(function returnsFunction() {
        return { callback: () => 1 };
      }),
    );
    assert.ok(error instanceof TaskSerializationError);
    assert.match(
      error.message,
      /result\.callback is an anonymous function|result\.callback is function callback/,
    );
    assert.equal(await pool.submit(() => 'still alive'), 'still alive');
  });

  test('tasks start in submission order', async () => {
    const one = new ThreadPoolExecutor({ maxWorkers: 1 });
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const order = await Promise.all(
      Array.from({ length: 6 }, () => one.submit((c: Int32Array) => Atomics.add(c, 0, 1), counter)),
    );
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
    await one.shutdown();
  });
});

describe('worker faults', () => {
  test('process.exit in a task: WorkerCrashedError with exitCode, the queue carries on', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const crash = pool.submit(function exitsSeven() {
      process.exit(7);
    });
    const rest = [1, 2, 3].map((n) => pool.submit((x: number) => x * 10, n));
    const error = await errorOf(crash);
    assert.ok(error instanceof WorkerCrashedError);
    assert.equal(error.exitCode, 7);
    assert.match(error.message, /exitsSeven/);
    assert.deepEqual(await Promise.all(rest), [10, 20, 30]);
    await pool.shutdown();
  });

  test('tasks posted to a worker behind the one that crashes run on its replacement, once each', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const runs = new Int32Array(new SharedArrayBuffer(4 * 4));
    const crash = pool.submit(function exitsAfterAWhile() {
      const end = Date.now() + 50;
      while (Date.now() < end);
      process.exit(3);
    });
    // Posted to the same worker behind the crashing task (and one more queued behind them).
    const behind = [0, 1, 2, 3].map((i) =>
      pool.submit((counts: Int32Array, n: number) => Atomics.add(counts, n, 1) + n, runs, i),
    );
    assert.equal(pool.runningCount + pool.queueSize, 5);
    const error = await errorOf(crash);
    assert.ok(error instanceof WorkerCrashedError);
    assert.equal(error.exitCode, 3);
    assert.deepEqual(await Promise.all(behind), [0, 1, 2, 3]);
    assert.deepEqual([...runs], [1, 1, 1, 1]);
    await pool.shutdown();
  });

  test('a task that moves buffers waits for an idle worker, so a crash ahead cannot lose them', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const crash = pool.submit(function exitsSoon() {
      const end = Date.now() + 50;
      while (Date.now() < end);
      process.exit(4);
    });
    const bytes = new Uint8Array(1024).fill(2);
    const sum = pool.submit((b: Uint8Array) => b.reduce((a, x) => a + x, 0), transfer(bytes));
    assert.equal(bytes.byteLength, 1024, 'not posted while the worker is busy');
    assert.equal(pool.queueSize, 1);
    assert.ok((await errorOf(crash)) instanceof WorkerCrashedError);
    assert.equal(await sum, 2048);
    assert.equal(bytes.byteLength, 0);
    await pool.shutdown();
  });

  test('an uncaught exception on the worker thread: WorkerCrashedError with the cause', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const crash = pool.submit(function throwsLater() {
      return new Promise(() => {
        setTimeout(() => {
          throw new Error('thrown from a timer on the worker');
        }, 1);
      });
    });
    const next = pool.submit(() => 'replacement worker ran');
    const error = await errorOf(crash);
    assert.ok(error instanceof WorkerCrashedError);
    assert.match(error.message, /thrown from a timer on the worker/);
    assert.equal(await next, 'replacement worker ran');
    await pool.shutdown();
  });
});

describe('cancel and shutdown', () => {
  test('cancelling a queued task removes it from the queue; it never runs', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const ran = new Int32Array(new SharedArrayBuffer(4));
    const blocker = pool.submit(spin, 150);
    const victim = pool.submit((flag: Int32Array) => Atomics.store(flag, 0, 1), ran);
    const after = pool.submit(() => 'after');
    assert.equal(pool.queueSize, 2);
    assert.equal(victim.cancel(), true);
    await new Promise((r) => setImmediate(r));
    assert.equal(pool.queueSize, 1);
    await blocker;
    assert.equal(await after, 'after');
    assert.equal(Atomics.load(ran, 0), 0);
    await assert.rejects(victim, CancelledError);
    await pool.shutdown();
  });

  test('cancelling a task already posted to a busy worker revokes it: it never runs', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const flags = new Int32Array(new SharedArrayBuffer(8));
    const blocker = pool.submit((f: Int32Array) => {
      Atomics.store(f, 0, 1);
      const end = Date.now() + 150;
      while (Date.now() < end);
    }, flags);
    const victim = pool.submit((f: Int32Array) => Atomics.store(f, 1, 1), flags);
    const next = pool.submit(() => 'next');
    // Wait until the blocker runs: the victim sits in the worker's port behind it.
    while (Atomics.load(flags, 0) === 0) await new Promise((r) => setTimeout(r, 5));
    assert.equal(pool.runningCount, 1);
    assert.equal(pool.queueSize, 2);
    assert.equal(victim.cancel(), true);
    assert.equal(pool.queueSize, 1, 'cancel acts at once');
    await blocker;
    assert.equal(await next, 'next');
    assert.equal(Atomics.load(flags, 1), 0, 'the cancelled task never ran');
    await assert.rejects(victim, CancelledError);
    assert.equal(pool.runningCount + pool.queueSize, 0);
    await pool.shutdown();
  });

  test('once tasks are long, a worker gets one at a time: short ones do not wait behind a long one', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    await Promise.all(Array.from({ length: 24 }, () => pool.submit(spin, 5)));
    const long = pool.submit(spin, 600);
    const shorts = Array.from({ length: 4 }, () => pool.submit(spin, 5));
    assert.equal(pool.runningCount, 2);
    assert.equal(pool.queueSize, 3);
    await Promise.all(shorts);
    assert.equal(long.done(), false, 'every short task ran on the other worker meanwhile');
    await long;
    await pool.shutdown();
  });

  test('shutdown({wait: true}) finishes queued work; submit afterwards fails', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const results = [20, 20, 20].map((ms) => pool.submit(spin, ms));
    const closed = pool.shutdown({ wait: true });
    const late = pool.submit(() => 1);
    assert.ok(late.done());
    assert.ok(late.exception() instanceof ExecutorShutdownError);
    const counts = await Promise.all(results);
    assert.ok(counts.every((n) => n > 0));
    await closed;
    assert.ok(pool.isShutdown());
    assert.ok(pool.call('x').exception() instanceof TypeError);
  });

  test('shutdown({wait: false}) cancels queued work; the running task finishes', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const running = pool.submit(spin, 100);
    const queued = [pool.submit(() => 1), pool.submit(() => 2)];
    await pool.shutdown({ wait: false });
    assert.ok((await running) > 0);
    for (const f of queued) {
      assert.ok(f.cancelled());
      await assert.rejects(f, CancelledError);
    }
    assert.ok(pool.submit(() => 1).exception() instanceof ExecutorShutdownError);
  });

  test('maxWorkers must be a positive integer', () => {
    assert.throws(() => new ThreadPoolExecutor({ maxWorkers: 0 }), RangeError);
    assert.throws(() => new ThreadPoolExecutor({ maxWorkers: 1.5 }), RangeError);
  });
});

describe('transfer', () => {
  const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
  after(() => pool.shutdown());

  test('moves an argument buffer instead of copying it', async () => {
    const bytes = new Uint8Array(1 << 16).fill(3);
    const sum = await pool.submit((b: Uint8Array) => b.reduce((a, x) => a + x, 0), transfer(bytes));
    assert.equal(sum, 3 << 16);
    assert.equal(bytes.byteLength, 0, 'the sender buffer is detached');
    const copied = new Uint8Array(8).fill(1);
    await pool.submit((b: Uint8Array) => b.length, copied);
    assert.equal(copied.byteLength, 8, 'without transfer() the argument is copied');
  });

  test('a task can move its result back with transfer() in scope', async () => {
    const result = await pool.submit((n: number) => transfer(new Float64Array(n).fill(0.5)), 1024);
    assert.ok(result instanceof Float64Array);
    assert.equal(result.length, 1024);
    assert.equal(result[1023], 0.5);
  });

  test('moves a MessagePort', async () => {
    const { port1, port2 } = new MessageChannel();
    const got = new Promise((resolve) => port1.once('message', resolve));
    await pool.submit((port: MessagePort) => {
      port.postMessage('hello from the worker');
      port.close();
    }, transfer(port2));
    assert.equal(await got, 'hello from the worker');
    port1.close();
  });

  test('a buffer transferred twice (already detached) fails that task alone', async () => {
    const bytes = new Uint8Array(64);
    const first = pool.submit((b: Uint8Array) => b.length, transfer(bytes));
    const second = pool.submit((b: Uint8Array) => b.length, transfer(bytes));
    assert.equal(await first, 64);
    const error = await errorOf(second);
    assert.ok(error instanceof TaskSerializationError);
    assert.match(error.message, /could not be posted to a worker thread/);
    assert.equal(await pool.submit(() => 'still fine'), 'still fine');
  });

  test('refuses a pooled Buffer slice and a non-transferable', () => {
    assert.throws(() => transfer(Buffer.from('small')), TaskSerializationError);
    assert.throws(
      () => transfer(new SharedArrayBuffer(8) as unknown as ArrayBuffer),
      TaskSerializationError,
    );
  });
});

describe('module + call', () => {
  test('runs exports of a module given as URL, file: string or absolute path', async () => {
    for (const module of [TASKS, TASKS.href, fileURLToPath(TASKS)]) {
      const pool = new ThreadPoolExecutor({ maxWorkers: 1, module });
      assert.equal(
        await pool.call('sha256', 'abc'),
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      );
      assert.equal(await pool.call('slowAdd', 2, 3), 5);
      await pool.shutdown();
    }
  });

  test('a missing export or a non-function export fails with TypeError', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1, module: TASKS });
    const missing = await errorOf(pool.call('nope'));
    assert.ok(missing instanceof TypeError);
    assert.match(missing.message, /no exported function "nope"/);
    const notFn = await errorOf(pool.call('notAFunction'));
    assert.match((notFn as Error).message, /the export is a number/);
    await pool.shutdown();
  });

  test('bad module options fail at construction; call() without a module fails', async () => {
    assert.throws(() => new ThreadPoolExecutor({ module: './relative.ts' }), /absolute path/);
    assert.throws(
      () => new ThreadPoolExecutor({ module: new URL('https://example.com/x.js') }),
      /file: URL/,
    );
    assert.throws(() => new ThreadPoolExecutor({ module: '/nonexistent/tasks.ts' }), /not found/);
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    assert.ok(pool.call('sha256').exception() instanceof TypeError);
    await pool.shutdown();
  });
});

describe('runOnExecutor and the default executor', () => {
  test('runOnExecutor runs a method on this.executor (or a named one)', async () => {
    class Hasher {
      executor = new ThreadPoolExecutor({ maxWorkers: 1 });
      pool = this.executor;
      square = runOnExecutor((x: number) => x * x);
      cube = runOnExecutor((x: number) => x * x * x, { executor: 'pool' });
    }
    const hasher = new Hasher();
    assert.equal(await hasher.square(7), 49);
    assert.equal(await hasher.cube(3), 27);
    const unbound = hasher.square;
    assert.ok((await errorOf(unbound.call({}, 2))) instanceof TypeError);
    assert.throws(() => runOnExecutor(spin.bind(null)), TaskSerializationError);
    await hasher.executor.shutdown();
  });

  test('IOLoop.runInExecutor uses the shared default executor sized to the machine', async () => {
    const shared = defaultExecutor();
    assert.equal(shared, defaultExecutor());
    assert.equal(shared.maxWorkers, availableParallelism());
    assert.equal(await IOLoop.current().runInExecutor(null, (x: number) => x + 1, 41), 42);
    const mine = new ThreadPoolExecutor({ maxWorkers: 1 });
    assert.equal(await IOLoop.current().runInExecutor(mine, () => 'mine'), 'mine');
    await mine.shutdown();
    await shared.shutdown();
    assert.notEqual(defaultExecutor(), shared, 'a shut-down default is replaced');
    await defaultExecutor().shutdown();
  });
});
