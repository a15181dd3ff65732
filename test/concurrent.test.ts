import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  Future,
  QuietFuture,
  chainFuture,
  failedFuture,
  futureAddDoneCallback,
  futureSetExceptionUnlessCancelled,
  futureSetResultUnlessCancelled,
  isFuture,
  isThenable,
  resolvedFuture,
  toFuture,
} from '../src/concurrent.ts';
import { CancelledError, InvalidStateError } from '../src/errors.ts';
import { appLog } from '../src/log.ts';
import { expectLog } from '../src/testing.ts';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
class BoomError extends Error {}

describe('Future states', () => {
  test('pending: not done, result() and exception() throw InvalidStateError', () => {
    const f = new Future<number>();
    assert.equal(f.done(), false);
    assert.equal(f.cancelled(), false);
    assert.throws(() => f.result(), InvalidStateError);
    assert.throws(() => f.exception(), InvalidStateError);
    assert.equal(Object.prototype.toString.call(f), '[object Future]');
    assert.ok(f instanceof Promise);
  });

  test('finished with a result', async () => {
    const f = new Future<number>();
    f.setResult(42);
    assert.equal(f.done(), true);
    assert.equal(f.result(), 42);
    assert.equal(f.exception(), undefined);
    assert.equal(await f, 42);
    assert.equal(await f.then((v) => v + 1), 43);
  });

  test('finished with an exception', async () => {
    const f = new Future<number>();
    const error = new BoomError('failed');
    f.setException(error);
    assert.equal(f.done(), true);
    assert.equal(f.cancelled(), false);
    assert.equal(f.exception(), error);
    assert.throws(() => f.result(), BoomError);
    await assert.rejects(f, BoomError);
  });

  test('cancelled: result() and await throw CancelledError, cancel again returns false', async () => {
    const f = new Future<number>();
    assert.equal(f.cancel('no longer needed'), true);
    assert.equal(f.done(), true);
    assert.equal(f.cancelled(), true);
    assert.throws(() => f.result(), { name: 'CancelledError', message: 'no longer needed' });
    assert.throws(() => f.exception(), CancelledError);
    await assert.rejects(f, CancelledError);
    assert.equal(f.cancel(), false);
    assert.equal(resolvedFuture(1).cancel(), false);
  });

  test('setResult / setException on a done Future throw InvalidStateError', () => {
    const finished = resolvedFuture(1);
    const failed = failedFuture(new BoomError('x'));
    const cancelled = new Future();
    cancelled.cancel();
    for (const f of [finished, failed, cancelled] as Array<Future<unknown>>) {
      assert.throws(() => f.setResult(2), InvalidStateError);
      assert.throws(() => f.setException(new Error('y')), InvalidStateError);
    }
    assert.equal(finished.result(), 1);
    assert.throws(() => failed.result(), BoomError);
  });

  test('works with Promise combinators and the executor form', async () => {
    const a = new Future<number>((resolve) => resolve(1));
    const b = new Future<number>((_resolve, reject) => reject(new BoomError('exec')));
    const c = new Future<number>(() => {
      throw new BoomError('thrown in executor');
    });
    assert.equal(a.result(), 1);
    assert.throws(() => b.result(), BoomError);
    assert.throws(() => c.result(), /thrown in executor/);
    assert.deepEqual(await Promise.all([a, resolvedFuture(2), Promise.resolve(3)]), [1, 2, 3]);
    assert.equal(await Promise.race([new Future<number>(), a]), 1);
  });

  test('constructor reads as Promise on Futures, the prototype and objects built from it', async () => {
    assert.equal(new Future().constructor, Promise);
    assert.equal(Future.prototype.constructor, Promise);
    assert.equal((Object.create(Future.prototype) as Future).constructor, Promise);
    assert.equal(Reflect.get(Future.prototype, 'constructor', 7), Promise);
    // `then` and `Promise.resolve` see %Promise%: a plain Promise comes back, the Future as is.
    const f = resolvedFuture(5);
    assert.equal(Promise.resolve(f), f);
    const chained = f.then((x) => x * 2);
    assert.ok(!(chained instanceof Future));
    assert.equal(await chained, 10);
  });

  test('a failure or cancellation reaches awaiters and then-handlers waiting while pending', async () => {
    const failed = new Future<number>();
    const cancelled = new Future<number>();
    const seen: string[] = [];
    const waits = [
      failed.then(
        () => seen.push('failed: resolved'),
        (e: unknown) => seen.push(`failed: ${(e as Error).message}`),
      ),
      (async () => {
        try {
          await cancelled;
        } catch (e) {
          seen.push(`cancelled: ${(e as Error).constructor.name}`);
        }
      })(),
    ];
    failed.setException(new BoomError('late'));
    cancelled.cancel();
    await Promise.all(waits);
    assert.deepEqual(seen.sort(), ['cancelled: CancelledError', 'failed: late']);
  });
});

describe('done callbacks', () => {
  test('run soon after completion, never synchronously inside setResult, in order', async () => {
    const f = new Future<string>();
    const calls: string[] = [];
    f.addDoneCallback((done) => calls.push(`first ${done.result()}`));
    f.addDoneCallback(() => calls.push('second'));
    f.setResult('v');
    assert.deepEqual(calls, []);
    await tick();
    assert.deepEqual(calls, ['first v', 'second']);
  });

  test('added after completion still run, soon and not re-entrantly', async () => {
    const f = resolvedFuture(7);
    const calls: number[] = [];
    f.addDoneCallback((done) => calls.push(done.result()));
    assert.deepEqual(calls, []); // not called inside addDoneCallback
    await tick();
    assert.deepEqual(calls, [7]);
  });

  test('removeDoneCallback removes every registration and says how many', async () => {
    const f = new Future();
    let called = 0;
    const cb = () => called++;
    f.addDoneCallback(cb);
    f.addDoneCallback(cb);
    assert.equal(f.removeDoneCallback(cb), 2);
    assert.equal(f.removeDoneCallback(cb), 0);
    f.setResult(1);
    await tick();
    assert.equal(called, 0);
    assert.throws(() => f.addDoneCallback(5 as never), TypeError);
  });

  test('an exception in a callback is logged and the other callbacks still run', async () => {
    const f = new Future();
    let second = false;
    await expectLog(appLog, /Exception in callback/, async () => {
      f.addDoneCallback(function explode() {
        throw new BoomError('in callback');
      });
      f.addDoneCallback(() => (second = true));
      f.setResult(1);
      await tick();
    });
    assert.equal(second, true);
  });

  test('futureAddDoneCallback accepts plain promises', async () => {
    const seen: number[] = [];
    futureAddDoneCallback(Promise.resolve(3), (f) => seen.push(f.result()));
    await tick();
    assert.deepEqual(seen, [3]);
  });
});

describe('helpers', () => {
  test('isFuture / isThenable', () => {
    assert.equal(isFuture(new Future()), true);
    assert.equal(isFuture(Promise.resolve()), false);
    assert.equal(isThenable(Promise.resolve()), true);
    assert.equal(isThenable({ then() {} }), true);
    assert.equal(isThenable({ then: 1 }), false);
    assert.equal(isThenable(null), false);
  });

  test('toFuture: Future as is, promises followed, values finished, throwing thenables failed', async () => {
    const f = new Future();
    assert.equal(toFuture(f), f);
    assert.equal(Future.fromPromise(f), f);
    assert.equal(await toFuture(Promise.resolve('p')), 'p');
    await assert.rejects(toFuture(Promise.reject(new BoomError('r'))), BoomError);
    assert.equal(toFuture(5).result(), 5);
    const evil = {
      then() {
        throw new BoomError('then threw');
      },
    };
    assert.throws(() => toFuture(evil).result(), BoomError);
  });

  test('chainFuture copies result, exception and cancellation', async () => {
    const pairs: Array<[Future<number>, Future<number>]> = [0, 1, 2].map(() => [
      new Future<number>(),
      new Future<number>(),
    ]);
    for (const [a, b] of pairs) chainFuture(a, b);
    pairs[0]![0].setResult(1);
    pairs[1]![0].setException(new BoomError('chained'));
    pairs[2]![0].cancel();
    await tick();
    assert.equal(pairs[0]![1].result(), 1);
    assert.throws(() => pairs[1]![1].result(), BoomError);
    assert.equal(pairs[2]![1].cancelled(), true);
  });

  test('chainFuture from a promise, and into an already-done target', async () => {
    const target = new Future<string>();
    chainFuture(Promise.resolve('from promise'), target);
    assert.equal(await target, 'from promise');
    const failedTarget = new Future<string>();
    chainFuture(Promise.reject(new BoomError('p')), failedTarget);
    await assert.rejects(failedTarget, BoomError);
    const done = resolvedFuture('kept');
    const source = new Future<string>();
    chainFuture(source, done);
    source.setResult('ignored');
    await tick();
    assert.equal(done.result(), 'kept');
  });

  test('set…UnlessCancelled drop results on a cancelled Future and log late failures', async () => {
    const f = new Future<number>();
    futureSetResultUnlessCancelled(f, 1);
    assert.equal(f.result(), 1);
    const c = new Future<number>();
    c.cancel();
    futureSetResultUnlessCancelled(c, 1);
    assert.equal(c.cancelled(), true);
    await expectLog(appLog, /Exception after Future was cancelled/, () =>
      futureSetExceptionUnlessCancelled(c, new BoomError('late')),
    );
    const e = new Future();
    futureSetExceptionUnlessCancelled(e, new BoomError('normal'));
    assert.throws(() => e.result(), BoomError);
  });
});

describe('a Future awaited again and again', () => {
  test('each await gives the outcome, and the Future keeps working as one', async () => {
    const ok = new Future<number>();
    ok.setResult(3);
    let sum = 0;
    for (let i = 0; i < 5; i++) sum += await ok;
    assert.equal(sum, 15);
    assert.equal(ok.constructor, Promise);
    assert.equal(ok.result(), 3);
    assert.equal(ok.done(), true);
    assert.deepEqual(Object.keys(ok), [], 'nothing enumerable is added');
    const seen = await new Promise((resolve) => ok.addDoneCallback((f) => resolve(f.result())));
    assert.equal(seen, 3);
    assert.equal(await ok.then((v) => v + 1), 4);

    const failed = new Future<number>();
    failed.setException(new BoomError('again'));
    for (let i = 0; i < 3; i++) await assert.rejects(failed, BoomError);
    assert.ok(failed.exception() instanceof BoomError);

    // Awaited twice while pending: both awaits get the result set later.
    const later = new Future<string>();
    const both = Promise.all([(async () => await later)(), (async () => await later)()]);
    setTimeout(() => later.setResult('x'), 1);
    assert.deepEqual(await both, ['x', 'x']);
    assert.equal(await later, 'x');
  });
});

describe('QuietFuture', () => {
  test('is a Future that awaits like one, and marks each failure retrieved as it is set', async () => {
    const ok = new QuietFuture<number>();
    assert.ok(ok instanceof Future);
    assert.equal(ok.constructor, Promise, 'await keeps the native fast path');
    setTimeout(() => ok.setResult(7), 1);
    assert.equal(await ok, 7);
    const failed = new QuietFuture<number>();
    failed.setException(new BoomError('quiet'));
    assert.equal(failed.done(), true);
    await assert.rejects(failed, BoomError);
    assert.throws(() => failed.setResult(1), InvalidStateError);
  });
});

describe('never-retrieved exceptions', () => {
  test('a failed Future nobody looked at is logged when collected; retrieved ones are not', () => {
    // GC timing is only controllable with --expose-gc, so this runs in a child process.
    const concurrent = fileURLToPath(new URL('../src/concurrent.ts', import.meta.url));
    const log = fileURLToPath(new URL('../src/log.ts', import.meta.url));
    const script = `
      const { Future, QuietFuture } = await import(${JSON.stringify(concurrent)});
      const { configureLogging } = await import(${JSON.stringify(log)});
      configureLogging({ sink: (r) => console.log('LOG', r.logger, r.level, r.message, String(r.error)) });
      (() => { new Future().setException(new Error('forgotten')); })();
      // Failed from a closure that sees it: the error's stack holds that closure.
      (() => { const f = new Future(); setTimeout(() => f.setException(new Error('closure-held')), 1); })();
      // A QuietFuture's failures are delivered by whoever set them: never reported.
      (() => { new QuietFuture().setException(new Error('quiet')); })();
      await (async () => {
        const a = new Future(); a.setException(new Error('awaited'));
        try { await a; } catch {}
        const b = new Future(); b.setException(new Error('inspected')); b.exception();
        const c = new Future(); c.setException(new Error('then-handled')); c.then(undefined, () => {});
        // Awaited while still pending, failed later: the await retrieves it. The error is made
        // outside the timer's closure: an error's stack keeps the functions on it alive, and a
        // closure that sees d would keep d from being collected, so the check could not fail.
        const d = new Future(); const pendingError = new Error('awaited-pending');
        setTimeout(() => d.setException(pendingError), 5);
        try { await d; } catch {}
        // Awaited over and over once failed: the first await already retrieved it.
        const e = new Future(); e.setException(new Error('awaited-again'));
        for (let i = 0; i < 3; i++) { try { await e; } catch {} }
      })();
      for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
      console.log('END');
    `;
    const child = spawnSync(
      process.execPath,
      ['--expose-gc', '--input-type=module', '-e', script],
      { encoding: 'utf8', timeout: 20_000 },
    );
    assert.equal(child.status, 0, child.stderr);
    assert.match(child.stdout, /END/);
    const lines = child.stdout.split('\n').filter((l) => l.startsWith('LOG'));
    assert.deepEqual(lines.sort(), [
      'LOG gen error Future exception was never retrieved Error: closure-held',
      'LOG gen error Future exception was never retrieved Error: forgotten',
    ]);
  });
});
