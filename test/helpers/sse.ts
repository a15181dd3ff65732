// What the EventSourceHandler tests share: an application on a free port, a deferred, and a
// raw HTTP/1.1 client that decodes the chunked body, so a test sees exactly what was written.
import * as net from 'node:net';
import { Application } from '../../src/index.ts';
import type { ApplicationSettings, Rule } from '../../src/index.ts';
import type { HTTPServer } from '../../src/httpserver/index.ts';

export interface Served {
  server: HTTPServer;
  port: number;
  url(path: string): string;
  close(): Promise<void>;
}

export async function serve(rules: Rule[], settings: ApplicationSettings = {}): Promise<Served> {
  const server = await new Application(rules, settings).listen(0, '127.0.0.1');
  const port = (server.address() as net.AddressInfo).port;
  return {
    server,
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    close: async () => {
      server.closeAllConnections();
      await server.stop();
    },
  };
}

export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * A raw HTTP/1.1 client that decodes a chunked response body as it arrives, so a test sees
 * exactly the bytes the handler wrote and where the response ended.
 */
export class RawStream {
  readonly socket: net.Socket;
  raw = Buffer.alloc(0);
  head: string | null = null;
  body = '';
  /** Every chunk of the body as it was framed. */
  chunks: string[] = [];
  ended = false;
  closed = false;
  #offset = 0;

  constructor(port: number, path: string, headers: Record<string, string> = {}) {
    this.socket = net.connect(port, '127.0.0.1');
    const lines = [`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1'];
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    this.socket.on('data', (data: Buffer) => {
      this.raw = Buffer.concat([this.raw, data]);
      this.#parse();
    });
    this.socket.on('error', () => {});
    this.socket.on('close', () => (this.closed = true));
  }

  #parse(): void {
    if (this.head === null) {
      const end = this.raw.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.head = this.raw.subarray(0, end).toString('latin1');
      this.#offset = end + 4;
    }
    for (;;) {
      const lineEnd = this.raw.indexOf('\r\n', this.#offset);
      if (lineEnd < 0) return;
      const size = parseInt(this.raw.subarray(this.#offset, lineEnd).toString('latin1'), 16);
      if (this.raw.length < lineEnd + 2 + size + 2) return;
      if (size === 0) {
        this.ended = true;
        this.#offset = lineEnd + 4;
        return;
      }
      const chunk = this.raw.subarray(lineEnd + 2, lineEnd + 2 + size).toString('utf8');
      this.chunks.push(chunk);
      this.body += chunk;
      // Keep only what is not parsed yet, so a long stream costs no quadratic copying.
      this.raw = this.raw.subarray(lineEnd + 2 + size + 2);
      this.#offset = 0;
    }
  }

  header(name: string): string | undefined {
    const wanted = name.toLowerCase();
    for (const line of (this.head ?? '').split('\r\n').slice(1)) {
      const colon = line.indexOf(':');
      if (line.slice(0, colon).toLowerCase() === wanted) return line.slice(colon + 1).trim();
    }
    return undefined;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
