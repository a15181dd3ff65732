import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { LifoQueue, PriorityQueue, Queue, defaultCompare } from '../src/queues.ts';
import { queueContract } from './contracts/queue.contract.ts';

queueContract({ name: 'Queue', make: (o) => new Queue<number>(o), order: (items) => items });
queueContract({
  name: 'PriorityQueue',
  make: (o) => new PriorityQueue<number>(o),
  order: (items) => [...items].sort((a, b) => a - b),
});
queueContract({
  name: 'LifoQueue',
  make: (o) => new LifoQueue<number>(o),
  order: (items) => [...items].reverse(),
});

describe('PriorityQueue', () => {
  test('[priority, item] pairs come out lowest priority first, ties by the next element', () => {
    const q = new PriorityQueue<[number, string]>();
    q.putNowait([1, 'medium-b']);
    q.putNowait([0, 'high']);
    q.putNowait([10, 'low']);
    q.putNowait([1, 'medium-a']);
    const out = [q.getNowait(), q.getNowait(), q.getNowait(), q.getNowait()];
    assert.deepEqual(out, [
      [0, 'high'],
      [1, 'medium-a'],
      [1, 'medium-b'],
      [10, 'low'],
    ]);
  });

  test('strings order by value; a shorter tuple comes first on a tie', () => {
    const q = new PriorityQueue<string>();
    for (const s of ['pear', 'apple', 'fig']) q.putNowait(s);
    assert.deepEqual([q.getNowait(), q.getNowait(), q.getNowait()], ['apple', 'fig', 'pear']);
    assert.ok(defaultCompare([1], [1, 0]) < 0);
    assert.equal(defaultCompare([2, 'a'], [2, 'a']), 0);
  });

  test('items that cannot be ordered are a TypeError and leave the queue intact', () => {
    const q = new PriorityQueue<unknown>();
    q.putNowait([1, 'x']);
    q.putNowait([2, 'y']);
    assert.throws(() => q.putNowait({ p: 0 }), /cannot order Object and array/);
    assert.throws(() => q.putNowait([1, { a: 1 }]), TypeError);
    assert.throws(() => q.putNowait(Number.NaN), TypeError);
    assert.equal(q.qsize(), 2);
    assert.deepEqual(q.getNowait(), [1, 'x']);
    assert.deepEqual(q.getNowait(), [2, 'y']);
    // A failed put does not count as an unfinished task.
    q.taskDone();
    q.taskDone();
    assert.throws(() => q.taskDone(), RangeError);
  });

  test('a compare function orders arbitrary items', () => {
    const q = new PriorityQueue<{ due: number; name: string }>({
      compare: (a, b) => a.due - b.due,
    });
    q.putNowait({ due: 3, name: 'c' });
    q.putNowait({ due: 1, name: 'a' });
    q.putNowait({ due: 2, name: 'b' });
    assert.deepEqual(
      [q.getNowait(), q.getNowait(), q.getNowait()].map((x) => x.name),
      ['a', 'b', 'c'],
    );
    assert.throws(() => new PriorityQueue({ compare: 5 as never }), TypeError);
  });

  test('many random numbers come out sorted', () => {
    const q = new PriorityQueue<number>();
    const items = Array.from({ length: 500 }, (_, i) => (i * 7919) % 1009);
    for (const item of items) q.putNowait(item);
    const out: number[] = [];
    while (!q.empty()) out.push(q.getNowait());
    assert.deepEqual(
      out,
      [...items].sort((a, b) => a - b),
    );
  });
});

describe('Queue', () => {
  test('toString describes size and waiters', () => {
    const q = new Queue<number>({ maxsize: 1 });
    q.putNowait(1);
    void q.put(2);
    assert.equal(String(q), '<Queue maxsize=1 qsize=1 putters[1] tasks=1>');
    const lifo = new LifoQueue();
    void lifo.get().catch(() => {});
    assert.match(String(lifo), /<LifoQueue maxsize=0 qsize=0 getters\[1\]>/);
  });

  test('works as the "deliver to a queue" interface between two coroutines', async () => {
    const q = new Queue<string>({ maxsize: 1 });
    const log: string[] = [];
    const producer = async () => {
      for (const item of ['a', 'b', 'c']) {
        await q.put(item);
        log.push(`put ${item}`);
      }
    };
    const consumer = async () => {
      for (let i = 0; i < 3; i++) {
        const item = await q.get();
        log.push(`got ${item}`);
        q.taskDone();
      }
    };
    await Promise.all([producer(), consumer(), q.join()]);
    assert.deepEqual(
      log.filter((l) => l.startsWith('got')),
      ['got a', 'got b', 'got c'],
    );
    assert.equal(log.length, 6);
  });
});
