import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { IOLoop, PeriodicCallback } from '../src/ioloop.ts';
import { Future, resolvedFuture } from '../src/concurrent.ts';
import { TimeoutError } from '../src/errors.ts';
import { appLog, type LogRecord } from '../src/log.ts';
import { addLogInterceptor } from '../src/log.ts';
import { sleep } from '../src/gen.ts';
import { expectLog } from '../src/testing.ts';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
class BoomError extends Error {}

/** Run `fn` while collecting the records it logs on appLog (claimed, so the suite stays green). */
async function captureAppLog(fn: (records: LogRecord[]) => Promise<void>): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  const remove = addLogInterceptor((r) => {
    if (r.logger !== 'app') return false;
    records.push(r);
    return true;
  });
  try {
    await fn(records);
  } finally {
    remove();
  }
  return records;
}

describe('IOLoop basics', () => {
  test('current() is one loop per thread; makeCurrent replaces it', () => {
    const loop = IOLoop.current();
    assert.equal(IOLoop.current(), loop);
    const other = new IOLoop();
    IOLoop.makeCurrent(other);
    assert.equal(IOLoop.current(), other);
    IOLoop.makeCurrent(loop);
    other.close();
    assert.equal(IOLoop.current(), loop);
  });

  test('time() is monotonic milliseconds', async () => {
    const loop = IOLoop.current();
    const t0 = loop.time();
    await sleep(10);
    const elapsed = loop.time() - t0;
    assert.ok(elapsed >= 8 && elapsed < 10_000, `elapsed ${elapsed}`);
  });

  test('addCallback runs later, in order, with its arguments', async () => {
    const loop = IOLoop.current();
    const calls: string[] = [];
    loop.addCallback((a: string, b: number) => calls.push(`${a}${b}`), 'x', 1);
    loop.addCallback(() => calls.push('second'));
    assert.deepEqual(calls, []);
    await tick();
    await tick();
    assert.deepEqual(calls, ['x1', 'second']);
  });

  test('a callback added while callbacks run waits for the next batch', async () => {
    const loop = IOLoop.current();
    const calls: string[] = [];
    loop.addCallback(() => {
      calls.push('a');
      loop.addCallback(() => calls.push('c (added by a)'));
    });
    loop.addCallback(() => calls.push('b'));
    // Not a timer: on a busy machine a 5 ms timer can fire between the two batches. An
    // immediate queued now runs right after the first batch; one queued then runs after the
    // second (Node runs immediates queued during a turn on the next turn, in order).
    const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
    await nextTurn();
    assert.deepEqual(calls, ['a', 'b'], 'c waits for the next batch');
    await nextTurn();
    assert.deepEqual(calls, ['a', 'b', 'c (added by a)']);
  });

  test('a throwing callback is logged with its stack and the loop carries on', async () => {
    const loop = IOLoop.current();
    let after = false;
    const records = await captureAppLog(async () => {
      loop.addCallback(function failing() {
        throw new BoomError('callback boom');
      });
      loop.addCallback(() => (after = true));
      // An immediate queued now runs right after the batch (a timer could run before it).
      await new Promise<void>((resolve) => setImmediate(resolve));
    });
    assert.equal(after, true);
    assert.equal(records.length, 1);
    assert.match(records[0]!.message, /Exception in callback failing/);
    assert.ok(records[0]!.error instanceof BoomError);
    assert.match((records[0]!.error as Error).stack!, /callback boom\n\s+at failing/);
  });

  test('spawnCallback logs a failed coroutine instead of propagating it', async () => {
    const loop = IOLoop.current();
    const records = await captureAppLog(async (seen) => {
      loop.spawnCallback(async function spawned(delay: number) {
        await sleep(delay);
        throw new BoomError('spawned boom');
      }, 1);
      // Until the failure is logged (a fixed 20 ms was too short on a loaded machine), then a
      // little longer, so a second record would be seen too.
      const deadline = Date.now() + 5000;
      while (seen.length === 0 && Date.now() < deadline) await sleep(5);
      await sleep(20);
    });
    assert.equal(records.length, 1);
    assert.match(records[0]!.message, /spawned/);
    assert.match(String((records[0]!.error as Error).stack), /spawned boom/);
    // Still alive: another callback runs.
    const ran = new Future<boolean>();
    loop.spawnCallback(() => ran.setResult(true));
    assert.equal(await ran, true);
  });

  test('callLater runs after the delay with arguments; removeTimeout cancels', async () => {
    const loop = IOLoop.current();
    const calls: string[] = [];
    const start = loop.time();
    const handle = loop.callLater(10, (x: string) => calls.push(x), 'late');
    assert.ok(handle.deadline >= start + 10);
    const removed = loop.callLater(5, () => calls.push('removed'));
    loop.removeTimeout(removed);
    loop.removeTimeout(null);
    await sleep(30);
    assert.deepEqual(calls, ['late']);
    loop.removeTimeout(handle); // harmless after it ran
    assert.throws(() => loop.callLater(Number.NaN, () => {}), TypeError);
  });

  test('callAt and addTimeout use loop time', async () => {
    const loop = IOLoop.current();
    const calls: string[] = [];
    loop.callAt(loop.time() + 5, () => calls.push('at'));
    loop.addTimeout(loop.time() + 5, () => calls.push('deadline'));
    loop.addTimeout({ delay: 5 }, () => calls.push('delay'));
    await sleep(30);
    assert.deepEqual(calls.sort(), ['at', 'deadline', 'delay']);
  });

  test('a throwing timer is logged and later timers still run', async () => {
    const loop = IOLoop.current();
    let later = false;
    await expectLog(appLog, /Exception in callback/, async () => {
      loop.callLater(1, () => {
        throw new BoomError('timer boom');
      });
      loop.callLater(5, () => (later = true));
      await sleep(20);
    });
    assert.equal(later, true);
  });

  test('addFuture calls fn on the loop once the future is done', async () => {
    const loop = IOLoop.current();
    const f = new Future<number>();
    const got = new Future<number>();
    loop.addFuture(f, (done) => got.setResult(done.result() * 2));
    f.setResult(21);
    assert.equal(await got, 42);
    const fromPromise = new Future<string>();
    loop.addFuture(Promise.resolve('p'), (done) => fromPromise.setResult(done.result()));
    assert.equal(await fromPromise, 'p');
  });

  test('runSync resolves with the result; times out with TimeoutError', async () => {
    const loop = IOLoop.current();
    assert.equal(await loop.runSync(() => 5), 5);
    assert.equal(await loop.runSync(async () => 6, { timeout: 1000 }), 6);
    assert.equal(await loop.runSync(() => resolvedFuture(7)), 7);
    await assert.rejects(
      loop.runSync(() => new Future(), { timeout: 10 }),
      TimeoutError,
    );
    await assert.rejects(
      loop.runSync(() => Promise.reject(new BoomError('sync fail'))),
      BoomError,
    );
  });

  test('start() resolves when stop() is called', async () => {
    const loop = IOLoop.current();
    const events: string[] = [];
    loop.callLater(5, () => {
      events.push('stopping');
      loop.stop();
    });
    const started = loop.start();
    assert.equal(loop.start(), started); // a second start is the same run
    await started;
    events.push('stopped');
    assert.deepEqual(events, ['stopping', 'stopped']);
  });

  test('close() drops pending callbacks and timers; current() is then a new loop', async () => {
    const loop = new IOLoop();
    IOLoop.makeCurrent(loop);
    const calls: string[] = [];
    loop.addCallback(() => calls.push('callback'));
    loop.callLater(1, () => calls.push('timer'));
    loop.close();
    loop.close(); // idempotent
    await sleep(10);
    assert.deepEqual(calls, []);
    assert.notEqual(IOLoop.current(), loop);
  });
});

describe('PeriodicCallback', () => {
  test('a period <= 0 or not a number is a RangeError; bad jitter too', () => {
    assert.throws(() => new PeriodicCallback(() => {}, 0), RangeError);
    assert.throws(() => new PeriodicCallback(() => {}, -5), RangeError);
    assert.throws(() => new PeriodicCallback(() => {}, Number.NaN), RangeError);
    assert.throws(() => new PeriodicCallback(() => {}, Infinity), RangeError);
    assert.throws(() => new PeriodicCallback(() => {}, 10, 2), RangeError);
    assert.throws(() => new PeriodicCallback(null as never, 10), TypeError);
  });

  test('calls repeatedly until stopped; isRunning tracks it', async () => {
    let count = 0;
    const pc = new PeriodicCallback(() => count++, 5);
    assert.equal(pc.isRunning(), false);
    pc.start();
    pc.start(); // no second schedule
    assert.equal(pc.isRunning(), true);
    await sleep(60);
    pc.stop();
    assert.equal(pc.isRunning(), false);
    const atStop = count;
    assert.ok(atStop >= 2, `only ${atStop} calls`);
    await sleep(30);
    assert.equal(count, atStop);
  });

  test('runs never overlap: an async callback delays the next run', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const done = new Future<void>();
    const pc = new PeriodicCallback(async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await sleep(25); // several periods long
      active--;
      if (++runs === 3) {
        pc.stop();
        done.setResult();
      }
    }, 5);
    pc.start();
    await done;
    assert.equal(maxActive, 1);
    assert.equal(runs, 3);
  });

  test('missed ticks are skipped, not queued', async () => {
    const period = 50;
    const starts: number[] = [];
    const ends: number[] = [];
    const done = new Future<void>();
    const pc = new PeriodicCallback(() => {
      starts.push(performance.now());
      if (starts.length === 1) {
        // Block the loop for more than two periods.
        const until = performance.now() + 2.6 * period;
        while (performance.now() < until);
      }
      ends.push(performance.now());
      if (starts.length === 3) {
        pc.stop();
        done.setResult();
      }
    }, period);
    pc.start();
    await done;
    // Queued ticks would fire back to back right after the block; skipped ones do not.
    const gap1 = starts[1]! - ends[0]!;
    const gap2 = starts[2]! - starts[1]!;
    assert.ok(gap1 >= 5, `second run started ${gap1.toFixed(1)} ms after the blocked one`);
    assert.ok(gap2 >= 5, `third run started ${gap2.toFixed(1)} ms after the second`);
  });

  test('a throwing or rejecting callback is logged and the timer carries on', async () => {
    let runs = 0;
    const done = new Future<void>();
    await expectLog(appLog, /Exception in PeriodicCallback/, async () => {
      const pc = new PeriodicCallback(() => {
        runs++;
        if (runs === 3) {
          pc.stop();
          done.setResult();
        }
        if (runs === 1) throw new BoomError('sync');
        if (runs === 2) return Promise.reject(new BoomError('async'));
        return undefined;
      }, 5);
      pc.start();
      await done;
    });
    assert.equal(runs, 3);
  });
});
