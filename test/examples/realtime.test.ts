// examples/realtime/server.ts: one channel held three ways — long poll, Server-Sent Events,
// WebSocket — each of which disconnects, misses publications, reconnects from its last
// position and gets exactly what it missed (no gap, no duplicate); and a position that cannot
// be resumed from gets a reload, never a 500.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import { MemoryBroker } from '../../src/broker/index.ts';
import { startTestServer, type TestServer } from '../../src/testing.ts';
import { websocketConnect } from '../../src/websocket/index.ts';
import { makeApp, type WireMessage } from '../../examples/realtime/server.ts';

const CHANNEL = 'news';

interface Harness {
  srv: TestServer;
  broker: MemoryBroker;
  /** Publish `n` items through the HTTP API; their positions. */
  publish(...items: string[]): Promise<string[]>;
  close(): Promise<void>;
}

async function harness(historySize?: number): Promise<Harness> {
  const broker = new MemoryBroker(historySize === undefined ? {} : { historySize });
  const srv = await startTestServer(makeApp(broker));
  return {
    srv,
    broker,
    async publish(...items) {
      const positions: string[] = [];
      for (const item of items) {
        const response = await srv.fetch(`/channels/${CHANNEL}`, {
          method: 'POST',
          body: JSON.stringify({ item }),
        });
        assert.equal(response.status, 200);
        positions.push(((await response.json()) as { position: string }).position);
      }
      return positions;
    },
    async close() {
      await srv.close();
      await broker.close();
    },
  };
}

const items = (messages: WireMessage[]): string[] =>
  messages.map((m) => (m.data as { item: string }).item);

/** The channel's position before anything was published. */
async function start(broker: MemoryBroker): Promise<string> {
  const { position } = await broker.history(CHANNEL, { limit: 0 });
  return `${position.offset}@${position.epoch}`;
}

/** An SSE client collecting messages and reload events. */
function sse(url: string, headers: Record<string, string> = {}) {
  const messages: WireMessage[] = [];
  const reloads: unknown[] = [];
  let markOpen!: () => void;
  const opened = new Promise<void>((resolve) => (markOpen = resolve));
  const source = new EventSource(url, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...headers } }),
  });
  source.onopen = () => markOpen();
  source.onmessage = (event) => {
    messages.push({ position: event.lastEventId, data: JSON.parse(event.data) as unknown });
  };
  source.addEventListener('reload', (event) => {
    reloads.push(JSON.parse(event.data));
    source.close();
  });
  return { messages, reloads, opened, close: () => source.close() };
}

async function until(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('examples/realtime: one channel held three ways', () => {
  test('long poll: disconnect, publish, reconnect from the cursor — exactly what was missed', async () => {
    const h = await harness();
    try {
      const poll = async (since: string) => {
        const response = await h.srv.fetch(`/channels/${CHANNEL}/poll?since=${since}`);
        assert.equal(response.status, 200);
        return (await response.json()) as { messages: WireMessage[]; reload?: true };
      };
      // A held poll gets the next publication.
      const held = poll(await start(h.broker));
      await new Promise((resolve) => setTimeout(resolve, 50));
      const [p1] = await h.publish('a');
      const first = await held;
      assert.deepEqual(first.messages, [{ position: p1, data: { item: 'a' } }]);

      // Away (no poll held) while three are published; the next poll from the last
      // position answers at once with exactly those three.
      const missed = await h.publish('b', 'c', 'd');
      const back = await poll(p1!);
      assert.deepEqual(
        back.messages.map((m) => m.position),
        missed,
      );
      assert.deepEqual(items(back.messages), ['b', 'c', 'd']);
      // Up to date: the next poll waits for the next one, and gets only it.
      const next = poll(missed.at(-1)!);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await h.publish('e');
      assert.deepEqual(items((await next).messages), ['e']);
    } finally {
      await h.close();
    }
  });

  test('SSE: the reconnect sends Last-Event-ID and gets exactly what was missed', async () => {
    const h = await harness();
    const clients: Array<ReturnType<typeof sse>> = [];
    try {
      const first = sse(h.srv.url(`/channels/${CHANNEL}/events`));
      clients.push(first);
      await first.opened;
      await h.publish('a', 'b');
      await until(() => first.messages.length === 2, 'two live events');
      first.close();

      const missed = await h.publish('c', 'd', 'e');
      const last = first.messages.at(-1)!.position;
      const again = sse(h.srv.url(`/channels/${CHANNEL}/events`), { 'Last-Event-ID': last });
      clients.push(again);
      await until(() => again.messages.length === 3, 'the three missed events');
      assert.deepEqual(
        again.messages.map((m) => m.position),
        missed,
      );
      await h.publish('f');
      await until(() => again.messages.length === 4, 'the next live event');
      assert.deepEqual(items(again.messages), ['c', 'd', 'e', 'f']);
    } finally {
      for (const client of clients) client.close();
      await h.close();
    }
  });

  test('WebSocket: reconnecting to /ws/POSITION gets exactly what was missed', async () => {
    const h = await harness();
    try {
      const read = async (conn: Awaited<ReturnType<typeof websocketConnect>>) =>
        JSON.parse(String(await conn.readMessage())) as WireMessage & { reload?: true };
      const first = await websocketConnect(
        h.srv.url(`/channels/${CHANNEL}/ws`).replace('http', 'ws'),
      );
      await h.publish('a', 'b');
      const seen = [await read(first), await read(first)];
      assert.deepEqual(items(seen), ['a', 'b']);
      first.close();
      await first.readMessage(); // the close handshake is done

      const missed = await h.publish('c', 'd', 'e');
      const url = h.srv.url(`/channels/${CHANNEL}/ws/${encodeURIComponent(seen[1]!.position)}`);
      const again = await websocketConnect(url.replace('http', 'ws'));
      const got = [await read(again), await read(again), await read(again)];
      assert.deepEqual(
        got.map((m) => m.position),
        missed,
      );
      await h.publish('f');
      assert.deepEqual(items([await read(again)]), ['f']);
      again.close();
      await again.readMessage();
    } finally {
      await h.close();
    }
  });

  test('a position that cannot be resumed from gets a reload, on each of the three', async () => {
    const h = await harness(2);
    try {
      const positions = await h.publish('a', 'b', 'c', 'd');
      const epoch = positions[0]!.split('@')[1]!;
      for (const since of [`1@${epoch}`, `9@${epoch}`, '1@other', 'nonsense']) {
        const poll = await h.srv.fetch(
          `/channels/${CHANNEL}/poll?since=${encodeURIComponent(since)}`,
        );
        assert.equal(poll.status, 200, since);
        assert.equal(((await poll.json()) as { reload?: true }).reload, true, since);

        const events = sse(h.srv.url(`/channels/${CHANNEL}/events`), { 'Last-Event-ID': since });
        try {
          await until(() => events.reloads.length === 1, `an SSE reload for ${since}`);
        } finally {
          events.close();
        }

        const url = h.srv.url(`/channels/${CHANNEL}/ws/${encodeURIComponent(since)}`);
        const ws = await websocketConnect(url.replace('http', 'ws'));
        assert.equal(
          (JSON.parse(String(await ws.readMessage())) as { reload?: true }).reload,
          true,
        );
        assert.equal(await ws.readMessage(), null);
        assert.equal(ws.closeCode, 4000, since);
      }
    } finally {
      await h.close();
    }
  });
});
