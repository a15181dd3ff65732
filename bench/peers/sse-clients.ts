/**
 * A client process for the scale and soak benchmarks: holds many Server-Sent Events
 * connections as raw TCP sockets (cheap enough for ~15 000 per process, below the hard limit
 * of 20 000 descriptors) and reports to its parent over the IPC channel (`child_process.fork`).
 *
 * Connections leave from many source addresses (`localAddress`, 127.0.0.2 …): Linux binds
 * quickly only a few thousand ports per address. Opening is paced: at most `concurrency`
 * connections of this process wait for their response headers at once, so all client
 * processes together stay below the server's listen backlog (511) and none is reset.
 *
 * Two modes, chosen by the first message ({@link ScaleStart} or {@link SoakStart}):
 *
 * - `scale`: every client reads one channel; for each event whose data is `{"k":…, "t":…}`
 *   it notes `now − t` (ms, on the system-wide monotonic clock every process shares), and the
 *   parent collects those latencies per broadcast `k`.
 * - `soak`: every client reconnects at random moments with `Last-Event-ID`, and checks that
 *   the ids of its channel arrive as 1, 2, 3 … without a gap and without a repeat. It counts
 *   repeats (duplicates handed to the page: nothing is deduplicated here) and gaps (lost).
 *
 * The process exits when its parent goes away (the IPC channel closes), so a crashed benchmark
 * leaves no client behind.
 */
import * as net from 'node:net';

/** Monotonic milliseconds, the same clock in every process of this machine. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

interface Common {
  port: number;
  /** Source addresses to spread the connections over. */
  addresses: string[];
  /** Connections waiting for their response headers at once in this process. */
  concurrency: number;
  /** Give up opening after this long (ms). */
  connectTimeoutMs: number;
}

/** Open `count` connections to `path`; report latencies of the `{k, t}` events. */
export interface ScaleStart extends Common {
  mode: 'scale';
  path: string;
  count: number;
}

/** Open `count` connections spread over `channels`, each resuming from its `since` id. */
export interface SoakStart extends Common {
  mode: 'soak';
  /** Per channel: its URL path and the id to resume after. */
  channels: Array<{ path: string; since: string }>;
  count: number;
  /** Mean time between a client's reconnections (exponentially distributed), ms. */
  reconnectMeanMs: number;
}

/** Messages from the parent after the start message. */
export type ParentMessage =
  | ScaleStart
  | SoakStart
  | { type: 'collect'; k: number }
  | { type: 'quiet' }
  | { type: 'final'; latest: number[] }
  | { type: 'close' };

/** Messages to the parent. */
export type ChildMessage =
  | { type: 'opened'; open: number; failed: number; firstError?: string }
  | { type: 'complete'; k: number }
  | { type: 'latencies'; k: number; values: number[]; open: number }
  | { type: 'soak'; stats: SoakStats };

/** What a soak client process counted. */
export interface SoakStats {
  clients: number;
  /** Events handed to the page (every id seen, repeats included). */
  events: number;
  /** Ids seen a second time. */
  duplicates: number;
  /** Ids never seen (gaps, and the tail missing at the end). */
  lost: number;
  /** Of `lost`: the ids after a client's last one, up to its channel's latest. */
  behind?: number;
  /** Clients behind their channel's latest, and of those, how many heard nothing for 5 s. */
  behindClients?: number;
  silentClients?: number;
  /** Reconnections made on purpose (random), and after the server closed the stream. */
  reconnects: number;
  serverCloses: number;
  /** Connection attempts that failed or got another status than 200. */
  failures: number;
  /** `reset` events (the server could not resume the position) and epoch changes. */
  resets: number;
  firstProblem?: string;
}

const HEADERS_TIMEOUT_MS = 15_000;

const send = (message: ChildMessage): void => {
  process.send?.(message);
};

/** Incremental `text/event-stream` reader for one connection: calls `onEvent(id, data)`. */
class EventReader {
  #head = true;
  #rest = '';
  status = 0;
  onHeaders: () => void = () => {};
  onEvent: (id: string | null, data: string | null, type: string | null) => void = () => {};

  feed(chunk: Buffer): void {
    let text = this.#rest + chunk.toString('utf8');
    if (this.#head) {
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) {
        this.#rest = text;
        return;
      }
      this.status = Number(text.slice(9, 12));
      this.#head = false;
      text = text.slice(end + 4);
      this.onHeaders();
    }
    let start = 0;
    for (;;) {
      const end = text.indexOf('\n\n', start);
      if (end < 0) break;
      this.#block(text.slice(start, end));
      start = end + 2;
    }
    // Heartbeat comments (":\n") join the next event's block, where they are skipped.
    this.#rest = start === 0 ? text : text.slice(start);
  }

  #block(block: string): void {
    let id: string | null = null;
    let data: string | null = null;
    let type: string | null = null;
    for (const line of block.split('\n')) {
      if (line.startsWith('data: '))
        data = data === null ? line.slice(6) : `${data}\n${line.slice(6)}`;
      else if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('event: ')) type = line.slice(7);
    }
    if (id !== null || data !== null || type !== null) this.onEvent(id, data, type);
  }
}

// `Connection: close`: the reader does not parse chunked framing, so it could not tell a stream
// the server ended (a handler that failed or finished) from one that went quiet; asked to
// close, the server closes the socket when the response ends, and the client reconnects.
function request(port: number, path: string, lastEventId: string | null): Buffer {
  return Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n` +
      'Connection: close\r\n' +
      (lastEventId === null ? '' : `Last-Event-ID: ${lastEventId}\r\n`) +
      '\r\n',
  );
}

/** Open connections with at most `concurrency` waiting for headers; resolves when all tried. */
async function paced(
  count: number,
  common: Common,
  openOne: (index: number, address: string) => Promise<void>,
): Promise<{ failed: number; firstError?: string }> {
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  const deadline = Date.now() + common.connectTimeoutMs;
  const worker = async (): Promise<void> => {
    while (next < count && Date.now() < deadline) {
      const index = next++;
      try {
        await openOne(index, common.addresses[index % common.addresses.length]!);
      } catch (error) {
        failed++;
        firstError ??= String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(common.concurrency, count) }, worker));
  failed += count - next;
  return firstError === undefined ? { failed } : { failed, firstError };
}

// ---- scale ---------------------------------------------------------------------------------

async function runScale(start: ScaleStart): Promise<void> {
  const latencies = new Map<number, number[]>();
  const sockets: net.Socket[] = [];
  let open = 0;
  const onEvent = (_id: string | null, data: string | null): void => {
    if (data === null) return;
    const now = nowMs();
    const { k, t } = JSON.parse(data) as { k: number; t: number };
    let list = latencies.get(k);
    if (list === undefined) latencies.set(k, (list = []));
    list.push(now - t);
    if (list.length === open) send({ type: 'complete', k });
  };
  const bytes = request(start.port, start.path, null);
  const result = await paced(start.count, start, (_index, localAddress) => {
    return new Promise<void>((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port: start.port, localAddress });
      const reader = new EventReader();
      let headers = false;
      socket.on('data', (chunk: Buffer) => reader.feed(chunk));
      socket.on('error', (error) => {
        if (!headers) reject(error);
      });
      socket.on('close', () => {
        if (headers) open--;
        else reject(new Error('closed before the response headers'));
      });
      socket.once('connect', () => socket.write(bytes));
      reader.onHeaders = () => {
        if (reader.status !== 200) {
          socket.destroy();
          reject(new Error(`status ${reader.status}`));
          return;
        }
        headers = true;
        open++;
        sockets.push(socket);
        reader.onEvent = onEvent;
        resolve();
      };
    });
  });
  send({ type: 'opened', open, ...result });
  process.on('message', (message: ParentMessage) => {
    if ('type' in message && message.type === 'collect') {
      send({ type: 'latencies', k: message.k, values: latencies.get(message.k) ?? [], open });
      latencies.delete(message.k);
    } else if ('type' in message && message.type === 'close') {
      for (const socket of sockets) socket.destroy();
      process.exit(0);
    }
  });
}

// ---- soak ----------------------------------------------------------------------------------

interface SoakClient {
  channel: number;
  /** Offset and epoch of the last id seen. */
  last: number;
  epoch: string;
  socket: net.Socket | null;
  timer: ReturnType<typeof setTimeout> | null;
  /** When the last event arrived (Date.now()). */
  heardAt: number;
  state: 'connecting' | 'awaiting headers' | 'streaming';
}

async function runSoak(start: SoakStart): Promise<void> {
  const stats: SoakStats = {
    clients: start.count,
    events: 0,
    duplicates: 0,
    lost: 0,
    reconnects: 0,
    serverCloses: 0,
    failures: 0,
    resets: 0,
  };
  let quiet = false;
  let address = 0;
  const problem = (text: string): void => {
    stats.firstProblem ??= text;
  };
  const clients: SoakClient[] = [];
  for (let i = 0; i < start.count; i++) {
    const channel = i % start.channels.length;
    const [offset, epoch] = start.channels[channel]!.since.split('@') as [string, string];
    clients.push({
      channel,
      last: Number(offset),
      epoch,
      socket: null,
      timer: null,
      heardAt: 0,
      state: 'connecting',
    });
  }

  const schedule = (client: SoakClient, ms: number, why: 'random' | 'closed'): void => {
    if (client.timer !== null) clearTimeout(client.timer);
    client.timer = setTimeout(() => {
      client.timer = null;
      if (quiet && why === 'random') return;
      if (why === 'random') stats.reconnects++;
      client.socket?.destroy();
      client.socket = null;
      void connect(client).catch((error: unknown) => {
        stats.failures++;
        problem(String(error));
        schedule(client, 500, 'closed');
      });
    }, ms);
  };
  const randomDelay = (): number => -Math.log(1 - Math.random()) * start.reconnectMeanMs;

  const connect = (client: SoakClient): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const localAddress = start.addresses[address++ % start.addresses.length]!;
      const socket = net.connect({ host: '127.0.0.1', port: start.port, localAddress });
      client.socket = socket;
      client.state = 'connecting';
      const reader = new EventReader();
      let headers = false;
      // As a page would, give up on a connection that brings no response, and try again (the
      // kernel retries a dropped SYN only after 1, 3, 7 … s).
      const giveUp = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no response headers within ${HEADERS_TIMEOUT_MS} ms (${client.state})`));
      }, HEADERS_TIMEOUT_MS);
      socket.on('data', (chunk: Buffer) => reader.feed(chunk));
      socket.on('error', (error) => {
        if (!headers) reject(error);
      });
      socket.on('close', () => {
        clearTimeout(giveUp);
        if (!headers) {
          reject(new Error('closed before the response headers'));
          return;
        }
        if (client.socket !== socket) return; // we closed it to reconnect
        // The server ended the stream: reconnect as EventSource does.
        stats.serverCloses++;
        client.socket = null;
        schedule(client, 200 + Math.random() * 800, 'closed');
      });
      socket.once('connect', () => {
        client.state = 'awaiting headers';
        socket.write(
          request(
            start.port,
            start.channels[client.channel]!.path,
            `${client.last}@${client.epoch}`,
          ),
        );
      });
      reader.onHeaders = () => {
        clearTimeout(giveUp);
        client.state = 'streaming';
        if (reader.status !== 200) {
          socket.destroy();
          reject(new Error(`status ${reader.status}`));
          return;
        }
        headers = true;
        if (!quiet) schedule(client, randomDelay(), 'random');
        resolve();
      };
      reader.onEvent = (id, _data, type) => {
        if (type === 'reset') {
          stats.resets++;
          problem('the server could not resume a position');
          return;
        }
        if (id === null) return;
        stats.events++;
        client.heardAt = Date.now();
        const at = id.indexOf('@');
        const offset = Number(id.slice(0, at));
        const epoch = id.slice(at + 1);
        if (epoch !== client.epoch) {
          stats.resets++;
          problem(`epoch changed from ${client.epoch} to ${epoch}`);
          client.epoch = epoch;
          client.last = offset;
          return;
        }
        if (offset <= client.last) {
          stats.duplicates++;
          problem(`id ${id} seen again (last ${client.last})`);
          return;
        }
        if (offset > client.last + 1) {
          stats.lost += offset - client.last - 1;
          problem(`ids ${client.last + 1}..${offset - 1} skipped`);
        }
        client.last = offset;
      };
    });

  const result = await paced(start.count, start, (index) =>
    connect(clients[index]!).catch((error: unknown) => {
      stats.failures++;
      schedule(clients[index]!, 500, 'closed');
      throw error;
    }),
  );
  send({ type: 'opened', open: start.count - result.failed, ...result });
  process.on('message', (message: ParentMessage) => {
    if (!('type' in message)) return;
    if (message.type === 'quiet') {
      // Stop reconnecting on purpose; streams that are open keep reading.
      quiet = true;
      for (const client of clients) {
        if (client.timer !== null && client.socket !== null) {
          clearTimeout(client.timer);
          client.timer = null;
        }
      }
    } else if (message.type === 'final') {
      // Asked again while the last events still arrive: the tail is counted afresh each time.
      let behind = 0;
      let behindClients = 0;
      let silentClients = 0;
      let example: string | undefined;
      const now = Date.now();
      for (const client of clients) {
        const latest = message.latest[client.channel]!;
        if (latest > client.last) {
          behind += latest - client.last;
          behindClients++;
          if (now - client.heardAt > 5000) silentClients++;
          example ??=
            `a client ended at ${client.last}, its channel at ${latest}, ` +
            `last event ${now - client.heardAt} ms ago, socket ` +
            `${client.socket === null ? 'none' : client.socket.destroyed ? 'destroyed' : 'open'}, ` +
            client.state;
        }
      }
      const report = { ...stats, lost: stats.lost + behind, behind, behindClients, silentClients };
      if (example !== undefined) report.firstProblem ??= example;
      send({ type: 'soak', stats: report });
    } else if (message.type === 'close') {
      for (const client of clients) {
        if (client.timer !== null) clearTimeout(client.timer);
        client.socket?.destroy();
      }
      process.exit(0);
    }
  });
}

process.on('disconnect', () => process.exit(0));
process.once('message', (message: ParentMessage) => {
  if ('mode' in message && message.mode === 'scale') void runScale(message);
  else if ('mode' in message && message.mode === 'soak') void runSoak(message);
});
