// When the Future of `writeMessage` resolves: once the message is handed to the OS. A message
// the OS takes at once gives an already-resolved Future; one it takes only part of resolves
// when the client has read enough for the rest to go, and rejects if the client goes first.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { Future } from '../../src/concurrent.ts';
import { WebSocketClosedError } from '../../src/errors.ts';
import { sleep, withTimeout } from '../../src/gen.ts';
import { genTest } from '../../src/testing.ts';
import {
  WebSocketHandler,
  websocketConnect,
  type WebSocketMessage,
} from '../../src/websocket/index.ts';
import { serveApp, wsUrl } from '../helpers/server.ts';
import { RawClient } from '../helpers/websocket.ts';

const MiB = 1024 * 1024;
// More than loopback's socket buffers hold (about 4.75 MiB here, see write-bound.test.ts),
// less than the 16 MiB write bound.
const BIG = 8 * MiB;

/** Echoes, and records whether each write's Future was already done when it came back. */
function recordingEcho(seen: Array<{ done: boolean; future: Future<void> }>) {
  return class extends WebSocketHandler {
    override onMessage(message: WebSocketMessage): void {
      const future = this.writeMessage(message);
      seen.push({ done: future.done(), future });
    }
  };
}

/**
 * A handler that writes `data` as one binary message as soon as it opens, to a raw client that
 * reads nothing until `check` resumes it; `check` gets that write's Future.
 */
async function withBigWrite(
  options: { data: Buffer; deflate?: boolean },
  check: (future: Future<void>, client: RawClient) => Promise<void>,
): Promise<void> {
  // (Not a Future of the Future: completing one with a thenable adopts its outcome.)
  const opened = new Future<void>();
  let future: Future<void> | undefined;
  class Big extends WebSocketHandler {
    override getCompressionOptions() {
      return options.deflate === true ? { threshold: 0 } : null;
    }
    override open(): void {
      future = this.writeMessage(options.data, { binary: true });
      opened.setResult();
    }
    override onMessage(): void {}
  }
  const srv = await serveApp([['/', Big]]);
  const extensions =
    options.deflate === true ? 'Sec-WebSocket-Extensions: permessage-deflate\r\n' : '';
  const client = await RawClient.connect(srv.port, '/', extensions);
  client.socket.pause();
  try {
    await opened;
    assert.ok(future !== undefined);
    await check(future, client);
  } finally {
    client.socket.destroy();
    await srv.close();
  }
}

describe("writeMessage's Future", () => {
  test(
    'a message the OS takes at once: already resolved when writeMessage returns',
    genTest(async () => {
      const seen: Array<{ done: boolean; future: Future<void> }> = [];
      const srv = await serveApp([['/', recordingEcho(seen)]]);
      try {
        const conn = await websocketConnect(wsUrl(srv, '/'));
        for (const text of ['one', 'two', 'three']) {
          await conn.writeMessage(text);
          assert.equal(await conn.readMessage(), text);
        }
        conn.close();
        assert.equal(seen.length, 3);
        for (const { done, future } of seen) {
          assert.equal(done, true, 'resolved before writeMessage returned');
          assert.equal(future.exception(), undefined);
          assert.equal(await future, undefined);
        }
      } finally {
        await srv.close();
      }
    }),
  );

  test(
    'a socket destroyed before its close reached ws: the write is not counted as sent',
    genTest(async () => {
      const outcome = new Future<unknown>();
      class Cut extends WebSocketHandler {
        #socket: Socket | undefined;
        override prepare(): void {
          // Catch the socket as the handshake hands it to ws.
          const connection = this.request.connection!;
          const detach = connection.detach.bind(connection);
          connection.detach = () => {
            const raw = detach();
            this.#socket = raw.socket;
            return raw;
          };
        }
        override open(): void {
          this.#socket!.destroy();
          this.writeMessage('lost?').then(
            () => outcome.setResult('sent'),
            (error: unknown) => outcome.setResult(error),
          );
        }
        override onMessage(): void {}
      }
      const srv = await serveApp([['/', Cut]]);
      try {
        const client = await RawClient.connect(srv.port, '/');
        client.socket.destroy();
        assert.ok((await outcome) instanceof WebSocketClosedError, String(await outcome));
      } finally {
        await srv.close();
      }
    }),
  );

  test(
    'with compression the frame waits inside ws first: still pending until the client reads',
    genTest(
      () =>
        // Random bytes do not deflate: the frame stays larger than the socket buffers.
        withBigWrite({ data: randomBytes(BIG), deflate: true }, async (future, client) => {
          await sleep(500);
          assert.equal(future.done(), false, 'the client read nothing: the frame is not all out');
          client.socket.resume();
          const { opcode } = await client.frame();
          assert.equal(opcode, 0x2);
          assert.equal(await withTimeout(future, 5_000), undefined);
        }),
      { timeout: 30_000 },
    ),
  );

  test(
    'a message the OS takes only part of: pending while the client does not read, resolved once it does',
    genTest(
      () =>
        withBigWrite({ data: Buffer.alloc(BIG, 7) }, async (future, client) => {
          await sleep(300);
          assert.equal(future.done(), false, 'the client read nothing: the rest is still ours');
          client.socket.resume();
          const { opcode, payload } = await client.frame();
          assert.equal(opcode, 0x2);
          assert.equal(payload.length, BIG);
          assert.equal(payload[BIG - 1], 7);
          assert.equal(await withTimeout(future, 5_000), undefined);
        }),
      { timeout: 30_000 },
    ),
  );

  test(
    'a client that goes away before reading the rest: the Future rejects with WebSocketClosedError',
    genTest(
      () =>
        withBigWrite({ data: Buffer.alloc(BIG, 7) }, async (future, client) => {
          await sleep(100);
          assert.equal(future.done(), false);
          client.socket.resetAndDestroy();
          await assert.rejects(withTimeout(future, 5_000), WebSocketClosedError);
        }),
      { timeout: 30_000 },
    ),
  );
});
