// WebSocketHandler hardening (issue 12 items 6 and 7): the order of messages and the close
// when they arrive in one packet, writes after the close, the HTTP methods that make no
// sense once upgraded, and a graceful 1001 when the server drains.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { Future } from '../../src/concurrent.ts';
import * as root from '../../src/index.ts';
import { WebSocketClosedError, WebSocketError, TyphoonError } from '../../src/errors.ts';
import { sleep } from '../../src/gen.ts';
import { genTest } from '../../src/testing.ts';
import {
  WebSocketHandler,
  websocketConnect,
  type WebSocketMessage,
} from '../../src/websocket/index.ts';
import { serveApp, wsUrl } from '../helpers/server.ts';
import { handshake } from '../helpers/websocket.ts';

/** One masked client frame (RFC 6455 §5.2); payloads here stay under 126 bytes. */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  assert.ok(payload.length < 126);
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), mask, masked]);
}

function closePayload(code: number, reason = ''): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2);
  return payload;
}

/** Open a raw WebSocket to `path`: resolves once the 101 arrived, with the bytes after it. */
async function rawConnect(port: number, path: string): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(handshake(path));
  let received = Buffer.alloc(0);
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      const head = received.subarray(0, end).toString('latin1');
      if (!head.startsWith('HTTP/1.1 101')) reject(new Error(`no upgrade: ${head}`));
      else {
        const rest = received.subarray(end + 4);
        if (rest.length > 0) socket.unshift(rest);
        resolve();
      }
    };
    socket.on('data', onData);
  });
  return socket;
}

describe('WebSocket errors', () => {
  test('WebSocketError and WebSocketClosedError come from the root; closed extends the base', () => {
    assert.equal(root.WebSocketError, WebSocketError);
    assert.equal(root.WebSocketClosedError, WebSocketClosedError);
    const closed = new WebSocketClosedError();
    assert.ok(closed instanceof WebSocketError);
    assert.ok(closed instanceof TyphoonError);
    assert.equal(new WebSocketError('x').name, 'WebSocketError');
    assert.notEqual(WebSocketError.errorCode, WebSocketClosedError.errorCode);
  });
});

describe('messages that arrive with the close frame', () => {
  for (const kind of ['sync', 'async'] as const) {
    test(
      `two text frames and a close in one write: both messages reach onMessage (${kind}) before onClose`,
      genTest(async () => {
        const events: string[] = [];
        const writes: unknown[] = [];
        const closed = new Future<void>();
        class Recorder extends WebSocketHandler {
          override async onMessage(message: WebSocketMessage): Promise<void> {
            events.push(`message ${String(message)}`);
            if (kind === 'async') await sleep(20);
            // Answering after the peer's close fails; handled, so nothing is logged.
            this.writeMessage(`echo ${String(message)}`).then(
              () => writes.push('sent'),
              (error: unknown) => writes.push(error),
            );
          }
          override onClose(): void {
            events.push(`close ${this.closeCode}`);
            closed.setResult();
          }
        }
        const srv = await serveApp([['/', Recorder]]);
        const socket = await rawConnect(srv.port, '/');
        try {
          socket.write(
            Buffer.concat([
              clientFrame(0x1, Buffer.from('one')),
              clientFrame(0x1, Buffer.from('two')),
              clientFrame(0x8, closePayload(1000)),
            ]),
          );
          await closed;
          assert.deepEqual(events, ['message one', 'message two', 'close 1000']);
          await sleep(50);
          assert.equal(writes.length, 2);
          for (const outcome of writes) {
            if (outcome !== 'sent')
              assert.ok(outcome instanceof WebSocketClosedError, String(outcome));
          }
        } finally {
          socket.destroy();
          await srv.close();
        }
      }),
    );
  }

  test(
    'writeMessage after the close returns a rejected Future (no throw, no log when handled)',
    genTest(async () => {
      const outcome = new Future<unknown>();
      class LateWriter extends WebSocketHandler {
        override onMessage(): void {}
        override onClose(): void {
          let future: Future<void>;
          try {
            future = this.writeMessage('too late');
          } catch (error) {
            outcome.setResult(`threw ${String(error)}`);
            return;
          }
          future.then(
            () => outcome.setResult('sent'),
            (error: unknown) => outcome.setResult(error),
          );
        }
      }
      const srv = await serveApp([['/', LateWriter]]);
      try {
        const conn = await websocketConnect(wsUrl(srv, '/'));
        conn.close(1000);
        const result = await outcome;
        assert.ok(result instanceof WebSocketClosedError, String(result));
      } finally {
        await srv.close();
      }
    }),
  );

  test(
    'after its own close(), writeMessage rejects with WebSocketClosedError',
    genTest(async () => {
      const outcome = new Future<unknown>();
      class Closer extends WebSocketHandler {
        override onMessage(): void {
          this.close(4000, 'bye');
          this.writeMessage('after close').then(
            () => outcome.setResult('sent'),
            (error: unknown) => outcome.setResult(error),
          );
        }
      }
      const srv = await serveApp([['/', Closer]]);
      try {
        const conn = await websocketConnect(wsUrl(srv, '/'));
        await conn.writeMessage('go');
        assert.equal(await conn.readMessage(), null);
        assert.equal(conn.closeCode, 4000);
        assert.ok((await outcome) instanceof WebSocketClosedError);
      } finally {
        await srv.close();
      }
    }),
  );
});

describe('HTTP response methods after the handshake', () => {
  test(
    'setHeader, setCookie, setStatus, redirect, write, flush and finish throw WebSocketError',
    genTest(async () => {
      const results = new Future<Record<string, string>>();
      class Misuser extends WebSocketHandler {
        override open(): void {
          const calls: Record<string, () => unknown> = {
            setHeader: () => this.setHeader('X-Late', '1'),
            setCookie: () => this.setCookie('late', '1'),
            setStatus: () => this.setStatus(200),
            redirect: () => this.redirect('/elsewhere'),
            write: () => this.write('late body'),
            flush: () => this.flush(),
            finish: () => this.finish(),
          };
          const seen: Record<string, string> = {};
          for (const [name, call] of Object.entries(calls)) {
            try {
              call();
              seen[name] = 'returned';
            } catch (error) {
              seen[name] = error instanceof WebSocketError ? 'WebSocketError' : String(error);
            }
          }
          results.setResult(seen);
        }
        override onMessage(): void {}
      }
      const srv = await serveApp([['/', Misuser]]);
      try {
        const conn = await websocketConnect(wsUrl(srv, '/'));
        const seen = await results;
        for (const name of [
          'setHeader',
          'setCookie',
          'setStatus',
          'redirect',
          'write',
          'flush',
          'finish',
        ]) {
          assert.equal(seen[name], 'WebSocketError', `${name}: ${seen[name]}`);
        }
        // The connection itself is unharmed.
        conn.close();
        assert.equal(await conn.readMessage(), null);
      } finally {
        await srv.close();
      }
    }),
  );

  test(
    'before the handshake (in prepare) headers and cookies still go out with the 101',
    genTest(async () => {
      class Prepared extends WebSocketHandler {
        override prepare(): void {
          this.setHeader('X-Before', 'yes');
          this.setCookie('session', 'abc');
        }
        override onMessage(): void {}
      }
      const srv = await serveApp([['/', Prepared]]);
      try {
        const conn = await websocketConnect(wsUrl(srv, '/'));
        assert.equal(conn.headers.get('X-Before'), 'yes');
        assert.match(conn.headers.get('Set-Cookie') ?? '', /^session=abc/);
        conn.close();
        assert.equal(await conn.readMessage(), null);
      } finally {
        await srv.close();
      }
    }),
  );
});

describe('server drain', () => {
  test(
    'stop({drainTimeout}) sends open WebSockets a 1001 Going Away close frame',
    genTest(async () => {
      const serverSide = new Future<number | null>();
      class Idle extends WebSocketHandler {
        override onMessage(): void {}
        override onClose(): void {
          serverSide.setResult(this.closeCode);
        }
      }
      const srv = await serveApp([['/', Idle]]);
      const conn = await websocketConnect(wsUrl(srv, '/'));
      const t0 = performance.now();
      const stopped = srv.server.stop({ drainTimeout: 3_000 });
      // The client sees a close frame, not a cut connection, long before the deadline.
      assert.equal(await conn.readMessage(), null);
      assert.equal(conn.closeCode, 1001);
      assert.ok(performance.now() - t0 < 2_000, 'closed by the frame, not the deadline');
      // ws answers the close frame for us: the closing handshake completes both ways.
      assert.equal(await serverSide, 1001);
      await stopped;
    }),
  );

  test(
    'stop() without a drain still sends 1001 before the connection goes',
    genTest(async () => {
      class Idle extends WebSocketHandler {
        override onMessage(): void {}
      }
      const srv = await serveApp([['/', Idle]]);
      const conn = await websocketConnect(wsUrl(srv, '/'));
      await srv.close();
      assert.equal(await conn.readMessage(), null);
      assert.equal(conn.closeCode, 1001);
    }),
  );
});
