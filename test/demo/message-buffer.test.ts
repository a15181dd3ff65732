// The chat demo's MessageBuffer on its own: bounded history, cursors, and waiters that leave
// no trace when they are notified, time out or are cancelled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CancelledError } from '../../src/errors.ts';
import { MessageBuffer } from '../../demo/chat/message-buffer.ts';

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('ids are consecutive and since(cursor) returns the newer messages', () => {
  const buffer = new MessageBuffer();
  assert.equal(buffer.newestId, 0);
  const [a, b, c] = ['a', 'b', 'c'].map((text) => buffer.add(text));
  assert.deepEqual([a!.id, b!.id, c!.id], [1, 2, 3]);
  assert.equal(a!.author, null);
  assert.deepEqual(buffer.since(null), [a, b, c]);
  assert.deepEqual(buffer.since(0), [a, b, c]);
  assert.deepEqual(buffer.since(2), [c]);
  assert.deepEqual(buffer.since(3), []);
  // Ahead of every id (the server restarted since the page loaded): everything held.
  assert.deepEqual(buffer.since(4), [a, b, c]);
  // since() hands out a copy; changing it does not change the buffer.
  buffer.since(null).pop();
  assert.equal(buffer.size, 3);
});

test('history keeps the last maxHistory messages, crossing the limit drops the oldest', () => {
  const buffer = new MessageBuffer({ maxHistory: 3 });
  for (let i = 1; i <= 3; i++) buffer.add(`m${i}`);
  assert.equal(buffer.size, 3);
  buffer.add('m4');
  assert.equal(buffer.size, 3);
  assert.deepEqual(
    buffer.since(null).map((m) => m.body),
    ['m2', 'm3', 'm4'],
  );
  // A cursor older than the history gets what is left.
  assert.deepEqual(
    buffer.since(0).map((m) => m.id),
    [2, 3, 4],
  );
  assert.deepEqual(
    buffer.since(3).map((m) => m.id),
    [4],
  );
});

test('the default history is 200 messages', () => {
  const buffer = new MessageBuffer();
  for (let i = 0; i < 250; i++) buffer.add(String(i));
  assert.equal(buffer.maxHistory, 200);
  assert.equal(buffer.size, 200);
  assert.equal(buffer.since(null)[0]!.body, '50');
});

test('refuses a history size that is not a positive integer', () => {
  for (const maxHistory of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => new MessageBuffer({ maxHistory }), RangeError);
  }
});

test('add() wakes every waiter with true', async () => {
  const buffer = new MessageBuffer();
  const waits = [buffer.waitForMessage(), buffer.waitForMessage(10_000)];
  assert.equal(buffer.waiting, 2);
  buffer.add('hi');
  assert.deepEqual(await Promise.all(waits), [true, true]);
  await tick();
  assert.equal(buffer.waiting, 0);
});

test('a wait times out with false and stops counting', async () => {
  const buffer = new MessageBuffer();
  const wait = buffer.waitForMessage(20);
  assert.equal(buffer.waiting, 1);
  assert.equal(await wait, false);
  await tick();
  assert.equal(buffer.waiting, 0);
});

test('a cancelled wait rejects with CancelledError and stops counting', async () => {
  const buffer = new MessageBuffer();
  const wait = buffer.waitForMessage(10_000);
  const other = buffer.waitForMessage();
  assert.equal(wait.cancel(), true);
  await assert.rejects(wait, CancelledError);
  await tick();
  assert.equal(buffer.waiting, 1);
  buffer.add('still delivered to the others');
  assert.equal(await other, true);
});
