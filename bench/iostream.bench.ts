/**
 * IOStream against raw `net.Socket` code doing the same work, side by side:
 *
 * - echo round-trips/s over 64 connections (64-byte lines; typhoon: a `TCPServer` whose
 *   `handleStream` loops `readUntil('\n')` + `await write()`, clients looping `write()` +
 *   `readUntil('\n')`; raw: `data` listeners splitting lines by hand on both ends);
 * - bulk throughput in MB/s over 64 connections (clients write 64 KiB chunks honouring
 *   backpressure, the server reads and counts them);
 * - memory per idle connection (a server holding N idle connections, each with a read pending;
 *   measured in a child process after GC, as JS heap + external and as RSS deltas).
 *
 * Server and clients share this process (one core), so the ratio is of total CPU per unit of
 * work: kernel costs are the same on both sides, the difference is the stream code.
 */
import * as net from 'node:net';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Bench, BenchFactory } from './harness.ts';
import { IOStream } from '../src/iostream/index.ts';
import { TCPServer } from '../src/tcpserver.ts';

const CONNECTIONS = 64;
const LINE = Buffer.from('x'.repeat(63) + '\n');
const CHUNK = Buffer.alloc(64 * 1024, 'b');
const NL = 0x0a;

// --- servers -----------------------------------------------------------------------------------

class TyphoonEcho extends TCPServer {
  override async handleStream(stream: IOStream): Promise<void> {
    stream.setNodelay(true);
    for (;;) await stream.write(await stream.readUntil('\n'));
  }
}

// Echo every complete line of `pending + chunk`; returns the incomplete rest (or null).
function echoLines(socket: net.Socket, pending: Buffer | null, chunk: Buffer): Buffer | null {
  const data = pending === null ? chunk : Buffer.concat([pending, chunk]);
  let start = 0;
  let idx: number;
  while ((idx = data.indexOf(NL, start)) >= 0) {
    socket.write(data.subarray(start, idx + 1));
    start = idx + 1;
  }
  return start < data.length ? data.subarray(start) : null;
}

function rawEchoServer(): net.Server {
  return net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => {});
    let pending: Buffer | null = null;
    socket.on('data', (chunk: Buffer) => {
      pending = echoLines(socket, pending, chunk);
    });
  });
}

const sink = { typhoon: 0, raw: 0 };

class TyphoonSink extends TCPServer {
  override async handleStream(stream: IOStream): Promise<void> {
    for (;;) {
      // Not `sink.typhoon += await …`: that reads the counter before the await and loses updates.
      const chunk = await stream.readBytes(CHUNK.length, { partial: true });
      sink.typhoon += chunk.length;
    }
  }
}

function rawSinkServer(): net.Server {
  return net.createServer((socket) => {
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      sink.raw += chunk.length;
    });
  });
}

// The same echo in Node's own coroutine style: an async function per connection iterating the
// socket (`for await`). Only the idle-memory benchmark uses it, to price the programming model
// apart from typhoon: both hold a suspended coroutine per connection.
function rawAsyncEchoServer(): net.Server {
  return net.createServer((socket) => {
    socket.on('error', () => {});
    void (async () => {
      let pending: Buffer | null = null;
      try {
        for await (const chunk of socket as AsyncIterable<Buffer>) {
          pending = echoLines(socket, pending, chunk);
        }
      } catch {
        // the peer went away
      }
    })();
  });
}

// The leanest coroutine per connection on a raw socket, with no framework: a `data` listener
// resolves the one pending Promise an async function awaits. The idle-memory benchmark uses it
// to hold the programming model equal: what it costs over `rawEchoServer` is the coroutine's.
function rawCoroutineEchoServer(): net.Server {
  return net.createServer((socket) => {
    socket.on('error', () => {});
    let wake: ((chunk: Buffer | null) => void) | null = null;
    socket.on('data', (chunk: Buffer) => wake?.(chunk));
    socket.on('close', () => wake?.(null));
    void (async () => {
      let pending: Buffer | null = null;
      for (;;) {
        const chunk = await new Promise<Buffer | null>((resolve) => (wake = resolve));
        if (chunk === null) return;
        pending = echoLines(socket, pending, chunk);
      }
    })();
  });
}

async function listenRaw(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

async function rawConnect(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  return socket;
}

async function typhoonConnect(port: number): Promise<IOStream> {
  const stream = new IOStream(new net.Socket());
  await stream.connect(port, '127.0.0.1');
  stream.setNodelay(true);
  return stream;
}

// --- client loops ------------------------------------------------------------------------------

async function typhoonEchoLoop(stream: IOStream, deadline: number): Promise<number> {
  let n = 0;
  while (performance.now() < deadline) {
    void stream.write(LINE);
    await stream.readUntil('\n');
    n++;
  }
  return n;
}

function rawEchoLoop(socket: net.Socket, deadline: number): Promise<number> {
  return new Promise((resolve) => {
    let n = 0;
    let pending: Buffer | null = null;
    const onData = (chunk: Buffer) => {
      const data = pending === null ? chunk : Buffer.concat([pending, chunk]);
      let start = 0;
      let idx: number;
      while ((idx = data.indexOf(NL, start)) >= 0) {
        n++;
        start = idx + 1;
        if (performance.now() < deadline) {
          socket.write(LINE);
        } else {
          socket.off('data', onData);
          resolve(n);
          return;
        }
      }
      pending = start < data.length ? data.subarray(start) : null;
    };
    socket.on('data', onData);
    socket.write(LINE);
  });
}

async function typhoonBulkLoop(stream: IOStream, deadline: number): Promise<void> {
  while (performance.now() < deadline) await stream.write(CHUNK);
}

function rawBulkLoop(socket: net.Socket, deadline: number): Promise<void> {
  return new Promise((resolve) => {
    const pump = () => {
      while (performance.now() < deadline) {
        if (!socket.write(CHUNK)) {
          socket.once('drain', pump);
          return;
        }
      }
      // Like awaiting the last write: done once everything is handed to the OS.
      if (socket.writableLength === 0) resolve();
      else socket.once('drain', resolve);
    };
    pump();
  });
}

// --- idle-connection memory, measured in a child process ---------------------------------------
//
// Each contender keeps what its natural idle echo server keeps per connection, and nothing
// else: raw, the socket with its `data` and `error` listeners (closures over the line buffer);
// typhoon, the socket, its IOStream, the `handleStream` coroutine suspended in `readUntil` (an
// async frame plus the pending Future), TCPServer's hook for the handler's rejection, and the
// peer address Node caches on the socket once `handleStream`'s `address` is read. The
// coroutine and its pending Future are the price of the programming model (~440 bytes in
// Node 24), so the gap is not all overhead. RSS after a burst of accepts also carries V8's
// young generation, which grows with the number of surviving objects (about 12 MB for typhoon,
// 4 MB for raw, at 2000 connections), so read the heap figure for per-connection retention.
// Two more contenders serve the raw socket from a coroutine without typhoon: Node's own style
// (an async function doing `for await` over the socket), and the leanest one can write (an
// async function awaiting one Promise that a `data` listener resolves). They show what a
// coroutine per connection costs before any framework.

interface MemorySample {
  heapPerConnection: number;
  rssPerConnection: number;
}

async function idleServerChild(kind: string, count: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc!;
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  let accepted = 0;
  let port: number;
  if (kind === 'typhoon') {
    class Idle extends TyphoonEcho {
      override handleStream(stream: IOStream): Promise<void> {
        accepted++;
        return super.handleStream(stream);
      }
    }
    port = await new Idle().listen(0, '127.0.0.1');
  } else {
    const server =
      kind === 'raw-async'
        ? rawAsyncEchoServer()
        : kind === 'raw-coroutine'
          ? rawCoroutineEchoServer()
          : rawEchoServer();
    server.on('connection', () => accepted++);
    port = await listenRaw(server);
  }
  await settle();
  const before = process.memoryUsage();
  process.stdout.write(`port ${port}\n`);
  while (accepted < count) await new Promise((resolve) => setTimeout(resolve, 5));
  await settle();
  const after = process.memoryUsage();
  const sample: MemorySample = {
    heapPerConnection:
      (after.heapUsed + after.external - before.heapUsed - before.external) / count,
    rssPerConnection: (after.rss - before.rss) / count,
  };
  process.stdout.write(`result ${JSON.stringify(sample)}\n`);
}

async function measureIdle(
  kind: 'typhoon' | 'raw' | 'raw-async' | 'raw-coroutine',
  count: number,
): Promise<MemorySample> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(
    process.execPath,
    ['--expose-gc', self, '--idle-server', kind, String(count)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const sockets: net.Socket[] = [];
  try {
    let out = '';
    const lines = (pattern: RegExp) =>
      new Promise<RegExpExecArray>((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(out);
          if (match) {
            child.stdout.off('data', onData);
            resolve(match);
          }
        };
        const onData = (chunk: Buffer) => {
          out += chunk.toString();
          check();
        };
        child.stdout.on('data', onData);
        child.once('exit', (code) => reject(new Error(`idle server exited with ${code}`)));
        check();
      });
    const port = Number((await lines(/port (\d+)\n/))[1]);
    for (let i = 0; i < count; i++) {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => {});
      sockets.push(socket);
      if (i % 100 === 99) await new Promise((resolve) => socket.once('connect', resolve));
    }
    return JSON.parse((await lines(/result (.*)\n/))[1]!) as MemorySample;
  } finally {
    for (const socket of sockets) socket.destroy();
    child.kill();
  }
}

// --- the benchmarks ----------------------------------------------------------------------------

const factory: BenchFactory = ({ smoke, sampleMs }) => {
  let typhoonEcho: TyphoonEcho;
  let rawEcho: net.Server;
  let typhoonEchoClients: IOStream[] = [];
  let rawEchoClients: net.Socket[] = [];
  let typhoonSink: TyphoonSink;
  let rawSink: net.Server;
  let typhoonBulkClients: IOStream[] = [];
  let rawBulkClients: net.Socket[] = [];
  const idleCount = smoke ? 300 : 2000;

  const echo: Bench = {
    name: `echo round-trips, ${CONNECTIONS} connections, 64-byte lines`,
    unit: 'round-trips/s',
    higherIsBetter: true,
    target: 'typhoon >= 0.85x raw net',
    async setup() {
      typhoonEcho = new TyphoonEcho();
      const tPort = await typhoonEcho.listen(0, '127.0.0.1');
      rawEcho = rawEchoServer();
      const rPort = await listenRaw(rawEcho);
      for (let i = 0; i < CONNECTIONS; i++) {
        typhoonEchoClients.push(await typhoonConnect(tPort));
        rawEchoClients.push(await rawConnect(rPort));
      }
    },
    async teardown() {
      typhoonEchoClients.forEach((s) => s.close());
      rawEchoClients.forEach((s) => s.destroy());
      typhoonEchoClients = [];
      rawEchoClients = [];
      typhoonEcho.stop();
      rawEcho.close();
    },
    contenders: [
      {
        name: 'typhoon IOStream',
        async measure() {
          const start = performance.now();
          const counts = await Promise.all(
            typhoonEchoClients.map((s) => typhoonEchoLoop(s, start + sampleMs)),
          );
          return (counts.reduce((a, b) => a + b, 0) * 1000) / (performance.now() - start);
        },
      },
      {
        name: 'raw net.Socket',
        async measure() {
          const start = performance.now();
          const counts = await Promise.all(
            rawEchoClients.map((s) => rawEchoLoop(s, start + sampleMs)),
          );
          return (counts.reduce((a, b) => a + b, 0) * 1000) / (performance.now() - start);
        },
      },
    ],
  };

  const bulk: Bench = {
    name: `bulk throughput, ${CONNECTIONS} connections, 64 KiB writes`,
    unit: 'MB/s',
    higherIsBetter: true,
    target: 'typhoon >= 0.9x raw net',
    async setup() {
      typhoonSink = new TyphoonSink();
      const tPort = await typhoonSink.listen(0, '127.0.0.1');
      rawSink = rawSinkServer();
      const rPort = await listenRaw(rawSink);
      for (let i = 0; i < CONNECTIONS; i++) {
        typhoonBulkClients.push(await typhoonConnect(tPort));
        rawBulkClients.push(await rawConnect(rPort));
      }
    },
    async teardown() {
      typhoonBulkClients.forEach((s) => s.close());
      rawBulkClients.forEach((s) => s.destroy());
      typhoonBulkClients = [];
      rawBulkClients = [];
      typhoonSink.stop();
      rawSink.close();
    },
    contenders: [
      {
        name: 'typhoon IOStream',
        async measure() {
          const start = performance.now();
          const before = sink.typhoon;
          await Promise.all(typhoonBulkClients.map((s) => typhoonBulkLoop(s, start + sampleMs)));
          // Let the server drain what is in flight, so both sides count delivered bytes.
          let last = -1;
          while (last !== sink.typhoon) {
            last = sink.typhoon;
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
          return (sink.typhoon - before) / 1e6 / ((performance.now() - start) / 1000);
        },
      },
      {
        name: 'raw net.Socket',
        async measure() {
          const start = performance.now();
          const before = sink.raw;
          await Promise.all(rawBulkClients.map((s) => rawBulkLoop(s, start + sampleMs)));
          let last = -1;
          while (last !== sink.raw) {
            last = sink.raw;
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
          return (sink.raw - before) / 1e6 / ((performance.now() - start) / 1000);
        },
      },
    ],
  };

  const memoryBench = (metric: keyof MemorySample, label: string): Bench => ({
    name: `memory per idle connection (${label}), ${idleCount} connections, server side`,
    unit: 'bytes/conn',
    higherIsBetter: false,
    target: 'typhoon <= 1.2x raw net',
    rounds: 3,
    contenders: [
      {
        name: 'typhoon IOStream',
        measure: async () => (await measureIdle('typhoon', idleCount))[metric],
      },
      {
        name: 'raw net.Socket',
        measure: async () => (await measureIdle('raw', idleCount))[metric],
      },
      {
        name: 'raw net.Socket in an async function (for await)',
        measure: async () => (await measureIdle('raw-async', idleCount))[metric],
      },
      {
        name: 'raw net.Socket, an async function awaiting one Promise (leanest coroutine)',
        measure: async () => (await measureIdle('raw-coroutine', idleCount))[metric],
      },
    ],
  });

  return [
    echo,
    bulk,
    memoryBench('heapPerConnection', 'JS heap + external'),
    memoryBench('rssPerConnection', 'RSS'),
  ];
};

export default factory;

if (process.argv[2] === '--idle-server') {
  await idleServerChild(process.argv[3] ?? 'raw', Number(process.argv[4] ?? 1000));
}
