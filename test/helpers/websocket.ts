// Shared pieces of the WebSocket tests: an echo handler, a raw handshake request and a raw
// client that reads frames only when asked.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { Future } from '../../src/concurrent.ts';
import { WebSocketHandler, type WebSocketMessage } from '../../src/websocket/index.ts';

/** Echoes every message back, binary as binary. */
export class EchoHandler extends WebSocketHandler {
  override onMessage(message: WebSocketMessage): void {
    void this.writeMessage(message, { binary: typeof message !== 'string' });
  }
}

/** The sample key of RFC 6455 section 1.3. */
export const HANDSHAKE_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** A raw upgrade request for `path`, with `extra` header lines. */
export function handshake(path: string, extra = ''): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${HANDSHAKE_KEY}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`
  );
}

/** A raw client: does the handshake, then holds every byte it gets (paused until asked). */
export class RawClient {
  socket: net.Socket;
  #buffer = Buffer.alloc(0);
  #waiters: Array<() => void> = [];
  closed = new Future<void>();

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    socket.on('close', () => {
      if (!this.closed.done()) this.closed.setResult();
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  /** Connect and upgrade; `extra` adds header lines (each ending in CRLF). */
  static async connect(port: number, path: string, extra = ''): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    const client = new RawClient(socket);
    socket.write(handshake(path, extra));
    const head = await client.#take((b) => {
      const end = b.indexOf('\r\n\r\n');
      return end === -1 ? -1 : end + 4;
    });
    assert.match(head.toString('latin1'), /^HTTP\/1\.1 101/);
    return client;
  }

  /** Wait until `measure(buffer)` says how many leading bytes make one item; take them. */
  async #take(measure: (b: Buffer) => number): Promise<Buffer> {
    for (;;) {
      const n = measure(this.#buffer);
      if (n !== -1) {
        const item = this.#buffer.subarray(0, n);
        this.#buffer = this.#buffer.subarray(n);
        return item;
      }
      if (this.closed.done()) throw new Error('connection closed mid-frame');
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** The next server frame (unmasked): its opcode and payload. */
  async frame(): Promise<{ opcode: number; payload: Buffer }> {
    const raw = await this.#take((b) => {
      if (b.length < 2) return -1;
      let length = b[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) return -1;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) return -1;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      return b.length >= offset + length ? offset + length : -1;
    });
    const length = raw[1]! & 0x7f;
    const offset = length === 126 ? 4 : length === 127 ? 10 : 2;
    return { opcode: raw[0]! & 0x0f, payload: raw.subarray(offset) };
  }
}
