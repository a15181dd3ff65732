// WebSocketHandler and websocketConnect over real sockets on 127.0.0.1.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { WebSocket as RawWebSocket } from 'ws';
import { Future } from '../../src/concurrent.ts';
import { HTTPClientError, WebSocketClosedError } from '../../src/errors.ts';
import { sleep } from '../../src/gen.ts';
import { HTTPHeaders } from '../../src/httputil/index.ts';
import { accessLog, appLog, genLog } from '../../src/log.ts';
import { genTest, expectLog, startTestServer, type TestServer } from '../../src/testing.ts';
import { Application, type ApplicationSettings, type Rule } from '../../src/web/application.ts';
import { FallbackHandler, type NodeRequestListener } from '../../src/web/handlers.ts';
import { RequestHandler } from '../../src/web/request-handler.ts';
import {
  DEFAULT_MAX_MESSAGE_SIZE,
  WebSocketHandler,
  websocketConnect,
  type CompressionOptions,
  type WebSocketMessage,
} from '../../src/websocket/index.ts';
import { sendRaw } from '../helpers/raw-http.ts';

interface Served {
  srv: TestServer;
  wsUrl(path: string): string;
}

async function serve(rules: Rule[], settings: ApplicationSettings = {}): Promise<Served> {
  const srv = await startTestServer(new Application(rules, settings));
  return { srv, wsUrl: (path) => `ws://127.0.0.1:${srv.port}${path}` };
}

class EchoHandler extends WebSocketHandler {
  override onMessage(message: WebSocketMessage): void {
    void this.writeMessage(message, { binary: typeof message !== 'string' });
  }
}

const HANDSHAKE_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function handshake(path: string, extra = ''): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${HANDSHAKE_KEY}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`
  );
}

describe('WebSocketHandler messages', () => {
  test(
    'echoes text as strings and binary as Buffers',
    genTest(async () => {
      const { srv, wsUrl } = await serve([['/echo', EchoHandler]]);
      try {
        const conn = await websocketConnect(wsUrl('/echo'));
        await conn.writeMessage('héllo');
        assert.equal(await conn.readMessage(), 'héllo');
        await conn.writeMessage(Buffer.from([0, 1, 2, 255]), { binary: true });
        const binary = await conn.readMessage();
        assert.ok(Buffer.isBuffer(binary));
        assert.deepEqual([...binary], [0, 1, 2, 255]);
        conn.close();
        assert.equal(await conn.readMessage(), null);
      } finally {
        await srv.close();
      }
    }),
  );

  test(
    'writeMessage sends a plain object as JSON and refuses arrays',
    genTest(async () => {
      const errors: unknown[] = [];
      class JsonHandler extends WebSocketHandler {
        override open(): void {
          void this.writeMessage({ hello: 'world', n: [1, 2] });
          try {
            void this.writeMessage([1, 2] as never);
          } catch (error) {
            errors.push(error);
          }
        }
      }
      const { srv, wsUrl } = await serve([['/json', JsonHandler]]);
      try {
        const conn = await websocketConnect(wsUrl('/json'));
        const text = await conn.readMessage();
        assert.equal(typeof text, 'string');
        assert.deepEqual(JSON.parse(text as string), { hello: 'world', n: [1, 2] });
        assert.equal(errors.length, 1);
        assert.ok(errors[0] instanceof TypeError);
        conn.close();
      } finally {
        await srv.close();
      }
    }),
  );

  test(
    'open gets the path groups; open, messages and onClose come in order',
    genTest(async () => {
      const events: string[] = [];
      const closed = new Future<void>();
      class OrderHandler extends WebSocketHandler {
        override open(room: string): void {
          events.push(`open ${room}`);
        }
        override onMessage(message: WebSocketMessage): void {
          events.push(`message ${String(message)}`);
        }
        override onClose(): void {
          events.push('close');
          closed.setResult(undefined);
        }
      }
      const { srv, wsUrl } = await serve([['/room/(\\w+)', OrderHandler]]);
      try {
        const conn = await websocketConnect(wsUrl('/room/lobby'));
        await conn.writeMessage('a');
        await conn.writeMessage('b');
        conn.close();
        await closed;
        assert.deepEqual(events, ['open lobby', 'message a', 'message b', 'close']);
      } finally {
        await srv.close();
      }
    }),
  );

  test(
    'messages sent before an async open resolves wait for it, in order',
    genTest(async () => {
      const seen: string[] = [];
      let opened = false;
      class SlowOpen extends WebSocketHandler {
        override async open(): Promise<void> {
          await sleep(50);
          opened = true;
        }
        override onMessage(message: WebSocketMessage): void {
          seen.push(`${String(message)}:${opened}`);
          if (seen.length === 3) void this.writeMessage('done');
        }
      }
      const { srv, wsUrl } = await serve([['/', SlowOpen]]);
      try {
        const conn = await websocketConnect(wsUrl('/'));
        for (const m of ['1', '2', '3']) void conn.writeMessage(m);
        assert.equal(await conn.readMessage(), 'done');
        assert.deepEqual(seen, ['1:true', '2:true', '3:true']);
        conn.close();
      } finally {
        await srv.close();
      }
    }),
  );

  test(
    'an async onMessage handles one message at a time',
    genTest(async () => {
      let active = 0;
      let maxActive = 0;
      const order: string[] = [];
      class Serial extends WebSocketHandler {
        override async onMessage(message: WebSocketMessage): Promise<void> {
          active++;
          maxActive = Math.max(maxActive, active);
          await sleep(5);
          order.push(String(message));
          active--;
          if (order.length === 10) await this.writeMessage('all');
        }
      }
      const { srv, wsUrl } = await serve([['/', Serial]]);
      try {
        const conn = await websocketConnect(wsUrl('/'));
        for (let i = 0; i < 10; i++) void conn.writeMessage(String(i));
        assert.equal(await conn.readMessage(), 'all');
        assert.equal(maxActive, 1);
        assert.deepEqual(order, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
        conn.close();
      } finally {
        await srv.close();
      }
    }),
  );

  test(
    'a generator onMessage runs as a coroutine',
    genTest(async () => {
      class Gen extends WebSocketHandler {
        override *onMessage(message: WebSocketMessage): Generator<unknown, void, unknown> {
          yield sleep(1);
          yield this.writeMessage(`gen ${String(message)}`);
        }
      }
      const { srv, wsUrl } = await serve([['/', Gen]]);
      try {
        const conn = await websocketConnect(wsUrl('/'));
        await conn.writeMessage('x');
        assert.equal(await conn.readMessage(), 'gen x');
        conn.close();
      } finally {
        await srv.close();
      }
    }),
  );

  test(
    'the client keeps a bounded queue and loses nothing when it reads late',
    genTest(async () => {
      class Burst extends WebSocketHandler {
        override async open(): Promise<void> {
          for (let i = 0; i < 200; i++) await this.writeMessage(String(i));
          this.close(1000);
        }
      }
      const { srv, wsUrl } = await serve([['/', Burst]]);
      try {
        const conn = await websocketConnect(wsUrl('/'), { maxQueuedMessages: 4 });
        await sleep(50);
        const got: string[] = [];
        for await (const message of conn) got.push(String(message));
        assert.equal(got.length, 200);
        assert.deepEqual(got.slice(0, 3).concat(got.slice(-1)), ['0', '1', '2', '199']);
        assert.equal(conn.closeCode, 1000);
      } finally {
        await srv.close();
      }
    }),
  );
});

describe('closing', () => {
  test(
    'the client close code and reason reach the server',
    genTest(async () => {
      const closed = new Future<[number | null, string | null]>();
      class Recorder extends WebSocketHandler {
        override onClose(): void {
          closed.setResult([this.closeCode, this.closeReason]);
        }
      }
      const { srv, wsUrl } = await serve([['/', Recorder]]);
      try {
        const conn = await websocketConnect(wsUrl('/'));
        conn.close(4001, 'client bye');
        assert.deepEqual(await closed, [4001, 'client bye']);
        assert.equal(await conn.readMessage(), null);
        assert.equal(await conn.readMessage(), null);
        assert.throws(() => conn.writeMessage('late'), WebSocketClosedError);
      } finally {
        await srv.close();
      }
    }),
  );

  test(
    'the server close code and reason reach the client; a reason alone means 1000',
    genTest(async () => {
      class Closer extends WebSocketHandler {
        override onMessage(message: WebSocketMessage): void {
          if (message === 'code') this.close(4002, 'server bye');
          else this.close(undefined, 'only a reason');
          assert.throws(() => this.writeMessage('after close'), WebSocketClosedError);
          assert.throws(() => this.ping(), WebSocketClosedError);
        }
      }
      const { srv, wsUrl } = await serve([['/', Closer]]);
      try {
        const a = await websocketConnect(wsUrl('/'));
        await a.writeMessage('code');
        assert.equal(await a.readMessage(), null);
        assert.equal(a.closeCode, 4002);
        assert.equal(a.closeReason, 'server bye');
        const b = await websocketConnect(wsUrl('/'));
        await b.writeMessage('reason');
        assert.equal(await b.readMessage(), null);
        assert.equal(b.closeCode, 1000);
        assert.equal(b.closeReason, 'only a reason');
        const c = await websocketConnect(wsUrl('/'));
        c.close();
        assert.equal(await c.readMessage(), null);
        assert.equal(c.closeCode, null, 'no code sent means closeCode stays null');
      } finally {
        await srv.close();
      }
    }),
  );

  test(
    'stopping the server closes open WebSockets and onClose runs',
    genTest(async () => {
      const closed = new Future<void>();
      class Held extends WebSocketHandler {
        override onClose(): void {
          closed.setResult(undefined);
        }
      }
      const { srv, wsUrl } = await serve([['/', Held]]);
      const conn = await websocketConnect(wsUrl('/'));
      await srv.close();
      await closed;
      assert.equal(await conn.readMessage(), null);
    }),
  );
});

describe('ping and pong', () => {
  test(
    'server ping reaches onPong with its data; client ping reaches onPing',
    genTest(async () => {
      const pong = new Future<string>();
      const ping = new Future<string>();
      class Pinger extends WebSocketHandler {
        override open(): void {
          this.ping('abc');
        }
        override onPong(data: Buffer): void {
          pong.setResult(data.toString());
        }
        override onPing(data: Buffer): void {
          ping.setResult(data.toString());
        }
      }
      const { srv, wsUrl } = await serve([['/', Pinger]]);
      try {
        const conn = await websocketConnect(wsUrl('/'));
        assert.equal(await pong, 'abc');
        conn.ping('xyz');
        assert.equal(await ping, 'xyz');
        assert.throws(() => conn.ping(Buffer.alloc(126)), RangeError);
        conn.close();
      } finally {
        await srv.close();
      }
    }),
  );

  test(
    'websocketPingInterval pings the client; one that never pongs is dropped after the timeout',
    genTest(async () => {
      let pongs = 0;
      const enoughPongs = new Future<void>();
      const closed = new Future<number | null>();
      class KeptAlive extends WebSocketHandler {
        override onPong(): void {
          if (++pongs === 2) enoughPongs.setResult(undefined);
        }
        override onClose(): void {
          if (!closed.done()) closed.setResult(this.closeCode);
        }
      }
      const { srv, wsUrl } = await serve([['/', KeptAlive]], {
        websocketPingInterval: 30,
        websocketPingTimeout: 200,
      });
      try {
        const polite = await websocketConnect(wsUrl('/'));
        await enoughPongs;
        polite.close();
        await closed;
        // A peer that stopped answering: ws's own client with autoPong off.
        const mute = new RawWebSocket(wsUrl('/'), { autoPong: false });
        mute.on('error', () => {});
        const muteClosed = new Promise<number>((resolve) => mute.on('close', resolve));
        await new Promise((resolve) => mute.once('open', resolve));
        const started = performance.now();
        assert.equal(await muteClosed, 1006);
        assert.ok(performance.now() - started >= 150, 'not dropped before the timeout');
      } finally {
        await srv.close();
      }
    }),
  );
});

describe('handshake', () => {
  test(
    'a plain GET is answered 400 as Tornado does',
    genTest(async () => {
      const { srv } = await serve([['/ws', EchoHandler]]);
      try {
        await expectLog(accessLog, /^400 GET \/ws/, async () => {
          const res = await srv.fetch('/ws');
          assert.equal(res.status, 400);
          assert.equal(await res.text(), 'Can "Upgrade" only to "WebSocket".');
        });
      } finally {
        await srv.close();
      }
    }),
  );

  test(
    'a cross-origin handshake gets 403; the same origin is accepted',
    genTest(async () => {
      const { srv, wsUrl } = await serve([['/ws', EchoHandler]]);
      try {
        await expectLog(accessLog, /^403 GET \/ws/, async () => {
          const error = await websocketConnect(wsUrl('/ws'), {
            headers: { Origin: 'http://evil.example' },
          }).then(
            () => assert.fail('connected'),
            (e: unknown) => e,
          );
          assert.ok(error instanceof HTTPClientError);
          assert.equal(error.code, 403);
        });
        const conn = await websocketConnect(wsUrl('/ws'), {
          headers: { Origin: `http://127.0.0.1:${srv.port}` },
        });
        await conn.writeMessage('same origin');
        assert.equal(await conn.readMessage(), 'same origin');
        conn.close();
      } finally {
        await srv.close();
      }
    }),
  );

  test(
    'a bad key gets 400, an unsupported version 426, a body 400',
    genTest(async () => {
      const { srv } = await serve([['/ws', EchoHandler]]);
      try {
        await expectLog(accessLog, /^(400|426) GET \/ws/, async () => {
          const badKey = await sendRaw(srv.port, handshake('/ws').replace(HANDSHAKE_KEY, 'short'));
          assert.match(badKey.text, /^HTTP\/1\.1 400 /);
          assert.match(badKey.text, /Missing\/Invalid WebSocket headers$/);
          assert.ok(badKey.closedByServer);
          const oldVersion = await sendRaw(
            srv.port,
            handshake('/ws').replace('Version: 13', 'Version: 7'),
          );
          assert.match(oldVersion.text, /^HTTP\/1\.1 426 /);
          assert.match(oldVersion.text, /Sec-WebSocket-Version: 13, 8\r\n/i);
          assert.ok(oldVersion.closedByServer);
        });
        const withBody = await sendRaw(srv.port, handshake('/ws', 'Content-Length: 3\r\n') + 'abc');
        assert.match(withBody.text, /^HTTP\/1\.1 400 /);
        assert.ok(withBody.closedByServer);
      } finally {
        await srv.close();
      }
    }),
  );

  test(
    'selectSubprotocol picks among the offered ones',
    genTest(async () => {
      const offered: string[][] = [];
      class Proto extends WebSocketHandler {
        override selectSubprotocol(subprotocols: string[]): string | null {
          offered.push(subprotocols);
          return subprotocols.includes('chat.v2') ? 'chat.v2' : null;
        }
        override open(): void {
          void this.writeMessage(`selected ${String(this.selectedSubprotocol)}`);
        }
      }
      const { srv, wsUrl } = await serve([['/', Proto]]);
      try {
        const a = await websocketConnect(wsUrl('/'), { subprotocols: ['chat.v1', 'chat.v2'] });
        assert.equal(a.selectedSubprotocol, 'chat.v2');
        assert.equal(await a.readMessage(), 'selected chat.v2');
        a.close();
        const b = await websocketConnect(wsUrl('/'));
        assert.equal(b.selectedSubprotocol, null);
        assert.equal(await b.readMessage(), 'selected null');
        b.close();
        assert.deepEqual(offered, [['chat.v1', 'chat.v2'], []]);
      } finally {
        await srv.close();
      }
    }),
  );

  test(
    'headers set before the handshake go out with the 101',
    genTest(async () => {
      class Cookie extends WebSocketHandler {
        override prepare(): void {
          this.setCookie('session', 'abc');
          this.setHeader('X-Room', 'lobby');
        }
      }
      const { srv, wsUrl } = await serve([['/', Cookie]]);
      try {
        const conn = await websocketConnect(wsUrl('/'));
        assert.match(conn.headers.get('Set-Cookie') ?? '', /^session=abc/);
        assert.equal(conn.headers.get('X-Room'), 'lobby');
        assert.equal(conn.headers.get('Content-Type'), undefined);
        conn.close();
      } finally {
        await srv.close();
      }
    }),
  );

  test(
    'a failed connection rejects with HTTPClientError: the status, or 599',
    genTest(async () => {
      const { srv, wsUrl } = await serve([['/ws', EchoHandler]]);
      try {
        await expectLog(accessLog, /^404 GET \/nowhere/, async () => {
          const error = await websocketConnect(wsUrl('/nowhere')).then(
            () => assert.fail('connected'),
            (e: unknown) => e,
          );
          assert.ok(error instanceof HTTPClientError);
          assert.equal(error.code, 404);
        });
      } finally {
        await srv.close();
      }
      const refused = await websocketConnect(`ws://127.0.0.1:${srv.port}/ws`).then(
        () => assert.fail('connected'),
        (e: unknown) => e,
      );
      assert.ok(refused instanceof HTTPClientError);
      assert.equal(refused.code, 599);
    }),
  );

  test(
    'connectTimeout gives up on a server that never answers',
    genTest(async () => {
      // A handler that takes the upgrade over and never answers it.
      class Silent extends RequestHandler {
        override get(): unknown {
          const raw = this.request.connection!.detach();
          silent.push(raw.socket);
          this.autoFinish = false;
          return undefined;
        }
      }
      const silent: Array<{ destroy(): void }> = [];
      const { srv, wsUrl } = await serve([['/', Silent]]);
      try {
        const error = await websocketConnect(wsUrl('/'), { connectTimeout: 100 }).then(
          () => assert.fail('connected'),
          (e: unknown) => e,
        );
        assert.ok(error instanceof HTTPClientError);
        assert.equal(error.code, 599);
        assert.match(error.message, /Timeout while connecting/);
      } finally {
        for (const socket of silent) socket.destroy();
        await srv.close();
      }
    }),
  );
});

describe('upgrade requests to other handlers', () => {
  test(
    'a plain handler answers an upgrade request normally and the socket is closed',
    genTest(async () => {
      class Plain extends RequestHandler {
        override get(): void {
          this.write('plain answer');
        }
      }
      const { srv } = await serve([['/plain', Plain]]);
      try {
        const plain = await sendRaw(srv.port, handshake('/plain'), { timeout: 3000 });
        assert.match(plain.text, /^HTTP\/1\.1 200 OK\r\n/);
        assert.match(plain.text, /plain answer$/);
        assert.ok(plain.closedByServer, 'the server closed the socket');
        await expectLog(accessLog, /^404 GET \/missing/, async () => {
          const missing = await sendRaw(srv.port, handshake('/missing'), { timeout: 3000 });
          assert.match(missing.text, /^HTTP\/1\.1 404 /);
          assert.ok(missing.closedByServer);
        });
      } finally {
        await srv.close();
      }
    }),
  );

  test(
    'a plain request callback answers an upgrade request through its connection',
    genTest(async () => {
      const srv = await startTestServer((request) => {
        const body = Buffer.from(`no upgrade for ${request.path}`);
        request.connection!.writeHeaders(
          200,
          'OK',
          new HTTPHeaders({ 'Content-Length': String(body.length) }),
          body,
        );
        request.connection!.finish();
      });
      try {
        const result = await sendRaw(srv.port, handshake('/cb'), { timeout: 3000 });
        assert.match(result.text, /^HTTP\/1\.1 200 OK\r\n/);
        assert.match(result.text, /no upgrade for \/cb$/);
        assert.ok(result.closedByServer);
      } finally {
        await srv.close();
      }
    }),
  );

  test(
    'a FallbackHandler cannot serve an upgrade: 500, socket closed',
    genTest(async () => {
      const fallback: NodeRequestListener = (_req, res) => res.end('legacy');
      const { srv } = await serve([['/legacy', FallbackHandler, { fallback }]]);
      try {
        await expectLog(accessLog, /^500 GET \/legacy/, () =>
          expectLog(genLog, /FallbackHandler cannot serve an upgrade/, async () => {
            const result = await sendRaw(srv.port, handshake('/legacy'), { timeout: 3000 });
            assert.match(result.text, /^HTTP\/1\.1 500 /);
            assert.ok(result.closedByServer);
          }),
        );
        const res = await srv.fetch('/legacy');
        assert.equal(await res.text(), 'legacy');
      } finally {
        await srv.close();
      }
    }),
  );
});

describe('limits and failures', () => {
  test(
    'a message over maxMessageSize closes with 1009 and the server keeps serving',
    genTest(async () => {
      const closed = new Future<number | null>();
      class Limited extends EchoHandler {
        override onClose(): void {
          if (!closed.done()) closed.setResult(this.closeCode);
        }
      }
      const { srv, wsUrl } = await serve([['/', Limited]], { websocketMaxMessageSize: 1024 });
      try {
        const big = await websocketConnect(wsUrl('/'));
        await big.writeMessage('x'.repeat(1024));
        assert.equal((await big.readMessage())?.length, 1024, 'exactly the limit passes');
        await big.writeMessage('x'.repeat(1025));
        assert.equal(await big.readMessage(), null);
        assert.equal(big.closeCode, 1009);
        // The side that refused the message sent 1009 and heard no code back (Tornado too).
        assert.equal(await closed, null);
        const next = await websocketConnect(wsUrl('/'));
        await next.writeMessage('still here');
        assert.equal(await next.readMessage(), 'still here');
        next.close();
      } finally {
        await srv.close();
      }
    }),
  );

  test(
    'the default limit is 10 MiB, and the client has its own',
    genTest(async () => {
      assert.equal(DEFAULT_MAX_MESSAGE_SIZE, 10 * 1024 * 1024);
      const closed = new Future<number | null>();
      class Big extends WebSocketHandler {
        override open(): void {
          void this.writeMessage(Buffer.alloc(2048), { binary: true });
        }
        override onClose(): void {
          if (!closed.done()) closed.setResult(this.closeCode);
        }
      }
      const { srv, wsUrl } = await serve([['/', Big]]);
      try {
        const conn = await websocketConnect(wsUrl('/'), { maxMessageSize: 1024 });
        assert.equal(await conn.readMessage(), null);
        assert.equal(await closed, 1009);
        assert.equal(conn.closeCode, null);
      } finally {
        await srv.close();
      }
    }),
  );

  test(
    'an exception in onMessage is logged once and closes with 1011; onClose still runs',
    genTest(async () => {
      const closed = new Future<void>();
      let calls = 0;
      class Thrower extends WebSocketHandler {
        override onMessage(): void {
          calls++;
          throw new Error('handler bug');
        }
        override onClose(): void {
          closed.setResult(undefined);
        }
      }
      const { srv, wsUrl } = await serve([['/boom', Thrower]]);
      try {
        await expectLog(appLog, /^Uncaught exception in \/boom/, async () => {
          const conn = await websocketConnect(wsUrl('/boom'));
          void conn.writeMessage('one');
          void conn.writeMessage('two');
          assert.equal(await conn.readMessage(), null);
          assert.equal(conn.closeCode, 1011);
          await closed;
        });
        assert.equal(calls, 1, 'no message is handled after the failure');
      } finally {
        await srv.close();
      }
    }),
  );

  test(
    'a rejected async open is logged and closes with 1011',
    genTest(async () => {
      class BadOpen extends WebSocketHandler {
        override async open(): Promise<void> {
          await sleep(1);
          throw new Error('open failed');
        }
      }
      const { srv, wsUrl } = await serve([['/bad-open', BadOpen]]);
      try {
        await expectLog(appLog, /^Uncaught exception in \/bad-open/, async () => {
          const conn = await websocketConnect(wsUrl('/bad-open'));
          assert.equal(await conn.readMessage(), null);
          assert.equal(conn.closeCode, 1011);
        });
      } finally {
        await srv.close();
      }
    }),
  );
});

describe('hostile peers', () => {
  /** Complete a handshake over a raw socket, then send `frames`; resolve with what came back. */
  function rawSession(port: number, frames: Buffer): Promise<{ data: Buffer; closed: boolean }> {
    return new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      let sent = false;
      const timer = setTimeout(() => {
        socket.destroy();
        resolve({ data: Buffer.concat(chunks), closed: false });
      }, 3000);
      socket.on('error', () => {});
      socket.write(handshake('/echo'));
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if (!sent && Buffer.concat(chunks).includes('\r\n\r\n')) {
          sent = true;
          socket.write(frames);
        }
      });
      socket.on('close', () => {
        clearTimeout(timer);
        resolve({ data: Buffer.concat(chunks), closed: true });
      });
    });
  }

  /** The close code in the first close frame (opcode 8) the server sent after its 101. */
  function closeCodeOf(data: Buffer): number | undefined {
    let at = data.indexOf('\r\n\r\n') + 4;
    while (at + 2 <= data.length) {
      const opcode = data[at]! & 0x0f;
      const length = data[at + 1]! & 0x7f;
      if (opcode === 8) return length >= 2 ? data.readUInt16BE(at + 2) : undefined;
      at += 2 + length;
    }
    return undefined;
  }

  const masked = (opcode: number, payload: Buffer) => {
    const mask = Buffer.from([1, 2, 3, 4]);
    const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
    return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), mask, body]);
  };

  for (const [name, frames, code] of [
    ['an unmasked client frame', Buffer.from([0x81, 0x02, 0x68, 0x69]), 1002],
    ['an unknown opcode', masked(0x3, Buffer.from('hi')), 1002],
    ['invalid UTF-8 in a text frame', masked(0x1, Buffer.from([0xc3, 0x28])), 1007],
    [
      'a frame header announcing 2^63 bytes',
      Buffer.from([0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]),
      1009,
    ],
  ] as const) {
    test(
      `${name} closes with ${code}; no crash, the server keeps serving`,
      genTest(async () => {
        const closed = new Future<void>();
        class Watched extends EchoHandler {
          override onClose(): void {
            if (!closed.done()) closed.setResult(undefined);
          }
        }
        const { srv, wsUrl } = await serve([['/echo', Watched]]);
        try {
          const result = await rawSession(srv.port, frames);
          assert.match(result.data.toString('latin1'), /^HTTP\/1\.1 101 /);
          assert.equal(closeCodeOf(result.data), code);
          assert.ok(result.closed, 'the server closed the connection');
          await closed;
          const conn = await websocketConnect(wsUrl('/echo'));
          await conn.writeMessage('after');
          assert.equal(await conn.readMessage(), 'after');
          conn.close();
        } finally {
          await srv.close();
        }
      }),
    );
  }

  test(
    'websocketConnect rejects a URL it cannot use',
    genTest(async () => {
      await assert.rejects(websocketConnect('ftp://127.0.0.1/x'), SyntaxError);
    }),
  );
});

describe('wss', () => {
  test(
    'a WebSocket over TLS, with caCerts and validateCert',
    genTest(async () => {
      const fixture = (name: string) =>
        readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url));
      class NoDelay extends EchoHandler {
        override open(): void {
          this.setNodelay(true);
        }
      }
      const srv = await startTestServer(new Application([['/echo', NoDelay]]), {
        sslOptions: { key: fixture('key.pem'), cert: fixture('cert.pem') },
      });
      try {
        const url = `wss://127.0.0.1:${srv.port}/echo`;
        const conn = await websocketConnect(url, { caCerts: fixture('ca.pem') });
        await conn.writeMessage('secure');
        assert.equal(await conn.readMessage(), 'secure');
        conn.close();
        const unchecked = await websocketConnect(url, { validateCert: false });
        unchecked.close();
        const refused = await websocketConnect(url).then(
          () => assert.fail('connected without trusting the CA'),
          (e: unknown) => e,
        );
        assert.ok(refused instanceof HTTPClientError);
        assert.equal(refused.code, 599);
      } finally {
        await srv.close();
      }
    }),
  );
});

describe('compression', () => {
  for (const [name, serverOptions, negotiated] of [
    ['negotiated when the handler enables it', {}, true],
    ['off by default', null, false],
  ] as const) {
    test(
      `permessage-deflate is ${name}`,
      genTest(async () => {
        class Compressed extends EchoHandler {
          override getCompressionOptions(): CompressionOptions | null {
            return serverOptions;
          }
        }
        const { srv, wsUrl } = await serve([['/', Compressed]]);
        try {
          const conn = await websocketConnect(wsUrl('/'), { compressionOptions: {} });
          const extensions = conn.headers.get('Sec-WebSocket-Extensions') ?? '';
          assert.equal(extensions.includes('permessage-deflate'), negotiated);
          const text = 'compressible '.repeat(1000);
          await conn.writeMessage(text);
          assert.equal(await conn.readMessage(), text);
          conn.close();
        } finally {
          await srv.close();
        }
      }),
    );
  }
});

describe('many clients', () => {
  test(
    'hundreds of clients connect, echo and disconnect without leaks',
    genTest(
      async () => {
        let opened = 0;
        let closed = 0;
        const allClosed = new Future<void>();
        const clients = 200;
        class Counted extends EchoHandler {
          override open(): void {
            opened++;
          }
          override onClose(): void {
            if (++closed === clients) allClosed.setResult(undefined);
          }
        }
        const { srv, wsUrl } = await serve([['/', Counted]]);
        try {
          for (let round = 0; round < 2; round++) {
            const conns = await Promise.all(
              Array.from({ length: clients / 2 }, () => websocketConnect(wsUrl('/'))),
            );
            await Promise.all(
              conns.map(async (conn, i) => {
                await conn.writeMessage(`m${i}`);
                assert.equal(await conn.readMessage(), `m${i}`);
                conn.close();
                assert.equal(await conn.readMessage(), null);
              }),
            );
          }
          await allClosed;
          assert.equal(opened, clients);
        } finally {
          // stop() only resolves once every connection it served is gone: a leaked socket
          // would hang here and fail the test on its timeout.
          await srv.close();
        }
      },
      { timeout: 15_000 },
    ),
  );
});
