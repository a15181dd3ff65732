// MemoryBroker: the broker contract, plus what only the embedded engine promises.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBroker } from '../../src/broker/index.ts';
import { brokerContract } from '../contracts/broker.contract.ts';

brokerContract({ name: 'MemoryBroker', make: (options) => new MemoryBroker(options) });

test('each MemoryBroker is its own engine with its own epoch', async () => {
  const a = new MemoryBroker();
  const b = new MemoryBroker();
  const pa = await a.publish('c', 1);
  const pb = await b.publish('c', 1);
  assert.equal(pa.offset, 1);
  assert.equal(pb.offset, 1);
  assert.notEqual(pa.epoch, pb.epoch);
  const other = await b.history('c', { since: { offset: 0, epoch: pa.epoch } });
  assert.equal(other.recovered, false);
  await Promise.all([a.close(), b.close()]);
});

test('publications in one loop turn get offsets in call order, delivered after publish returns', async () => {
  const broker = new MemoryBroker();
  const seen: number[] = [];
  const sub = broker.subscribe('c', (p) => seen.push(p.offset));
  await sub.ready;
  const futures = [1, 2, 3].map((i) => broker.publish('c', i));
  assert.deepEqual(
    futures.map((f) => f.result().offset),
    [1, 2, 3],
  );
  assert.deepEqual(seen, [], 'no subscriber runs inside publish');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(seen, [1, 2, 3]);
  await broker.close();
});

test('limits are checked', () => {
  assert.throws(() => new MemoryBroker({ historySize: 0 }), RangeError);
  assert.throws(() => new MemoryBroker({ historyTtl: -1 }), RangeError);
  assert.throws(() => new MemoryBroker({ maxMessageSize: 1.5 }), RangeError);
});

test('next() called several times without awaiting each gets consecutive publications', async () => {
  const broker = new MemoryBroker();
  const start = (await broker.history('c', { limit: 0 })).position;
  const stream = broker.stream('c', { since: start });
  const steps = [stream.next(), stream.next(), stream.next()];
  await new Promise((resolve) => setTimeout(resolve, 10));
  for (const i of [1, 2, 3]) await broker.publish('c', i);
  const got = await Promise.all(steps);
  assert.deepEqual(got.map((s) => s.value?.offset).sort(), [1, 2, 3]);
  await broker.close();
});
