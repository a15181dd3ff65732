import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedSemaphore, Condition, Event, Lock, Semaphore } from '../src/locks.ts';
import { InvalidStateError, TimeoutError } from '../src/errors.ts';
import { sleep } from '../src/gen.ts';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

// `using` declarations need a V8 that parses them (Node 24); Node 22 cannot, so the blocks live
// in a fixture imported only where the syntax works. The releaser's Symbol.dispose, which is
// what `using` calls, is tested directly on every line.
let usingSupported = true;
try {
  new Function('{ using x = null; }');
} catch {
  usingSupported = false;
}
const usingSkip = usingSupported
  ? false
  : `this Node (${process.version}) cannot parse \`using\` declarations`;

describe('Condition', () => {
  test('cancelled waiters are skipped and do not take a notify', async () => {
    const c = new Condition();
    const keep = c.wait();
    for (let i = 0; i < 1000; i++) c.wait().cancel();
    await tick();
    assert.equal(c.waiting, 1);
    c.notify();
    assert.equal(await keep, true);
  });

  test('notify wakes one waiter, oldest first; notify(n) and notifyAll wake more', async () => {
    const c = new Condition();
    const woken: number[] = [];
    const waits = [0, 1, 2, 3, 4].map((i) => c.wait().then((v) => (v ? woken.push(i) : 0)));
    assert.equal(c.waiting, 5);
    c.notify();
    await tick();
    assert.deepEqual(woken, [0]);
    c.notify(2);
    await tick();
    assert.deepEqual(woken, [0, 1, 2]);
    c.notifyAll();
    await Promise.all(waits);
    assert.deepEqual(woken, [0, 1, 2, 3, 4]);
    assert.equal(c.waiting, 0);
  });

  test('wait resolves false on timeout, and a timed-out waiter does not consume a notify', async () => {
    const c = new Condition();
    const impatient = c.wait({ timeout: 5 });
    const patient = c.wait();
    assert.equal(await impatient, false);
    c.notify(1);
    assert.equal(await patient, true);
  });

  test('a notify with no waiters is not remembered', async () => {
    const c = new Condition();
    c.notify();
    assert.equal(await c.wait({ timeout: 5 }), false);
  });

  test('many timed-out waiters are swept out', async () => {
    const c = new Condition();
    const waits = Array.from({ length: 150 }, () => c.wait({ timeout: 1 }));
    assert.deepEqual(new Set(await Promise.all(waits)), new Set([false]));
    assert.equal(c.waiting, 0);
    const live = c.wait();
    c.notify();
    assert.equal(await live, true);
  });

  test('bad arguments are refused', () => {
    const c = new Condition();
    assert.throws(() => c.notify(-1), RangeError);
    assert.throws(() => c.wait({ timeout: -5 }), RangeError);
  });
});

describe('Event', () => {
  test('wait resolves once set, at once when already set; clear resets', async () => {
    const e = new Event();
    assert.equal(e.isSet(), false);
    const w = e.wait();
    await tick();
    assert.equal(w.done(), false);
    e.set();
    assert.equal(e.isSet(), true);
    await w;
    assert.equal(e.wait().done(), true);
    e.clear();
    assert.equal(e.isSet(), false);
    assert.equal(e.wait({ timeout: 1000 }).done(), false);
    e.set(); // releases that waiter and its timer, so the process can exit
  });

  test('wait({timeout}) rejects with TimeoutError; other waiters are unaffected', async () => {
    const e = new Event();
    const impatient = e.wait({ timeout: 5 });
    const patient = e.wait();
    await assert.rejects(impatient, TimeoutError);
    e.set();
    await patient;
  });
});

describe('Semaphore', () => {
  test('bounds concurrency and hands out permits in FIFO order', async () => {
    const sem = new Semaphore(2);
    let active = 0;
    let maxActive = 0;
    const order: number[] = [];
    const job = (i: number) =>
      sem.run(async () => {
        order.push(i);
        active++;
        maxActive = Math.max(maxActive, active);
        await sleep(2);
        active--;
      });
    await Promise.all([0, 1, 2, 3, 4, 5].map(job));
    assert.equal(maxActive, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
    assert.equal(sem.value, 2);
  });

  test('acquire resolves to a releaser usable once, or with `using`', async () => {
    const sem = new Semaphore(1);
    const r = await sem.acquire();
    assert.equal(sem.value, 0);
    r.release();
    assert.equal(sem.value, 1);
    assert.throws(() => r.release(), InvalidStateError);
    const held = await sem.acquire();
    assert.equal(sem.value, 0);
    held[Symbol.dispose]();
    assert.equal(sem.value, 1);
  });

  test('a `using` block releases its permit', { skip: usingSkip }, async () => {
    const { semaphoreInUsingBlock } = await import('./fixtures/locks/using-blocks.ts');
    assert.deepEqual(await semaphoreInUsingBlock(new Semaphore(1)), [0, 1]);
  });

  test('a waiter that timed out does not consume a permit', async () => {
    const sem = new Semaphore(0);
    const impatient = sem.acquire({ timeout: 5 });
    const patient = sem.acquire();
    await assert.rejects(impatient, TimeoutError);
    sem.release();
    const r = await patient;
    assert.equal(sem.value, 0);
    r.release();
    assert.equal(sem.value, 1);
  });

  test('a cancelled waiter does not consume a permit either', async () => {
    const sem = new Semaphore(0);
    const cancelled = sem.acquire();
    const next = sem.acquire();
    cancelled.cancel();
    sem.release();
    (await next).release();
    assert.equal(sem.value, 1);
  });

  test('run releases when fn throws', async () => {
    const sem = new Semaphore(1);
    await assert.rejects(
      sem.run(() => {
        throw new Error('inside');
      }),
      /inside/,
    );
    assert.equal(sem.value, 1);
    assert.equal(await sem.run(() => 5), 5);
  });

  test('a negative or non-integer value is refused; an unbounded semaphore may grow', () => {
    assert.throws(() => new Semaphore(-1), RangeError);
    assert.throws(() => new Semaphore(1.5), TypeError);
    const sem = new Semaphore(1);
    sem.release();
    assert.equal(sem.value, 2);
  });
});

describe('BoundedSemaphore', () => {
  test('releasing past the initial value is a RangeError', async () => {
    const sem = new BoundedSemaphore(2);
    assert.throws(() => sem.release(), RangeError);
    const r = await sem.acquire();
    r.release();
    assert.throws(() => sem.release(), RangeError);
    assert.equal(sem.value, 2);
    assert.throws(() => new BoundedSemaphore(-1), RangeError);
  });
});

describe('Lock', () => {
  test('one holder at a time, FIFO-fair', async () => {
    const lock = new Lock();
    const order: string[] = [];
    const worker = (name: string) =>
      lock.run(async () => {
        order.push(`${name} in`);
        await sleep(1);
        order.push(`${name} out`);
      });
    await Promise.all(['a', 'b', 'c'].map(worker));
    assert.deepEqual(order, ['a in', 'a out', 'b in', 'b out', 'c in', 'c out']);
  });

  test('a released lock goes to the oldest waiter, not to a newcomer', async () => {
    const lock = new Lock();
    const first = await lock.acquire();
    const waiter = lock.acquire();
    first.release();
    // The lock is handed to the waiter at release time: a newcomer must queue behind it.
    assert.equal(lock.locked(), true);
    const newcomer = lock.acquire();
    assert.equal(newcomer.done(), false);
    (await waiter).release();
    (await newcomer).release();
    assert.equal(lock.locked(), false);
  });

  test('acquire({timeout}) rejects with TimeoutError without consuming the lock', async () => {
    const lock = new Lock();
    const held = await lock.acquire();
    await assert.rejects(lock.acquire({ timeout: 5 }), TimeoutError);
    const next = lock.acquire();
    held.release();
    const r = await next;
    assert.equal(lock.locked(), true);
    r.release();
  });

  test('a `using` block releases the lock', { skip: usingSkip }, async () => {
    const { lockInUsingBlock } = await import('./fixtures/locks/using-blocks.ts');
    assert.deepEqual(await lockInUsingBlock(new Lock()), [true, false]);
  });

  test('dispose releases; release while unlocked is InvalidStateError', async () => {
    const lock = new Lock();
    const held = await lock.acquire();
    assert.equal(lock.locked(), true);
    held[Symbol.dispose]();
    assert.equal(lock.locked(), false);
    assert.throws(() => lock.release(), InvalidStateError);
    const r = await lock.acquire();
    lock.release();
    assert.throws(() => r.release(), InvalidStateError);
  });
});
