import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  coroutine,
  convertYielded,
  fromCallback,
  moment,
  multi,
  multiFuture,
  sleep,
  Task,
  WaitIterator,
  withTimeout,
} from '../src/gen.ts';
import { Future, failedFuture, resolvedFuture } from '../src/concurrent.ts';
import { CancelledError, InvalidStateError, QueueEmpty, TimeoutError } from '../src/errors.ts';
import { appLog, genLog } from '../src/log.ts';
import { expectLog } from '../src/testing.ts';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

class BoomError extends Error {}
class QuietError extends Error {}

describe('coroutine', () => {
  test('runs synchronously up to its first yield of an unfinished future', () => {
    const steps: string[] = [];
    const pending = new Future<number>();
    const f = coroutine(function* () {
      steps.push('start');
      const a: number = yield resolvedFuture(1);
      steps.push(`a=${a}`);
      const b: number = yield pending;
      steps.push(`b=${b}`);
      return a + b;
    })();
    assert.deepEqual(steps, ['start', 'a=1']);
    assert.equal(f.done(), false);
    pending.setResult(2);
    return f.then((value) => {
      assert.equal(value, 3);
      assert.deepEqual(steps, ['start', 'a=1', 'b=2']);
    });
  });

  test('a coroutine that never waits returns an already-done Future', () => {
    const f = coroutine(function* () {
      const x: number = yield resolvedFuture(20);
      const y: number = yield resolvedFuture(22);
      return x + y;
    })();
    assert.equal(f.done(), true);
    assert.equal(f.result(), 42);
    const g = coroutine(function* () {
      yield resolvedFuture(0);
      throw new BoomError('sync failure');
    })();
    assert.equal(g.done(), true);
    assert.throws(() => g.result(), BoomError);
  });

  test('keeps `this` and passes arguments', async () => {
    class Greeter {
      greeting = 'hello';
      greet = coroutine(function* (this: Greeter, name: string, punct: string) {
        const who: string = yield Promise.resolve(name);
        return `${this.greeting} ${who}${punct}`;
      });
    }
    assert.equal(await new Greeter().greet('world', '!'), 'hello world!');
  });

  test('the wrapper keeps the generator function name', () => {
    const named = coroutine(function* fetchUser() {
      yield resolvedFuture(1);
    });
    assert.equal(named.name, 'fetchUser');
  });

  test('an error from a yielded future is thrown at the yield; catch and finally run', async () => {
    const events: string[] = [];
    const failing = new Future<number>();
    const f = coroutine(function* () {
      try {
        yield failing;
        events.push('not reached');
      } catch (error) {
        events.push(`caught ${(error as Error).message}`);
      } finally {
        events.push('finally');
      }
      try {
        yield Promise.reject(new BoomError('from a promise'));
      } catch (error) {
        events.push(`caught ${(error as Error).message}`);
      }
      return 'recovered';
    })();
    failing.setException(new BoomError('from a future'));
    assert.equal(await f, 'recovered');
    assert.deepEqual(events, ['caught from a future', 'finally', 'caught from a promise']);
  });

  test('an uncaught error fails the Future, after finally blocks ran', async () => {
    let cleaned = false;
    const f = coroutine(function* () {
      try {
        yield sleep(1);
        throw new BoomError('bad');
      } finally {
        cleaned = true;
      }
    })();
    await assert.rejects(f, BoomError);
    assert.equal(cleaned, true);
  });

  test('yielding a non-yieldable throws a TypeError naming it, at that yield', async () => {
    const messages: string[] = [];
    const f = coroutine(function* () {
      for (const bad of [42, 'text', new Map(), Symbol.iterator] as unknown[]) {
        try {
          yield bad;
        } catch (error) {
          assert.ok(error instanceof TypeError);
          messages.push(error.message);
        }
      }
      return 'done';
    })();
    assert.equal(await f, 'done');
    assert.match(messages[0]!, /yielded unknown object 42 \(number\)/);
    assert.match(messages[1]!, /"text" \(string\)/);
    assert.match(messages[2]!, /instance of Map/);
    assert.match(messages[3]!, /Symbol\(Symbol.iterator\)/);
    const uncaught = coroutine(function* () {
      yield 7 as unknown;
    })();
    assert.throws(() => uncaught.result(), /yielded unknown object 7/);
  });

  test('a bad child inside a yielded list is a TypeError at the yield too', () => {
    const f = coroutine(function* () {
      try {
        yield [resolvedFuture(1), 5];
      } catch (error) {
        return (error as Error).message;
      }
    })();
    assert.match(f.result()!, /yielded unknown object 5/);
  });

  test('yields Promises, custom thenables and nested coroutines', async () => {
    const thenable = {
      then(resolve: (v: string) => void) {
        setTimeout(() => resolve('thenable'), 1);
      },
    };
    const inner = coroutine(function* (x: number) {
      yield sleep(1);
      return x * 2;
    });
    const f = coroutine(function* () {
      const a: string = yield Promise.resolve('promise');
      const b: string = yield thenable;
      const c: number = yield inner(21);
      return [a, b, c];
    })();
    assert.deepEqual(await f, ['promise', 'thenable', 42]);
  });

  test('moment, null and undefined yield to the loop for one iteration', async () => {
    const order: string[] = [];
    for (const y of [moment, null, undefined]) {
      order.length = 0;
      setImmediate(() => order.push('other callback'));
      const f = coroutine(function* () {
        order.push('before');
        yield y;
        order.push('after');
      })();
      assert.deepEqual(order, ['before']);
      await f;
      assert.deepEqual(order, ['before', 'other callback', 'after']);
    }
  });

  test('await moment works in an async function', async () => {
    let ran = false;
    setImmediate(() => (ran = true));
    await moment;
    assert.equal(ran, true);
  });

  test('yielding an array or object waits in parallel and keeps the shape', async () => {
    const a = new Future<number>();
    const b = new Future<string>();
    const started: string[] = [];
    const f = coroutine(function* () {
      const list: [number, string] = yield [a, b];
      const obj: { x: number; y: string } = yield { x: resolvedFuture(1), y: Promise.resolve('y') };
      started.push('both');
      return { list, obj };
    })();
    // Both children are being waited on at once: finishing them in reverse order works.
    b.setResult('b');
    await tick();
    assert.equal(f.done(), false);
    a.setResult(1);
    const out = await f;
    assert.deepEqual(out, { list: [1, 'b'], obj: { x: 1, y: 'y' } });
    assert.deepEqual(started, ['both']);
  });

  test('a returned Promise is adopted as the result', async () => {
    const f = coroutine(function* () {
      yield resolvedFuture(0);
      return Promise.resolve('adopted');
    })();
    assert.equal(await f, 'adopted');
  });

  test('a plain function is accepted: value, promise and throw', async () => {
    assert.equal(coroutine(() => 5)().result(), 5);
    assert.equal(await coroutine(async () => 6)(), 6);
    const thrown = coroutine((): number => {
      throw new BoomError('plain');
    })();
    assert.throws(() => thrown.result(), BoomError);
    assert.throws(() => coroutine(42 as never), TypeError);
  });

  test('cancelling throws CancelledError at the current yield and finally blocks run', async () => {
    const events: string[] = [];
    const blocker = new Future<number>();
    const f = coroutine(function* () {
      try {
        yield blocker;
        events.push('not reached');
      } catch (error) {
        events.push(`caught ${(error as Error).name}`);
        throw error;
      } finally {
        events.push('finally');
      }
    })();
    assert.equal(f.cancel(), true);
    await assert.rejects(f, CancelledError);
    await tick();
    assert.deepEqual(events, ['caught CancelledError', 'finally']);
    // The future it waited on is not cancelled (it may be shared), and finishing it later
    // does not resume the generator a second time.
    assert.equal(blocker.cancelled(), false);
    blocker.setResult(1);
    await tick();
    assert.deepEqual(events, ['caught CancelledError', 'finally']);
  });

  test('cancelling while waiting on a promise or moment also throws at the yield', async () => {
    for (const make of [() => new Promise<void>(() => {}), () => moment]) {
      let caught: unknown;
      const f = coroutine(function* () {
        try {
          yield make();
        } catch (error) {
          caught = error;
        }
      })();
      f.cancel();
      await assert.rejects(f, CancelledError);
      await tick();
      assert.ok(caught instanceof CancelledError);
    }
  });

  test('a generator that swallows the cancellation keeps running; its failure is logged', async () => {
    const f = coroutine(function* () {
      try {
        yield new Future();
      } catch {
        // ignore the cancellation and go on
      }
      yield sleep(1);
      throw new BoomError('after cancel');
    })();
    await expectLog(appLog, /Exception in coroutine after its Future was done/, async () => {
      f.cancel();
      await assert.rejects(f, CancelledError);
      await sleep(20);
    });
  });

  test('an abandoned wait finishing later does not resume the generator at its next yield', async () => {
    const events: string[] = [];
    const abandoned = new Future<number>();
    const next = new Future<number>();
    const f = coroutine(function* () {
      try {
        yield abandoned;
      } catch (error) {
        events.push(`caught ${(error as Error).name}`);
      }
      events.push(`next gave ${(yield next) as number}`);
    })();
    f.cancel();
    await tick();
    assert.deepEqual(events, ['caught CancelledError']);
    // The generator now waits on `next`: `abandoned` finishing must not wake it.
    abandoned.setResult(1);
    await tick();
    assert.deepEqual(events, ['caught CancelledError']);
    next.setResult(2);
    await tick();
    assert.deepEqual(events, ['caught CancelledError', 'next gave 2']);
  });

  test('a result finished from outside does not resume the generator early', async () => {
    const events: string[] = [];
    const blocker = new Future<number>();
    const f = coroutine(function* () {
      events.push(`got ${(yield blocker) as number}`);
    })();
    f.setResult(undefined);
    await tick();
    assert.deepEqual(events, []);
    blocker.setResult(3);
    await tick();
    assert.deepEqual(events, ['got 3']);
  });

  test('waiting retrieves a failure only when it is delivered; an abandoned one is reported', () => {
    // GC timing is only controllable with --expose-gc, so this runs in a child process.
    const url = (p: string) => JSON.stringify(fileURLToPath(new URL(p, import.meta.url)));
    const script = `
      const { Future } = await import(${url('../src/concurrent.ts')});
      const { coroutine } = await import(${url('../src/gen.ts')});
      const { configureLogging } = await import(${url('../src/log.ts')});
      configureLogging({ sink: (r) => console.log('LOG', r.logger, r.level, r.message, String(r.error)) });
      const tick = () => new Promise((r) => setImmediate(r));
      await (async () => {
        // Delivered at the yield and caught there: retrieved, not reported.
        const a = new Future();
        coroutine(function* () { try { yield a; } catch {} })();
        a.setException(new Error('delivered'));
        // The coroutine is cancelled first; the failure arrives later and nobody looks at it.
        const b = new Future();
        const c = coroutine(function* () { yield b; })();
        c.cancel();
        await tick();
        b.setException(new Error('abandoned'));
        try { await c; } catch {}
        await tick();
      })();
      for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
      console.log('END');
    `;
    const child = spawnSync(
      process.execPath,
      ['--expose-gc', '--input-type=module', '-e', script],
      {
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    assert.equal(child.status, 0, child.stderr);
    assert.match(child.stdout, /END/);
    const lines = child.stdout.split('\n').filter((l) => l.startsWith('LOG'));
    assert.deepEqual(lines, [
      'LOG gen error Future exception was never retrieved Error: abandoned',
    ]);
  });
});

describe('multi', () => {
  test('array and object results keep their shape', async () => {
    const list = await multi([resolvedFuture(1), Promise.resolve('two'), [resolvedFuture(3)]]);
    assert.deepEqual(list, [1, 'two', [3]]);
    const obj = await multi({ a: sleep(1).then(() => 'a'), b: resolvedFuture(2) });
    assert.deepEqual(obj, { a: 'a', b: 2 });
    assert.deepEqual(await multi([]), []);
    assert.deepEqual(await multi({}), {});
    assert.equal(multiFuture, multi);
  });

  test('finished children give a finished Future synchronously', () => {
    const f = multi([resolvedFuture(1), resolvedFuture(2)]);
    assert.equal(f.done(), true);
    assert.deepEqual(f.result(), [1, 2]);
  });

  test('waits for every child, raises the first failure in input order, logs the others', async () => {
    const first = new Future<number>();
    const second = new Future<number>();
    const slow = new Future<number>();
    const f = multi([first, second, slow]);
    await expectLog(genLog, /Multiple exceptions in yield list/, async () => {
      second.setException(new BoomError('second'));
      await tick();
      first.setException(new BoomError('first'));
      await tick();
      // Both failed, but the slow child is still allowed to finish.
      assert.equal(f.done(), false);
      slow.setResult(3);
      await assert.rejects(f, { message: 'first' });
    });
  });

  test('quietExceptions (a class or a list) silences the extra failures', async () => {
    for (const quietExceptions of [QuietError, [QueueEmpty, QuietError]]) {
      const f = multi(
        [failedFuture(new BoomError('raised')), failedFuture(new QuietError('quiet'))],
        { quietExceptions },
      );
      await assert.rejects(f, { message: 'raised' });
    }
  });

  test('a non-quiet extra failure is logged even with quietExceptions set', async () => {
    await expectLog(genLog, /Multiple exceptions/, async () => {
      const f = multi([failedFuture(new QuietError('q')), failedFuture(new BoomError('loud'))], {
        quietExceptions: QuietError,
      });
      await assert.rejects(f, { message: 'q' });
    });
  });

  test('rejects anything but an array or a plain object', () => {
    assert.throws(() => multi(new Map() as never), TypeError);
  });
});

describe('withTimeout', () => {
  test('passes the result through when in time', async () => {
    assert.equal(
      await withTimeout(
        sleep(1).then(() => 'ok'),
        1000,
      ),
      'ok',
    );
    assert.equal(await withTimeout(resolvedFuture(1), 0), 1);
  });

  test('rejects with TimeoutError and does not cancel the wrapped future', async () => {
    const inner = new Future<string>();
    await assert.rejects(withTimeout(inner, 5), TimeoutError);
    assert.equal(inner.done(), false);
    inner.setResult('late'); // a late success is simply not reported
    assert.equal(await inner, 'late');
  });

  test('a later failure of the wrapped future is logged unless quiet', async () => {
    const inner = new Future<string>();
    await assert.rejects(withTimeout(inner, 5), TimeoutError);
    await expectLog(appLog, /Exception in Future after timeout/, async () => {
      inner.setException(new BoomError('late failure'));
      await tick();
    });
    const quiet = new Future<string>();
    await assert.rejects(withTimeout(quiet, 5, { quietExceptions: [QuietError] }), TimeoutError);
    quiet.setException(new QuietError('quiet late failure'));
    await tick();
  });

  test('bad timeouts are refused', () => {
    assert.throws(() => withTimeout(new Future(), -1), RangeError);
    assert.throws(() => withTimeout(new Future(), Number.NaN), TypeError);
  });
});

describe('sleep', () => {
  test('resolves after the delay, cancellation stops it', async () => {
    const start = performance.now();
    await sleep(20);
    assert.ok(performance.now() - start >= 15);
    const s = sleep(10_000);
    assert.equal(s.cancel(), true);
    await assert.rejects(s, CancelledError);
    assert.throws(() => sleep(-1), RangeError);
    assert.throws(() => sleep('1' as never), TypeError);
  });
});

describe('WaitIterator', () => {
  test('gives results in completion order with the right currentIndex (array)', async () => {
    const fs = [new Future<string>(), new Future<string>(), new Future<string>()];
    const it = new WaitIterator(fs);
    const seen: Array<[unknown, string]> = [];
    fs[2]!.setResult('c');
    fs[0]!.setResult('a');
    setTimeout(() => fs[1]!.setResult('b'), 5);
    while (!it.done()) {
      const value = await it.next();
      seen.push([it.currentIndex, value]);
      assert.equal(it.currentFuture, fs[it.currentIndex as number]);
    }
    assert.deepEqual(seen, [
      [2, 'c'],
      [0, 'a'],
      [1, 'b'],
    ]);
    assert.equal(it.currentIndex, null);
    assert.throws(() => it.next(), InvalidStateError);
  });

  test('keys for an object, positions for separate arguments, errors at their turn', async () => {
    const slow = new Future<number>();
    const it = new WaitIterator<number>({ slow, fast: resolvedFuture(1) });
    assert.equal(await it.next(), 1);
    assert.equal(it.currentIndex, 'fast');
    const pending = it.next();
    assert.throws(() => it.next(), InvalidStateError);
    slow.setException(new BoomError('slow failed'));
    await assert.rejects(pending, BoomError);
    assert.equal(it.currentIndex, 'slow');
    assert.equal(it.done(), true);

    const byArgs = new WaitIterator(
      sleep(10).then(() => 'x'),
      resolvedFuture('y'),
    );
    const order: unknown[] = [];
    for await (const value of byArgs) order.push([byArgs.currentIndex, value]);
    assert.deepEqual(order, [
      [1, 'y'],
      [0, 'x'],
    ]);
  });

  test('for await stops at a failure', async () => {
    const it = new WaitIterator([resolvedFuture(1), failedFuture<number>(new BoomError('x'))]);
    const got: number[] = [];
    await assert.rejects(async () => {
      for await (const v of it) got.push(v);
    }, BoomError);
    assert.deepEqual(got, [1]);
  });
});

describe('convertYielded', () => {
  test('converts every yieldable and refuses the rest', async () => {
    const f = new Future();
    assert.equal(convertYielded(f), f);
    assert.equal(await convertYielded(Promise.resolve(3)), 3);
    assert.deepEqual(await convertYielded([resolvedFuture(1)]), [1]);
    assert.equal(await convertYielded(null), undefined);
    assert.throws(() => convertYielded(3), /yielded unknown object 3/);
  });
});

describe('Task and fromCallback', () => {
  test('Task passes a trailing callback whose first argument is the result', async () => {
    function legacy(a: number, b: number, callback: (sum: number) => void): void {
      setTimeout(() => callback(a + b), 1);
    }
    assert.equal(await Task(legacy, 2, 3), 5);
    const twice = Task((cb: (v: string) => void) => {
      cb('first');
      cb('second');
    });
    assert.equal(await twice, 'first');
    const thrown = Task((_cb: (v: string) => void) => {
      throw new BoomError('sync');
    });
    await assert.rejects(thrown, BoomError);
  });

  test('fromCallback follows the Node (err, value) convention', async () => {
    const ok = (x: number, cb: (err: Error | null, v?: number) => void) => cb(null, x * 2);
    assert.equal(await fromCallback(ok, 4), 8);
    const bad = (cb: (err: Error | null, v?: number) => void) =>
      setImmediate(() => cb(new BoomError('node style')));
    await assert.rejects(fromCallback(bad), BoomError);
    const thrower = (_cb: (err: unknown) => void) => {
      throw new BoomError('threw');
    };
    await assert.rejects(fromCallback(thrower), BoomError);
  });
});
