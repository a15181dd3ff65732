// The WebSocket protocol both ends share: pings and pongs, hostile frames, permessage-deflate.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { WebSocket as RawWebSocket } from 'ws';
import { Future } from '../../src/concurrent.ts';
import { genTest } from '../../src/testing.ts';
import { Application } from '../../src/web/index.ts';
import {
  WebSocketHandler,
  websocketConnect,
  type CompressionOptions,
} from '../../src/websocket/index.ts';
import { withTestServer, wsUrl } from '../helpers/server.ts';
import { EchoHandler, handshake } from '../helpers/websocket.ts';

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
      await withTestServer(new Application([['/', Pinger]]), async (srv) => {
        const conn = await websocketConnect(wsUrl(srv, '/'));
        assert.equal(await pong, 'abc');
        conn.ping('xyz');
        assert.equal(await ping, 'xyz');
        assert.throws(() => conn.ping(Buffer.alloc(126)), RangeError);
        conn.close();
      });
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
      await withTestServer(
        new Application([['/', KeptAlive]], {
          websocketPingInterval: 30,
          websocketPingTimeout: 200,
        }),
        async (srv) => {
          const polite = await websocketConnect(wsUrl(srv, '/'));
          await enoughPongs;
          polite.close();
          await closed;
          // A peer that stopped answering: ws's own client with autoPong off.
          const mute = new RawWebSocket(wsUrl(srv, '/'), { autoPong: false });
          mute.on('error', () => {});
          const muteClosed = new Promise<number>((resolve) => mute.on('close', resolve));
          await new Promise((resolve) => mute.once('open', resolve));
          const started = performance.now();
          assert.equal(await muteClosed, 1006);
          assert.ok(performance.now() - started >= 150, 'not dropped before the timeout');
        },
      );
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
        await withTestServer(new Application([['/echo', Watched]]), async (srv) => {
          const result = await rawSession(srv.port, frames);
          assert.match(result.data.toString('latin1'), /^HTTP\/1\.1 101 /);
          assert.equal(closeCodeOf(result.data), code);
          assert.ok(result.closed, 'the server closed the connection');
          await closed;
          const conn = await websocketConnect(wsUrl(srv, '/echo'));
          await conn.writeMessage('after');
          assert.equal(await conn.readMessage(), 'after');
          conn.close();
        });
      }),
    );
  }
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
        await withTestServer(new Application([['/', Compressed]]), async (srv) => {
          const conn = await websocketConnect(wsUrl(srv, '/'), { compressionOptions: {} });
          const extensions = conn.headers.get('Sec-WebSocket-Extensions') ?? '';
          assert.equal(extensions.includes('permessage-deflate'), negotiated);
          const text = 'compressible '.repeat(1000);
          await conn.writeMessage(text);
          assert.equal(await conn.readMessage(), text);
          conn.close();
        });
      }),
    );
  }
});
