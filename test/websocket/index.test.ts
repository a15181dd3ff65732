// WebSocketHandler over real sockets on 127.0.0.1: messages, closing, the server side of
// the handshake, upgrades to other handlers, limits, and many clients at once.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Future } from '../../src/concurrent.ts';
import { HTTPClientError, WebSocketClosedError } from '../../src/errors.ts';
import { sleep } from '../../src/gen.ts';
import { HTTPHeaders } from '../../src/httputil/index.ts';
import { accessLog, appLog, genLog } from '../../src/log.ts';
import { genTest, expectLog } from '../../src/testing.ts';
import {
  Application,
  FallbackHandler,
  RequestHandler,
  type NodeRequestListener,
} from '../../src/web/index.ts';
import {
  DEFAULT_MAX_MESSAGE_SIZE,
  WebSocketHandler,
  websocketConnect,
  type WebSocketMessage,
} from '../../src/websocket/index.ts';
import { sendRaw } from '../helpers/raw-http.ts';
import { serveApp, withTestServer, wsUrl } from '../helpers/server.ts';
import { EchoHandler, HANDSHAKE_KEY, handshake } from '../helpers/websocket.ts';

describe('WebSocketHandler messages', () => {
  test(
    'echoes text as strings and binary as Buffers',
    genTest(async () => {
      await withTestServer(new Application([['/echo', EchoHandler]]), async (srv) => {
        const conn = await websocketConnect(wsUrl(srv, '/echo'));
        await conn.writeMessage('héllo');
        assert.equal(await conn.readMessage(), 'héllo');
        await conn.writeMessage(Buffer.from([0, 1, 2, 255]), { binary: true });
        const binary = await conn.readMessage();
        assert.ok(Buffer.isBuffer(binary));
        assert.deepEqual([...binary], [0, 1, 2, 255]);
        conn.close();
        assert.equal(await conn.readMessage(), null);
      });
    }),
  );

  test(
    'texts sent on, sent again and sent to several clients keep their bytes',
    genTest(async () => {
      // Received texts, new texts, a text past the size whose bytes are kept for reuse, and
      // binary messages with a text's bytes, interleaved on two connections.
      const clients: RelayHandler[] = [];
      class RelayHandler extends WebSocketHandler {
        override open(): void {
          clients.push(this);
        }
        override onMessage(message: WebSocketMessage): void {
          if (typeof message !== 'string') {
            void this.writeMessage(message, { binary: true });
            return;
          }
          for (const client of clients) void client.writeMessage(message);
          void this.writeMessage('fixed ünïcødé');
          void this.writeMessage(message.toUpperCase());
          void this.writeMessage(message);
        }
      }
      await withTestServer(new Application([['/relay', RelayHandler]]), async (srv) => {
        const a = await websocketConnect(wsUrl(srv, '/relay'));
        const b = await websocketConnect(wsUrl(srv, '/relay'));
        const big = 'ß'.repeat(40_000); // 80 000 bytes
        for (const text of ['héllo', '☃ snow', 'héllo', big, 'é']) {
          await a.writeMessage(text);
          assert.equal(await b.readMessage(), text, 'relayed to the other client');
          for (const expected of [text, 'fixed ünïcødé', text.toUpperCase(), text]) {
            assert.equal(await a.readMessage(), expected);
          }
          await a.writeMessage(Buffer.from('bytes of ' + text), { binary: true });
          assert.deepEqual(await a.readMessage(), Buffer.from('bytes of ' + text));
        }
        a.close();
        b.close();
      });
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
      await withTestServer(new Application([['/json', JsonHandler]]), async (srv) => {
        const conn = await websocketConnect(wsUrl(srv, '/json'));
        const text = await conn.readMessage();
        assert.equal(typeof text, 'string');
        assert.deepEqual(JSON.parse(text as string), { hello: 'world', n: [1, 2] });
        assert.equal(errors.length, 1);
        assert.ok(errors[0] instanceof TypeError);
        conn.close();
      });
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
      await withTestServer(new Application([['/room/(\\w+)', OrderHandler]]), async (srv) => {
        const conn = await websocketConnect(wsUrl(srv, '/room/lobby'));
        await conn.writeMessage('a');
        await conn.writeMessage('b');
        conn.close();
        await closed;
        assert.deepEqual(events, ['open lobby', 'message a', 'message b', 'close']);
      });
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
      await withTestServer(new Application([['/', SlowOpen]]), async (srv) => {
        const conn = await websocketConnect(wsUrl(srv, '/'));
        for (const m of ['1', '2', '3']) void conn.writeMessage(m);
        assert.equal(await conn.readMessage(), 'done');
        assert.deepEqual(seen, ['1:true', '2:true', '3:true']);
        conn.close();
      });
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
      await withTestServer(new Application([['/', Serial]]), async (srv) => {
        const conn = await websocketConnect(wsUrl(srv, '/'));
        for (let i = 0; i < 10; i++) void conn.writeMessage(String(i));
        assert.equal(await conn.readMessage(), 'all');
        assert.equal(maxActive, 1);
        assert.deepEqual(order, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
        conn.close();
      });
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
      await withTestServer(new Application([['/', Gen]]), async (srv) => {
        const conn = await websocketConnect(wsUrl(srv, '/'));
        await conn.writeMessage('x');
        assert.equal(await conn.readMessage(), 'gen x');
        conn.close();
      });
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
      await withTestServer(new Application([['/', Burst]]), async (srv) => {
        const conn = await websocketConnect(wsUrl(srv, '/'), { maxQueuedMessages: 4 });
        await sleep(50);
        const got: string[] = [];
        for await (const message of conn) got.push(String(message));
        assert.equal(got.length, 200);
        assert.deepEqual(got.slice(0, 3).concat(got.slice(-1)), ['0', '1', '2', '199']);
        assert.equal(conn.closeCode, 1000);
      });
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
      await withTestServer(new Application([['/', Recorder]]), async (srv) => {
        const conn = await websocketConnect(wsUrl(srv, '/'));
        conn.close(4001, 'client bye');
        assert.deepEqual(await closed, [4001, 'client bye']);
        assert.equal(await conn.readMessage(), null);
        assert.equal(await conn.readMessage(), null);
        await assert.rejects(conn.writeMessage('late'), WebSocketClosedError);
      });
    }),
  );

  test(
    'the server close code and reason reach the client; a reason alone means 1000',
    genTest(async () => {
      class Closer extends WebSocketHandler {
        override onMessage(message: WebSocketMessage): void {
          if (message === 'code') this.close(4002, 'server bye');
          else this.close(undefined, 'only a reason');
          assert.ok(this.writeMessage('after close').exception() instanceof WebSocketClosedError);
          assert.throws(() => this.ping(), WebSocketClosedError);
        }
      }
      await withTestServer(new Application([['/', Closer]]), async (srv) => {
        const a = await websocketConnect(wsUrl(srv, '/'));
        await a.writeMessage('code');
        assert.equal(await a.readMessage(), null);
        assert.equal(a.closeCode, 4002);
        assert.equal(a.closeReason, 'server bye');
        const b = await websocketConnect(wsUrl(srv, '/'));
        await b.writeMessage('reason');
        assert.equal(await b.readMessage(), null);
        assert.equal(b.closeCode, 1000);
        assert.equal(b.closeReason, 'only a reason');
        const c = await websocketConnect(wsUrl(srv, '/'));
        c.close();
        assert.equal(await c.readMessage(), null);
        assert.equal(c.closeCode, null, 'no code sent means closeCode stays null');
      });
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
      const srv = await serveApp([['/', Held]]);
      const conn = await websocketConnect(wsUrl(srv, '/'));
      await srv.close();
      await closed;
      assert.equal(await conn.readMessage(), null);
    }),
  );
});

describe('handshake', () => {
  test(
    'a plain GET is answered 400 as Tornado does',
    genTest(async () => {
      const srv = await serveApp([['/ws', EchoHandler]]);
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
      await withTestServer(new Application([['/ws', EchoHandler]]), async (srv) => {
        await expectLog(accessLog, /^403 GET \/ws/, async () => {
          const error = await websocketConnect(wsUrl(srv, '/ws'), {
            headers: { Origin: 'http://evil.example' },
          }).then(
            () => assert.fail('connected'),
            (e: unknown) => e,
          );
          assert.ok(error instanceof HTTPClientError);
          assert.equal(error.code, 403);
        });
        const conn = await websocketConnect(wsUrl(srv, '/ws'), {
          headers: { Origin: `http://127.0.0.1:${srv.port}` },
        });
        await conn.writeMessage('same origin');
        assert.equal(await conn.readMessage(), 'same origin');
        conn.close();
      });
    }),
  );

  test(
    'a bad key gets 400, an unsupported version 426, a body 400',
    genTest(async () => {
      await withTestServer(new Application([['/ws', EchoHandler]]), async (srv) => {
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
      });
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
      await withTestServer(new Application([['/', Proto]]), async (srv) => {
        const a = await websocketConnect(wsUrl(srv, '/'), { subprotocols: ['chat.v1', 'chat.v2'] });
        assert.equal(a.selectedSubprotocol, 'chat.v2');
        assert.equal(await a.readMessage(), 'selected chat.v2');
        a.close();
        const b = await websocketConnect(wsUrl(srv, '/'));
        assert.equal(b.selectedSubprotocol, null);
        assert.equal(await b.readMessage(), 'selected null');
        b.close();
        assert.deepEqual(offered, [['chat.v1', 'chat.v2'], []]);
      });
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
      await withTestServer(new Application([['/', Cookie]]), async (srv) => {
        const conn = await websocketConnect(wsUrl(srv, '/'));
        assert.match(conn.headers.get('Set-Cookie') ?? '', /^session=abc/);
        assert.equal(conn.headers.get('X-Room'), 'lobby');
        assert.equal(conn.headers.get('Content-Type'), undefined);
        conn.close();
      });
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
      await withTestServer(new Application([['/plain', Plain]]), async (srv) => {
        const plain = await sendRaw(srv.port, handshake('/plain'), { timeout: 3000 });
        assert.match(plain.text, /^HTTP\/1\.1 200 OK\r\n/);
        assert.match(plain.text, /plain answer$/);
        assert.ok(plain.closedByServer, 'the server closed the socket');
        await expectLog(accessLog, /^404 GET \/missing/, async () => {
          const missing = await sendRaw(srv.port, handshake('/missing'), { timeout: 3000 });
          assert.match(missing.text, /^HTTP\/1\.1 404 /);
          assert.ok(missing.closedByServer);
        });
      });
    }),
  );

  test(
    'a plain request callback answers an upgrade request through its connection',
    genTest(async () => {
      await withTestServer(
        (request) => {
          const body = Buffer.from(`no upgrade for ${request.path}`);
          request.connection!.writeHeaders(
            200,
            'OK',
            new HTTPHeaders({ 'Content-Length': String(body.length) }),
            body,
          );
          request.connection!.finish();
        },
        async (srv) => {
          const result = await sendRaw(srv.port, handshake('/cb'), { timeout: 3000 });
          assert.match(result.text, /^HTTP\/1\.1 200 OK\r\n/);
          assert.match(result.text, /no upgrade for \/cb$/);
          assert.ok(result.closedByServer);
        },
      );
    }),
  );

  test(
    'a FallbackHandler cannot serve an upgrade: 500, socket closed',
    genTest(async () => {
      const fallback: NodeRequestListener = (_req, res) => res.end('legacy');
      await withTestServer(
        new Application([['/legacy', FallbackHandler, { fallback }]]),
        async (srv) => {
          await expectLog(accessLog, /^500 GET \/legacy/, () =>
            expectLog(genLog, /FallbackHandler cannot serve an upgrade/, async () => {
              const result = await sendRaw(srv.port, handshake('/legacy'), { timeout: 3000 });
              assert.match(result.text, /^HTTP\/1\.1 500 /);
              assert.ok(result.closedByServer);
            }),
          );
          const res = await srv.fetch('/legacy');
          assert.equal(await res.text(), 'legacy');
        },
      );
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
      await withTestServer(
        new Application([['/', Limited]], { websocketMaxMessageSize: 1024 }),
        async (srv) => {
          const big = await websocketConnect(wsUrl(srv, '/'));
          await big.writeMessage('x'.repeat(1024));
          assert.equal((await big.readMessage())?.length, 1024, 'exactly the limit passes');
          await big.writeMessage('x'.repeat(1025));
          assert.equal(await big.readMessage(), null);
          assert.equal(big.closeCode, 1009);
          // The side that refused the message sent 1009 and heard no code back (Tornado too).
          assert.equal(await closed, null);
          const next = await websocketConnect(wsUrl(srv, '/'));
          await next.writeMessage('still here');
          assert.equal(await next.readMessage(), 'still here');
          next.close();
        },
      );
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
      await withTestServer(new Application([['/', Big]]), async (srv) => {
        const conn = await websocketConnect(wsUrl(srv, '/'), { maxMessageSize: 1024 });
        assert.equal(await conn.readMessage(), null);
        assert.equal(await closed, 1009);
        assert.equal(conn.closeCode, null);
      });
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
      await withTestServer(new Application([['/boom', Thrower]]), async (srv) => {
        await expectLog(appLog, /^Uncaught exception in \/boom/, async () => {
          const conn = await websocketConnect(wsUrl(srv, '/boom'));
          void conn.writeMessage('one');
          void conn.writeMessage('two');
          assert.equal(await conn.readMessage(), null);
          assert.equal(conn.closeCode, 1011);
          await closed;
        });
        assert.equal(calls, 1, 'no message is handled after the failure');
      });
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
      await withTestServer(new Application([['/bad-open', BadOpen]]), async (srv) => {
        await expectLog(appLog, /^Uncaught exception in \/bad-open/, async () => {
          const conn = await websocketConnect(wsUrl(srv, '/bad-open'));
          assert.equal(await conn.readMessage(), null);
          assert.equal(conn.closeCode, 1011);
        });
      });
    }),
  );
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
        const srv = await serveApp([['/', Counted]]);
        try {
          for (let round = 0; round < 2; round++) {
            const conns = await Promise.all(
              Array.from({ length: clients / 2 }, () => websocketConnect(wsUrl(srv, '/'))),
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
