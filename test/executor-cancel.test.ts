// ThreadPoolExecutor hardening (issue 12 item 8): a cancelled task that never returns must not
// hold its worker, the pool's later tasks or shutdown() hostage. Cancelling a running task
// terminates its worker (a replacement starts); `taskTimeout` does the same past a deadline.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ThreadPoolExecutor } from '../src/executor/index.ts';
import type { Future } from '../src/concurrent.ts';
import { CancelledError, TimeoutError } from '../src/errors.ts';
import { withTimeout } from '../src/gen.ts';

/** Never returns (self-contained, for submit()); flags its start in `started[i]` first. */
function spinForever(started: Int32Array, i: number): never {
  Atomics.store(started, i, 1);
  for (;;);
}

/** The worker thread's id (self-contained, for submit()). */
function workerThreadId(): number {
  return process.getBuiltinModule('node:worker_threads').threadId;
}

/** Wait until every flag in `flags[0..n)` is set, polling the shared memory. */
async function waitStarted(flags: Int32Array, n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (let i = 0; i < n; i++) {
    while (Atomics.load(flags, i) === 0) {
      assert.ok(Date.now() < deadline, `task ${i} never started`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/** Fail the test (instead of hanging the file) if `p` takes longer than `ms`. */
async function within<T>(p: PromiseLike<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}

describe('ThreadPoolExecutor: cancelling a running task', () => {
  test('two cancelled infinite loops on a 2-worker pool: later tasks settle, shutdown({wait: false}) resolves', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    const started = new Int32Array(new SharedArrayBuffer(8));
    const loops = [pool.submit(spinForever, started, 0), pool.submit(spinForever, started, 1)];
    const later = [pool.submit((x: number) => x * 2, 21), pool.submit(() => 'later')];
    await waitStarted(started, 2);
    assert.equal(pool.runningCount, 2);
    for (const loop of loops) assert.equal(loop.cancel(), true);
    for (const loop of loops) await assert.rejects(loop, CancelledError);
    assert.deepEqual(await within(Promise.all(later), 10_000, 'the later tasks'), [42, 'later']);
    await within(pool.shutdown({ wait: false }), 10_000, 'shutdown({wait: false})');
  });

  test('its worker is terminated and replaced; tasks posted behind it still run', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const before = await pool.submit(workerThreadId);
    // Many trivial tasks make the pool pipeline again (several tasks posted per worker).
    await Promise.all(Array.from({ length: 64 }, () => pool.submit(() => 0)));
    const started = new Int32Array(new SharedArrayBuffer(4));
    const loop = pool.submit(spinForever, started, 0);
    // Short tasks are pipelined to the same worker behind the loop: they must survive its end.
    const behind = [pool.submit(() => 1), pool.submit(() => 2)];
    await waitStarted(started, 1);
    loop.cancel();
    await assert.rejects(loop, CancelledError);
    assert.deepEqual(await within(Promise.all(behind), 10_000, 'the tasks behind'), [1, 2]);
    const after = await pool.submit(workerThreadId);
    assert.notEqual(after, before, 'a new worker thread runs the later task');
    await within(pool.shutdown(), 10_000, 'shutdown()');
  });

  test('shutdown({wait: true}) resolves once the cancelled running task is gone', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const started = new Int32Array(new SharedArrayBuffer(4));
    const loop = pool.submit(spinForever, started, 0);
    await waitStarted(started, 1);
    const closed = pool.shutdown({ wait: true });
    loop.cancel();
    await within(closed, 10_000, 'shutdown({wait: true})');
    await assert.rejects(loop, CancelledError);
  });

  test('the per-task pattern: withTimeout on the Future, then cancel() it', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const started = new Int32Array(new SharedArrayBuffer(4));
    const task: Future<never> = pool.submit(spinForever, started, 0);
    const t0 = performance.now();
    await assert.rejects(withTimeout(task, 150), TimeoutError);
    assert.ok(performance.now() - t0 >= 140);
    task.cancel();
    await assert.rejects(task, CancelledError);
    assert.equal(
      await within(
        pool.submit(() => 'free'),
        10_000,
        'the next task',
      ),
      'free',
    );
    await within(pool.shutdown(), 10_000, 'shutdown()');
  });
});

describe('ThreadPoolExecutor: taskTimeout', () => {
  test('a task running past taskTimeout rejects with TimeoutError, its worker replaced', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1, taskTimeout: 200 });
    const started = new Int32Array(new SharedArrayBuffer(4));
    const t0 = performance.now();
    const loop = pool.submit(spinForever, started, 0);
    const next = pool.submit(() => 'next');
    await assert.rejects(within(loop, 10_000, 'the looping task'), TimeoutError);
    const elapsed = performance.now() - t0;
    assert.ok(elapsed >= 190 && elapsed < 5_000, `timed out after ${elapsed} ms`);
    assert.equal(Atomics.load(started, 0), 1, 'it had started');
    assert.equal(await within(next, 10_000, 'the next task'), 'next');
    await within(pool.shutdown({ wait: false }), 10_000, 'shutdown({wait: false})');
  });

  test('counts from the start on a worker, not from submit(): queued tasks get their full time', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1, taskTimeout: 400 });
    const spin = (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end);
      return ms;
    };
    // Three 250 ms tasks back to back: 750 ms in all, each well under 400 ms of its own.
    const results = await within(
      Promise.all([pool.submit(spin, 250), pool.submit(spin, 250), pool.submit(spin, 250)]),
      10_000,
      'three tasks',
    );
    assert.deepEqual(results, [250, 250, 250]);
    await pool.shutdown();
  });

  test('is off by default: a long task is not cut off', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const spin = (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end);
      return 'done';
    };
    assert.equal(await pool.submit(spin, 300), 'done');
    await pool.shutdown();
  });

  test('must be a positive number of milliseconds', () => {
    assert.throws(() => new ThreadPoolExecutor({ maxWorkers: 1, taskTimeout: -1 }), RangeError);
    assert.throws(
      () => new ThreadPoolExecutor({ maxWorkers: 1, taskTimeout: Number.NaN }),
      RangeError,
    );
  });
});

describe('ThreadPoolExecutor.submit arguments', () => {
  test('every extra argument goes to the function, an options-looking object too', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const got = await pool.submit(
      (...args: unknown[]) => args,
      1,
      { taskTimeout: 5 },
      { wait: false },
    );
    assert.deepEqual(got, [1, { taskTimeout: 5 }, { wait: false }]);
    await pool.shutdown();
  });
});
