/**
 * A tiny in-memory key-value server speaking a subset of the Redis protocol (RESP 2), enough
 * for `redis-cli` and Redis client libraries: PING, ECHO, GET, SET (with EX/PX/NX/XX), DEL,
 * EXISTS, INCR, DECR, INCRBY, KEYS, DBSIZE, FLUSHDB, COMMAND, QUIT. Both request forms work:
 * RESP arrays of bulk strings (what clients send) and inline commands (`PING\r\n`, what you
 * type into telnet). Pipelined requests are answered in order.
 *
 * It shows the IOStream reads a binary protocol needs: `readUntil('\r\n', {maxBytes})` for a
 * header line and `readBytes(n)` for a length-prefixed payload, each bounded so a hostile
 * client cannot make the server buffer without limit.
 *
 * Run it: `node examples/resp/server.ts [port]` (default 6380), then
 * `redis-cli -p 6380 SET greeting hello` and `redis-cli -p 6380 GET greeting`.
 */
import {
  TCPServer,
  UnsatisfiableReadError,
  type IOStream,
  type StreamAddress,
} from '../../src/index.ts';

/** Limits of one request. */
export interface RespLimits {
  /** Longest inline command or header line. Default 64 KiB. */
  maxLine: number;
  /** Largest bulk string. Default 1 MiB (Redis allows 512 MiB). */
  maxBulk: number;
  /** Most arguments in one command. Default 1024. */
  maxArgs: number;
}

const DEFAULT_LIMITS: RespLimits = { maxLine: 64 * 1024, maxBulk: 1024 * 1024, maxArgs: 1024 };

/** A malformed request: answered with `-ERR Protocol error: …`, then the connection closes. */
export class ProtocolError extends Error {}

// --- reply encoding (pure) ---------------------------------------------------------------------

/** `+OK\r\n`: a simple string (no CR/LF inside). */
export const simple = (s: string): Buffer => Buffer.from(`+${s}\r\n`);
/** `-ERR …\r\n`: an error reply. */
export const error = (s: string): Buffer => Buffer.from(`-${s.replace(/[\r\n]/g, ' ')}\r\n`);
/** `:42\r\n`: an integer reply. */
export const integer = (n: number | bigint): Buffer => Buffer.from(`:${n}\r\n`);
/** `$3\r\nfoo\r\n`, or the null bulk string `$-1\r\n`. */
export function bulk(value: Buffer | null): Buffer {
  if (value === null) return Buffer.from('$-1\r\n');
  return Buffer.concat([Buffer.from(`$${value.length}\r\n`), value, CRLF]);
}
/** `*2\r\n…`: an array of already encoded replies. */
export const array = (items: Buffer[]): Buffer =>
  Buffer.concat([Buffer.from(`*${items.length}\r\n`), ...items]);

const CRLF = Buffer.from('\r\n');
const OK = simple('OK');
const PONG = simple('PONG');

// --- request parsing (from the stream) ---------------------------------------------------------

async function readLine(stream: IOStream, limits: RespLimits): Promise<Buffer> {
  const line = await stream.readUntil('\r\n', { maxBytes: limits.maxLine + 2 });
  return line.subarray(0, line.length - 2);
}

function parseCount(header: Buffer, what: string, max: number): number {
  const text = header.toString('latin1', 1);
  if (!/^-?\d+$/.test(text)) throw new ProtocolError(`invalid ${what} length`);
  const n = Number(text);
  if (n > max) throw new ProtocolError(`${what} too large`);
  return n;
}

/** Read one command: an array of bulk strings, or an inline line split on spaces. */
export async function readCommand(stream: IOStream, limits: RespLimits): Promise<Buffer[]> {
  const line = await readLine(stream, limits);
  if (line[0] !== 0x2a /* '*' */) {
    return splitInline(line);
  }
  const count = parseCount(line, 'multibulk', limits.maxArgs);
  const args: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const header = await readLine(stream, limits);
    if (header[0] !== 0x24 /* '$' */)
      throw new ProtocolError(`expected '$', got '${String.fromCharCode(header[0] ?? 32)}'`);
    const length = parseCount(header, 'bulk', limits.maxBulk);
    if (length < 0) throw new ProtocolError('invalid bulk length');
    const payload = await stream.readBytes(length + 2);
    if (payload[length] !== 0x0d || payload[length + 1] !== 0x0a) {
      throw new ProtocolError('bulk string not terminated by CRLF');
    }
    args.push(payload.subarray(0, length));
  }
  return args;
}

function splitInline(line: Buffer): Buffer[] {
  const args: Buffer[] = [];
  let start = -1;
  for (let i = 0; i <= line.length; i++) {
    const space = i === line.length || line[i] === 0x20 || line[i] === 0x09;
    if (space && start >= 0) {
      args.push(line.subarray(start, i));
      start = -1;
    } else if (!space && start < 0) {
      start = i;
    }
  }
  return args;
}

// --- the store and its commands ----------------------------------------------------------------

interface Entry {
  value: Buffer;
  /** Loop-independent wall clock deadline in ms, or 0 for none. */
  expiresAt: number;
}

/** The key space: keys are byte strings (held as latin1 JS strings), values are bytes. */
export class Store {
  #data = new Map<string, Entry>();

  get(key: string): Buffer | null {
    const entry = this.#data.get(key);
    if (entry === undefined) return null;
    if (entry.expiresAt !== 0 && entry.expiresAt <= Date.now()) {
      this.#data.delete(key);
      return null;
    }
    return entry.value;
  }
  set(key: string, value: Buffer, ttlMs = 0): void {
    this.#data.set(key, { value, expiresAt: ttlMs > 0 ? Date.now() + ttlMs : 0 });
  }
  delete(key: string): boolean {
    const present = this.get(key) !== null;
    this.#data.delete(key);
    return present;
  }
  keys(): string[] {
    return [...this.#data.keys()].filter((key) => this.get(key) !== null);
  }
  clear(): void {
    this.#data.clear();
  }
}

function arity(name: string): Buffer {
  return error(`ERR wrong number of arguments for '${name}' command`);
}
const NOT_INTEGER = error('ERR value is not an integer or out of range');
const SYNTAX = error('ERR syntax error');
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

function parseInteger(value: Buffer): bigint | null {
  const text = value.toString('latin1');
  if (!/^-?(0|[1-9]\d{0,19})$/.test(text)) return null;
  const n = BigInt(text);
  return n > INT64_MAX || n < INT64_MIN ? null : n;
}

/** A Redis-style glob (`*`, `?`, `[abc]`, `\x`) as an anchored RegExp. */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') source += '[\\s\\S]*';
    else if (c === '?') source += '[\\s\\S]';
    else if (c === '\\' && i + 1 < pattern.length) source += escapeRe(pattern[++i]!);
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) source += '\\[';
      else {
        let body = pattern.slice(i + 1, end);
        const negate = body.startsWith('^');
        if (negate) body = body.slice(1);
        source += `[${negate ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
        i = end;
      }
    } else source += escapeRe(c);
  }
  return new RegExp(`^${source}$`);
}
const escapeRe = (c: string): string => c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/** What to do after a command: the reply, and whether to close the connection. */
export interface Outcome {
  reply: Buffer;
  close?: boolean;
}

/** Run one command against `store`. Pure apart from the store: no I/O. */
export function execute(store: Store, args: Buffer[]): Outcome {
  const name = (args[0]?.toString('latin1') ?? '').toLowerCase();
  const key = args[1]?.toString('latin1') ?? '';
  const n = args.length;
  switch (name) {
    case 'ping':
      if (n === 1) return { reply: PONG };
      return { reply: n === 2 ? bulk(args[1]!) : arity(name) };
    case 'echo':
      return { reply: n === 2 ? bulk(args[1]!) : arity(name) };
    case 'get':
      return { reply: n === 2 ? bulk(store.get(key)) : arity(name) };
    case 'set': {
      if (n < 3) return { reply: arity(name) };
      let ttl = 0;
      let nx = false;
      let xx = false;
      for (let i = 3; i < n; i++) {
        const option = args[i]!.toString('latin1').toUpperCase();
        if (option === 'NX') nx = true;
        else if (option === 'XX') xx = true;
        else if ((option === 'EX' || option === 'PX') && i + 1 < n) {
          const amount = parseInteger(args[++i]!);
          if (amount === null || amount <= 0n)
            return { reply: error("ERR invalid expire time in 'set' command") };
          ttl = Number(amount) * (option === 'EX' ? 1000 : 1);
        } else return { reply: SYNTAX };
      }
      if (nx && xx) return { reply: SYNTAX };
      const exists = store.get(key) !== null;
      if ((nx && exists) || (xx && !exists)) return { reply: bulk(null) };
      store.set(key, Buffer.from(args[2]!), ttl);
      return { reply: OK };
    }
    case 'del':
    case 'exists': {
      if (n < 2) return { reply: arity(name) };
      let count = 0;
      for (let i = 1; i < n; i++) {
        const k = args[i]!.toString('latin1');
        if (name === 'del' ? store.delete(k) : store.get(k) !== null) count++;
      }
      return { reply: integer(count) };
    }
    case 'incr':
    case 'decr':
    case 'incrby': {
      if (n !== (name === 'incrby' ? 3 : 2)) return { reply: arity(name) };
      const by = name === 'incr' ? 1n : name === 'decr' ? -1n : parseInteger(args[2]!);
      if (by === null) return { reply: NOT_INTEGER };
      const current = store.get(key);
      const base = current === null ? 0n : parseInteger(current);
      if (base === null) return { reply: NOT_INTEGER };
      const next = base + by;
      if (next > INT64_MAX || next < INT64_MIN) {
        return { reply: error('ERR increment or decrement would overflow') };
      }
      store.set(key, Buffer.from(String(next)));
      return { reply: integer(next) };
    }
    case 'keys': {
      if (n !== 2) return { reply: arity(name) };
      const re = globToRegExp(key);
      return {
        reply: array(
          store
            .keys()
            .filter((k) => re.test(k))
            .map((k) => bulk(Buffer.from(k, 'latin1'))),
        ),
      };
    }
    case 'dbsize':
      return { reply: integer(store.keys().length) };
    case 'flushdb':
    case 'flushall':
      store.clear();
      return { reply: OK };
    case 'command':
      // redis-cli asks for command docs when interactive; an empty answer is allowed.
      return { reply: array([]) };
    case 'quit':
      return { reply: OK, close: true };
    default: {
      const rest = args
        .slice(1)
        .map((a) => `'${a.toString('latin1')}'`)
        .join(' ');
      return {
        reply: error(
          `ERR unknown command '${args[0]?.toString('latin1') ?? ''}', with args beginning with: ${rest}`,
        ),
      };
    }
  }
}

/** The server: one coroutine per connection reading commands and writing replies in order. */
export class RespServer extends TCPServer {
  readonly store = new Store();
  readonly limits: RespLimits;

  constructor(limits: Partial<RespLimits> = {}) {
    super();
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  override async handleStream(stream: IOStream, _address: StreamAddress): Promise<void> {
    stream.setNodelay(true);
    for (;;) {
      let args: Buffer[];
      try {
        args = await readCommand(stream, this.limits);
      } catch (e) {
        // A line past maxLine: the stream has already closed itself, nothing to answer.
        if (e instanceof UnsatisfiableReadError) return;
        if (!(e instanceof ProtocolError)) throw e;
        await stream.write(error(`ERR Protocol error: ${e.message}`));
        stream.close();
        return;
      }
      if (args.length === 0) continue; // an empty inline line
      const outcome = execute(this.store, args);
      const written = stream.write(outcome.reply);
      if (outcome.close) {
        await written;
        stream.close();
        return;
      }
      // With pipelined commands still buffered, answer them before waiting for the flush.
      if (stream.readBufferSize === 0) await written;
    }
  }
}

if (import.meta.filename === process.argv[1]) {
  const port = Number(process.argv[2] ?? 6380);
  const server = new RespServer();
  const bound = await server.listen(port, '127.0.0.1');
  console.log(`RESP server listening on 127.0.0.1:${bound}`);
  process.on('SIGINT', () => {
    server.stop();
    process.exit(0);
  });
}
