// One contract suite for every queue class: what Queue, PriorityQueue and LifoQueue promise
// alike. Each class differs only in the order items come out, which the caller describes with
// `order(items)` (the order in which items put in `items` order are taken out).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Queue, QueueOptions } from '../../src/queues.ts';
import { QueueEmpty, QueueFull, TimeoutError, CancelledError } from '../../src/errors.ts';
import { sleep } from '../../src/gen.ts';

export interface QueueContract {
  /** Class name, for test titles. */
  name: string;
  /** A new queue of numbers. */
  make: (options?: QueueOptions) => Queue<number>;
  /** The order in which `items`, put in this order, come out. */
  order: (items: number[]) => number[];
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export function queueContract({ name, make, order }: QueueContract): void {
  describe(`${name} (queue contract)`, () => {
    test('putNowait/getNowait hand items out in the class order', () => {
      const q = make();
      const items = [5, 1, 4, 2, 3];
      for (const item of items) q.putNowait(item);
      assert.equal(q.qsize(), 5);
      assert.equal(q.empty(), false);
      const out: number[] = [];
      while (!q.empty()) out.push(q.getNowait());
      assert.deepEqual(out, order(items));
      assert.throws(() => q.getNowait(), QueueEmpty);
    });

    test('get waits for a put; put and get are Futures', async () => {
      const q = make();
      const got = q.get();
      assert.equal(got.done(), false);
      const put = q.put(7);
      assert.equal(put.done(), true);
      assert.equal(await got, 7);
      assert.equal(q.qsize(), 0);
    });

    test('getters are served in the order they asked', async () => {
      const q = make();
      const g1 = q.get();
      const g2 = q.get();
      q.putNowait(1);
      q.putNowait(2);
      assert.deepEqual(await Promise.all([g1, g2]), [1, 2]);
    });

    test('maxsize bounds the queue: full, QueueFull, put waits', async () => {
      const q = make({ maxsize: 2 });
      assert.equal(q.maxsize, 2);
      q.putNowait(1);
      assert.equal(q.full(), false);
      q.putNowait(2);
      assert.equal(q.full(), true);
      assert.throws(() => q.putNowait(3), QueueFull);
      const blocked = q.put(3);
      await tick();
      assert.equal(blocked.done(), false);
      q.getNowait();
      assert.equal(blocked.done(), true);
      assert.equal(q.qsize(), 2);
    });

    test('an unbounded queue is never full', () => {
      const q = make();
      for (let i = 0; i < 1000; i++) q.putNowait(i);
      assert.equal(q.full(), false);
      assert.equal(q.qsize(), 1000);
    });

    test("a blocked put()'s item enters the queue before the next get() returns", () => {
      const q = make({ maxsize: 1 });
      q.putNowait(10);
      const blocked = q.put(20);
      const got = q.getNowait();
      assert.equal(got, order([10, 20])[0]);
      assert.equal(blocked.done(), true);
      assert.equal(q.qsize(), 1);
      assert.equal(q.getNowait(), order([10, 20])[1]);
      // The same through get():
      q.putNowait(30);
      const blocked2 = q.put(40);
      const viaGet = q.get();
      assert.equal(viaGet.done(), true);
      assert.equal(viaGet.result(), order([30, 40])[0]);
      assert.equal(blocked2.done(), true);
      assert.equal(q.qsize(), 1);
    });

    test('get({timeout}) rejects with TimeoutError; an item put later goes to the next getter', async () => {
      const q = make();
      const impatient = q.get({ timeout: 5 });
      const patient = q.get();
      await assert.rejects(impatient, TimeoutError);
      q.putNowait(99);
      assert.equal(await patient, 99);
      // And with nobody waiting, the item stays in the queue.
      await assert.rejects(q.get({ timeout: 1 }), TimeoutError);
      q.putNowait(100);
      assert.equal(q.qsize(), 1);
      assert.equal(q.getNowait(), 100);
    });

    test('a cancelled get() gives up its place too', async () => {
      const q = make();
      const cancelled = q.get();
      const next = q.get();
      cancelled.cancel();
      q.putNowait(1);
      assert.equal(await next, 1);
      await assert.rejects(cancelled, CancelledError);
    });

    test('put({timeout}) on a full queue rejects and the item is not put', async () => {
      const q = make({ maxsize: 1 });
      q.putNowait(1);
      await assert.rejects(q.put(2, { timeout: 5 }), TimeoutError);
      assert.equal(q.qsize(), 1);
      assert.equal(q.getNowait(), 1);
      assert.throws(() => q.getNowait(), QueueEmpty);
    });

    test('bad timeouts are refused', () => {
      const q = make();
      assert.throws(() => q.get({ timeout: -1 }), RangeError);
      assert.throws(() => q.put(1, { timeout: Number.NaN }), TypeError);
    });

    test('taskDone/join: join resolves when every item is processed', async () => {
      const q = make();
      assert.equal(q.join().done(), true); // nothing put yet
      q.putNowait(1);
      q.putNowait(2);
      const joined = q.join();
      q.getNowait();
      q.taskDone();
      await tick();
      assert.equal(joined.done(), false);
      q.getNowait();
      q.taskDone();
      await joined;
      assert.throws(() => q.taskDone(), RangeError);
    });

    test('join({timeout}) rejects with TimeoutError', async () => {
      const q = make();
      q.putNowait(1);
      await assert.rejects(q.join({ timeout: 5 }), TimeoutError);
    });

    test('for await gets items as they come', async () => {
      const q = make();
      const seen: number[] = [];
      const consumer = (async () => {
        for await (const item of q) {
          seen.push(item);
          q.taskDone();
          if (seen.length === 3) break;
        }
      })();
      for (const item of [1, 2, 3]) {
        await q.put(item);
        await sleep(1);
      }
      await consumer;
      await q.join();
      assert.deepEqual(seen, [1, 2, 3]);
    });

    test('maxsize must be a non-negative integer', () => {
      assert.throws(() => make({ maxsize: -1 }), RangeError);
      assert.throws(() => make({ maxsize: 1.5 }), TypeError);
      assert.equal(make({ maxsize: 0 }).full(), false);
    });

    test('producer/consumer with back-pressure delivers everything once', async () => {
      const q = make({ maxsize: 3 });
      const received: number[] = [];
      const consumers = [0, 1].map(async () => {
        for (;;) {
          const item = await q.get();
          if (item < 0) return;
          received.push(item);
          q.taskDone();
        }
      });
      for (let i = 0; i < 50; i++) await q.put(i);
      await q.join();
      await q.put(-1);
      await q.put(-1);
      await Promise.all(consumers);
      assert.deepEqual(
        received.sort((a, b) => a - b),
        Array.from({ length: 50 }, (_, i) => i),
      );
    });
  });
}
