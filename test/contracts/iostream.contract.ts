// One behaviour suite for IOStream, run over every transport it supports (plain TCP and TLS):
// the same reads, writes, limits and close rules must hold whatever the socket underneath is.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IOStream, IOStreamOptions } from '../../src/iostream/index.ts';
import {
  ReadInProgressError,
  StreamBufferFullError,
  StreamClosedError,
  UnsatisfiableReadError,
} from '../../src/errors.ts';
import { until } from '../helpers/wait.ts';

/** A connected client/server pair of streams. */
export interface StreamPair {
  client: IOStream;
  server: IOStream;
  /** Close both ends and release everything the pair holds. */
  close(): Promise<void>;
}

/** Options for both ends of a pair. */
export interface PairOptions {
  client?: IOStreamOptions;
  server?: IOStreamOptions;
}

export type PairFactory = (options?: PairOptions) => Promise<StreamPair>;

const withPair =
  (makePair: PairFactory, fn: (pair: StreamPair) => Promise<void>, options?: PairOptions) =>
  async () => {
    const pair = await makePair(options);
    try {
      await fn(pair);
    } finally {
      await pair.close();
    }
  };

/** Register the IOStream contract tests for one transport. */
export function iostreamContract(label: string, makePair: PairFactory): void {
  describe(`IOStream contract over ${label}`, () => {
    test(
      'readUntil issued before the data arrives resolves with the delimiter included',
      withPair(makePair, async ({ client, server }) => {
        const line = server.readUntil('\r\n');
        assert.equal(server.reading(), true);
        await client.write('hello\r\nrest');
        assert.equal((await line).toString(), 'hello\r\n');
        assert.equal(server.reading(), false);
        assert.equal((await server.readBytes(4)).toString(), 'rest');
      }),
    );

    test(
      'a read issued after the data arrived is served from the buffer',
      withPair(makePair, async ({ client, server }) => {
        await client.write('one\ntwo\nthree\n');
        await until(() => server.readBufferSize === 14);
        const first = server.readUntil('\n');
        assert.equal(first.done(), true, 'satisfied synchronously from the buffer');
        assert.equal((await first).toString(), 'one\n');
        assert.equal((await server.readUntil('\n')).toString(), 'two\n');
        assert.equal((await server.readUntil(Buffer.from('\n'))).toString(), 'three\n');
        assert.equal(server.readBufferSize, 0);
      }),
    );

    test(
      'a multi-byte delimiter split across several arrivals is found once',
      withPair(makePair, async ({ client, server }) => {
        const read = server.readUntil('\r\n\r\n');
        const pieces = ['GET / HTTP/1.1\r', '\n', 'Host: x\r\n\r', '\nBODY'];
        for (const piece of pieces) {
          const before = server.readBufferSize;
          await client.write(piece);
          if (!read.done()) await until(() => read.done() || server.readBufferSize > before);
        }
        assert.equal((await read).toString(), 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
        assert.equal((await server.readBytes(4)).toString(), 'BODY');
      }),
    );

    test(
      'readBytes waits for exactly n bytes; partial takes what there is',
      withPair(makePair, async ({ client, server }) => {
        const exact = server.readBytes(6);
        await client.write('abc');
        await until(() => server.readBufferSize === 3);
        assert.equal(exact.done(), false);
        await client.write('defgh');
        assert.equal((await exact).toString(), 'abcdef');
        const partial = await server.readBytes(100, { partial: true });
        assert.equal(partial.toString(), 'gh');
        assert.equal((await server.readBytes(0)).length, 0);
      }),
    );

    test(
      'readInto fills the buffer, or part of it with partial',
      withPair(makePair, async ({ client, server }) => {
        const target = Buffer.alloc(5);
        const full = server.readInto(target);
        await client.write('12');
        await until(() => server.readBufferSize === 2);
        await client.write('345678');
        assert.equal(await full, 5);
        assert.equal(target.toString(), '12345');
        const rest = Buffer.alloc(10);
        const n = await server.readInto(rest, { partial: true });
        assert.equal(n, 3);
        assert.equal(rest.subarray(0, n).toString(), '678');
      }),
    );

    test(
      'readUntilRegex returns through the end of the first match',
      withPair(makePair, async ({ client, server }) => {
        const read = server.readUntilRegex(/\r?\n\r?\n/g);
        await client.write('a: 1\nb: 2\n\nbody');
        assert.equal((await read).toString(), 'a: 1\nb: 2\n\n');
        assert.equal((await server.readBytes(4)).toString(), 'body');
      }),
    );

    test(
      'readUntilClose resolves with everything sent once the peer closes',
      withPair(makePair, async ({ client, server }) => {
        const all = server.readUntilClose();
        const chunks = [];
        for (let i = 0; i < 50; i++) chunks.push(Buffer.alloc(1000, i));
        for (const chunk of chunks) void client.write(chunk);
        await client.write('end');
        client.close();
        assert.deepEqual(await all, Buffer.concat([...chunks, Buffer.from('end')]));
        await until(() => server.closed());
        // On a closed stream it resolves at once with what is left (nothing here).
        assert.equal((await server.readUntilClose()).length, 0);
      }),
    );

    test(
      'a second pending read is refused with ReadInProgressError',
      withPair(makePair, async ({ client, server }) => {
        const first = server.readUntil('\n');
        await assert.rejects(server.readBytes(1), ReadInProgressError);
        await assert.rejects(server.readUntilClose(), ReadInProgressError);
        await client.write('ok\n');
        assert.equal((await first).toString(), 'ok\n');
      }),
    );

    test(
      'write Futures resolve in order and writing() follows them',
      withPair(makePair, async ({ client, server }) => {
        const order: number[] = [];
        const big = Buffer.alloc(4 * 1024 * 1024, 7);
        const writes = [client.write(big), client.write('x'), client.write(''), client.write(big)];
        assert.equal(client.writing(), true);
        writes.forEach((w, i) => void w.then(() => order.push(i)));
        const received = server.readBytes(2 * big.length + 1);
        await Promise.all(writes);
        assert.deepEqual(order, [0, 1, 2, 3]);
        assert.equal(client.writing(), false);
        const data = await received;
        assert.equal(data.length, 2 * big.length + 1);
        assert.equal(data[big.length], 'x'.charCodeAt(0));
      }),
    );

    test(
      'UTF-8 strings are written as UTF-8',
      withPair(makePair, async ({ client, server }) => {
        await client.write('héllo ✓\n');
        assert.equal((await server.readUntil('\n')).toString('utf8'), 'héllo ✓\n');
      }),
    );

    test(
      'the peer closing mid-read fails the read with StreamClosedError',
      withPair(makePair, async ({ client, server }) => {
        const read = server.readUntil('\n');
        await client.write('partial line without end');
        client.socket.end(); // a clean shutdown (FIN, and close_notify over TLS)
        const error = await read.then(
          () => assert.fail('read should fail'),
          (e: unknown) => e,
        );
        assert.ok(error instanceof StreamClosedError);
        assert.equal(error.realError, undefined, 'a clean close has no underlying error');
        assert.equal(server.closed(), true);
        // What was buffered can still be read.
        assert.equal((await server.readBytes(7)).toString(), 'partial');
        await assert.rejects(server.readUntil('\n'), StreamClosedError);
      }),
    );

    test(
      'reads and writes on a closed stream fail with StreamClosedError',
      withPair(makePair, async ({ server }) => {
        server.close();
        assert.equal(server.closed(), true);
        await assert.rejects(server.readBytes(1), StreamClosedError);
        await assert.rejects(server.readUntil('\n'), StreamClosedError);
        await assert.rejects(server.write('x'), StreamClosedError);
        server.close(); // twice is harmless
      }),
    );

    test(
      'close() fails pending writes and the pending read',
      withPair(makePair, async ({ client }) => {
        const read = client.readBytes(10);
        const write = client.write(Buffer.alloc(32 * 1024 * 1024));
        client.close(new Error('shutting down'));
        const error = await read.then(
          () => assert.fail('read should fail'),
          (e: unknown) => e,
        );
        assert.ok(error instanceof StreamClosedError);
        assert.equal(error.realError?.message, 'shutting down');
        await assert.rejects(write, StreamClosedError);
        assert.equal(client.error?.message, 'shutting down');
      }),
    );

    test(
      'the close callback runs once the stream closes, also when set afterwards',
      withPair(makePair, async ({ client, server }) => {
        let calls = 0;
        server.setCloseCallback(() => calls++);
        client.close();
        await until(() => calls === 1);
        let late = 0;
        server.setCloseCallback(() => late++);
        await until(() => late === 1);
        assert.equal(calls, 1);
      }),
    );

    test(
      'readUntil past maxBytes fails with UnsatisfiableReadError and closes the stream',
      withPair(makePair, async ({ client, server }) => {
        const read = server.readUntil('\n', { maxBytes: 10 });
        await client.write('0123456789abc');
        await assert.rejects(read, UnsatisfiableReadError);
        assert.equal(server.closed(), true);
        assert.ok(server.error instanceof UnsatisfiableReadError);
      }),
    );

    test(
      'maxBytes counts the delimiter: a line found past the limit is refused, at the limit accepted',
      withPair(makePair, async ({ client, server }) => {
        await client.write('12345\n12345678\n');
        await until(() => server.readBufferSize === 15);
        assert.equal((await server.readUntil('\n', { maxBytes: 6 })).toString(), '12345\n');
        await assert.rejects(server.readUntil('\n', { maxBytes: 8 }), UnsatisfiableReadError);
        assert.equal(server.closed(), true);
      }),
    );

    test(
      'readUntilRegex past maxBytes fails with UnsatisfiableReadError',
      withPair(makePair, async ({ client, server }) => {
        const read = server.readUntilRegex(/END/, { maxBytes: 5 });
        await client.write('xxxxxxEND');
        await assert.rejects(read, UnsatisfiableReadError);
        assert.equal(server.closed(), true);
      }),
    );

    test(
      'a read buffer past maxBufferSize fails the read with StreamBufferFullError and closes',
      withPair(
        makePair,
        async ({ client, server }) => {
          const read = server.readUntil('\n');
          void client.write(Buffer.alloc(64 * 1024, 'a')).catch(() => {});
          const error = await read.then(
            () => assert.fail('read should fail'),
            (e: unknown) => e,
          );
          assert.ok(error instanceof StreamBufferFullError);
          assert.equal(server.closed(), true);
          const later = await server.readBytes(1 << 20).then(
            () => assert.fail('read should fail'),
            (e: unknown) => e,
          );
          assert.ok(later instanceof StreamClosedError);
          assert.ok(later.realError instanceof StreamBufferFullError);
        },
        { server: { maxBufferSize: 1000 } },
      ),
    );

    test(
      'readBytes up to maxBufferSize succeeds',
      withPair(
        makePair,
        async ({ client, server }) => {
          const read = server.readBytes(1000);
          await client.write(Buffer.alloc(1000, 'z'));
          assert.equal((await read).length, 1000);
          assert.equal(server.closed(), false);
        },
        { server: { maxBufferSize: 1000 } },
      ),
    );

    test(
      'with no read pending the stream stops reading, so memory stays bounded',
      withPair(makePair, async ({ client, server }) => {
        const total = 32 * 1024 * 1024; // more than loopback socket buffers hold
        const sent = client.write(Buffer.alloc(total, 1));
        await until(() => server.readBufferSize >= 64 * 1024);
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.ok(
          server.readBufferSize <= 256 * 1024,
          `buffered ${server.readBufferSize} bytes without a pending read`,
        );
        assert.equal(sent.done(), false, 'the writer is held back by the paused reader');
        const all = await server.readBytes(total);
        assert.equal(all.length, total);
        assert.ok(all.every((b) => b === 1));
        await sent;
      }),
    );

    test(
      'a write past maxWriteBufferSize fails with StreamBufferFullError; the stream stays open',
      withPair(
        makePair,
        async ({ client, server }) => {
          await assert.rejects(client.write(Buffer.alloc(2000)), StreamBufferFullError);
          assert.equal(client.closed(), false);
          await client.write('fine\n');
          assert.equal((await server.readUntil('\n')).toString(), 'fine\n');
        },
        { client: { maxWriteBufferSize: 1024 } },
      ),
    );

    test(
      'readBytes rejects a bad count and readUntil an empty delimiter',
      withPair(makePair, async ({ server }) => {
        await assert.rejects(server.readBytes(-1), RangeError);
        await assert.rejects(server.readBytes(1.5), RangeError);
        await assert.rejects(server.readUntil(''), RangeError);
        assert.equal(server.reading(), false);
      }),
    );

    test(
      'setNodelay toggles the socket option without disturbing traffic',
      withPair(makePair, async ({ client, server }) => {
        client.setNodelay(true);
        client.setNodelay(false);
        client.setNodelay(true);
        await client.write('ping\n');
        assert.equal((await server.readUntil('\n')).toString(), 'ping\n');
      }),
    );
  });
}
