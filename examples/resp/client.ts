/**
 * A minimal RESP 2 client for the example server (or a real Redis): send a command as an
 * array of bulk strings, read one reply of any type. Commands on one connection are sent in
 * order; `pipeline()` sends several before reading their replies.
 *
 * Run it: `node examples/resp/client.ts [port] SET greeting hello` (default port 6380).
 */
import { TCPClient, type IOStream } from '../../src/index.ts';

/** A reply: string (simple), Buffer (bulk), number/bigint (integer), null, or an array. */
export type RespValue = string | Buffer | number | bigint | null | RespValue[];

/** An error reply (`-ERR …`) from the server. */
export class RespError extends Error {}

/** Encode a command as a RESP array of bulk strings. */
export function encodeCommand(args: Array<string | Buffer | number>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = Buffer.isBuffer(arg) ? arg : Buffer.from(String(arg));
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Read one reply from `stream`; an error reply is returned as a RespError (not thrown). */
export async function readReply(stream: IOStream): Promise<RespValue | RespError> {
  const line = await stream.readUntil('\r\n', { maxBytes: 1024 * 1024 });
  const text = line.toString('utf8', 1, line.length - 2);
  switch (line[0]) {
    case 0x2b: // '+'
      return text;
    case 0x2d: // '-'
      return new RespError(text);
    case 0x3a: {
      // ':'
      const n = BigInt(text);
      return Number.isSafeInteger(Number(n)) ? Number(n) : n;
    }
    case 0x24: {
      // '$'
      const length = Number(text);
      if (length < 0) return null;
      const payload = await stream.readBytes(length + 2);
      return payload.subarray(0, length);
    }
    case 0x2a: {
      // '*'
      const count = Number(text);
      if (count < 0) return null;
      const items: RespValue[] = [];
      for (let i = 0; i < count; i++) {
        const item = await readReply(stream);
        if (item instanceof RespError) throw item;
        items.push(item);
      }
      return items;
    }
    default:
      throw new Error(`unexpected reply type ${JSON.stringify(String.fromCharCode(line[0] ?? 0))}`);
  }
}

/** One connection to a RESP server. */
export class RespClient {
  readonly stream: IOStream;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(stream: IOStream) {
    this.stream = stream;
  }

  /** Connect to `host:port`. */
  static async connect(host: string, port: number): Promise<RespClient> {
    return new RespClient(await new TCPClient().connect(host, port, { timeout: 5000 }));
  }

  /** Send one command and resolve with its reply; an error reply rejects with RespError. */
  command(...args: Array<string | Buffer | number>): Promise<RespValue> {
    return this.#enqueue(async () => {
      await this.stream.write(encodeCommand(args));
      const reply = await readReply(this.stream);
      if (reply instanceof RespError) throw reply;
      return reply;
    });
  }

  /** Send several commands at once, then read all replies (errors come back as RespError). */
  pipeline(
    commands: Array<Array<string | Buffer | number>>,
  ): Promise<Array<RespValue | RespError>> {
    return this.#enqueue(async () => {
      await this.stream.write(Buffer.concat(commands.map(encodeCommand)));
      const replies: Array<RespValue | RespError> = [];
      for (let i = 0; i < commands.length; i++) replies.push(await readReply(this.stream));
      return replies;
    });
  }

  #enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Close the connection. */
  close(): void {
    this.stream.close();
  }
}

/** Render a reply the way redis-cli does when its output is not a terminal. */
export function formatReply(reply: RespValue): string {
  if (reply === null) return '';
  if (Array.isArray(reply)) return reply.map(formatReply).join('\n');
  return Buffer.isBuffer(reply) ? reply.toString('utf8') : String(reply);
}

if (import.meta.filename === process.argv[1]) {
  const port = Number(process.argv[2] ?? 6380);
  const args = process.argv.slice(3);
  const client = await RespClient.connect('127.0.0.1', port);
  try {
    console.log(formatReply(await client.command(...(args.length ? args : ['PING']))));
  } catch (e) {
    console.log(`(error) ${(e as Error).message}`);
    process.exitCode = 1;
  } finally {
    client.close();
  }
}
