// EventSourceHandler.relay(): a broker stream (pushed, no promise per event) and any other async
// iterable sent as events over a real socket: order, resume by Last-Event-ID, the recovery
// error, one encoding per publication, how it ends (client gone, finish(), a failing toEvent),
// and what a reader that stops costs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as net from 'node:net';
import { EventSourceHandler, type ServerSentEvent } from '../../src/index.ts';
import {
  BrokerRecoveryError,
  MemoryBroker,
  formatPosition,
  parsePosition,
  type Broker,
  type Publication,
} from '../../src/broker/index.ts';
import { until } from '../helpers/wait.ts';
import { deferred, RawStream, serve } from '../helpers/sse.ts';

interface WireEvent {
  id?: string;
  event?: string;
  data?: string;
}

/** The events of an SSE body (comments skipped). */
function parseEvents(body: string): WireEvent[] {
  const out: WireEvent[] = [];
  for (const block of body.split('\n\n')) {
    const event: WireEvent = {};
    for (const line of block.split('\n')) {
      const colon = line.indexOf(': ');
      if (colon <= 0) continue;
      const field = line.slice(0, colon) as keyof WireEvent;
      event[field] =
        event[field] === undefined
          ? line.slice(colon + 2)
          : `${event[field]}\n${line.slice(colon + 2)}`;
    }
    if (Object.keys(event).length > 0) out.push(event);
  }
  return out;
}

const toEvent = (pub: Publication): ServerSentEvent => ({
  id: formatPosition(pub),
  data: pub.data,
});

/** The handler a user writes: relay the channel from Last-Event-ID, `reset` when it cannot. */
function relayHandler(broker: Broker, log: { ended: number; failures: unknown[] }) {
  return class Events extends EventSourceHandler {
    override async get(channel: string) {
      const last = this.lastEventId;
      try {
        await this.relay(
          broker.stream(channel, { since: last === null ? null : parsePosition(last) }),
          toEvent,
        );
        log.ended++;
      } catch (error) {
        log.failures.push(error);
        if (!(error instanceof BrokerRecoveryError)) throw error;
        await this.sendEvent({ event: 'reset', data: 'reload' });
      }
    }
  };
}

test('relay sends the history, then live publications, once each and in order; a client back with Last-Event-ID gets exactly what it missed', async () => {
  const broker = new MemoryBroker();
  const log = { ended: 0, failures: [] as unknown[] };
  const srv = await serve([['/events/(\\w+)', relayHandler(broker, log)]]);
  try {
    for (const n of [1, 2, 3]) await broker.publish('room', { n });
    const first = new RawStream(srv.port, '/events/room');
    await until(() => parseEvents(first.body).length === 3, 'the history');
    for (const n of [4, 5]) await broker.publish('room', { n });
    await until(() => parseEvents(first.body).length === 5, 'the live publications');
    const seen = parseEvents(first.body);
    assert.deepEqual(
      seen.map((e) => JSON.parse(e.data ?? 'null') as unknown),
      [1, 2, 3, 4, 5].map((n) => ({ n })),
    );
    const ids = seen.map((e) => parsePosition(e.id ?? ''));
    assert.deepEqual(
      ids.map((p) => p.offset),
      [1, 2, 3, 4, 5],
    );
    first.destroy();
    // The client left: relay() resolves (the stream ended with it).
    await until(() => log.ended === 1, 'relay() resolved after the client left');
    for (const n of [6, 7]) await broker.publish('room', { n });
    const back = new RawStream(srv.port, '/events/room', { 'Last-Event-ID': seen[4]?.id ?? '' });
    await until(() => parseEvents(back.body).length === 2, 'the missed publications');
    await broker.publish('room', { n: 8 });
    await until(() => parseEvents(back.body).length === 3, 'live after the catch-up');
    assert.deepEqual(
      parseEvents(back.body).map((e) => parsePosition(e.id ?? '').offset),
      [6, 7, 8],
    );
    back.destroy();
    await until(() => log.ended === 2, 'the second relay ended');
    assert.deepEqual(log.failures, []);
  } finally {
    await srv.close();
    await broker.close();
  }
});

test('a position the history no longer holds: relay fails with BrokerRecoveryError and the page is told to reload', async () => {
  const broker = new MemoryBroker({ historySize: 2 });
  const log = { ended: 0, failures: [] as unknown[] };
  const srv = await serve([['/events/(\\w+)', relayHandler(broker, log)]]);
  try {
    let epoch = '';
    for (let n = 1; n <= 5; n++) epoch = (await broker.publish('room', { n })).epoch;
    const client = new RawStream(srv.port, '/events/room', { 'Last-Event-ID': `1@${epoch}` });
    await until(() => client.ended, 'the end of the response');
    assert.deepEqual(parseEvents(client.body), [{ event: 'reset', data: 'reload' }]);
    assert.equal(log.failures.length, 1);
    assert.ok(log.failures[0] instanceof BrokerRecoveryError);
    client.destroy();
  } finally {
    await srv.close();
    await broker.close();
  }
});

test('one encoding per publication for every client sharing toEvent; another toEvent makes its own', async () => {
  const broker = new MemoryBroker();
  let shared = 0;
  const sharedEvent = (pub: Publication): ServerSentEvent => {
    shared++;
    return { id: formatPosition(pub), data: pub.data };
  };
  const typed = (pub: Publication): ServerSentEvent => ({ event: 'typed', data: pub.data });
  const open = new Set<EventSourceHandler>();
  class Shared extends EventSourceHandler {
    override async get() {
      open.add(this);
      await this.relay(broker.stream('news'), sharedEvent);
    }
  }
  class Typed extends EventSourceHandler {
    override async get() {
      open.add(this);
      await this.relay(broker.stream('news'), typed);
    }
  }
  const srv = await serve([
    ['/shared', Shared],
    ['/typed', Typed],
  ]);
  const clients: RawStream[] = [];
  try {
    for (let i = 0; i < 5; i++) clients.push(new RawStream(srv.port, '/shared'));
    const other = new RawStream(srv.port, '/typed');
    clients.push(other);
    await until(() => open.size === 6 && clients.every((c) => c.head !== null), 'six open streams');
    // Let every stream subscribe before publishing (a stream reads the history when it starts).
    await sleep(20);
    for (let n = 0; n < 4; n++) await broker.publish('news', { n });
    await until(() => clients.every((c) => parseEvents(c.body).length === 4), 'four events each');
    assert.equal(shared, 4, 'toEvent ran once per publication for five clients');
    for (const c of clients.slice(0, 5)) assert.equal(c.body, clients[0]?.body);
    assert.deepEqual(
      parseEvents(other.body).map((e) => e.event),
      ['typed', 'typed', 'typed', 'typed'],
    );
  } finally {
    for (const c of clients) c.destroy();
    await srv.close();
    await broker.close();
  }
});

test('any async iterable: relayed in order, and ended (its finally runs) when the client leaves', async () => {
  const state = { yielded: 0, finallyRan: false, ended: 0 };
  async function* ticks(): AsyncGenerator<number> {
    try {
      for (let i = 1; ; i++) {
        state.yielded = i;
        yield i;
        await sleep(5);
      }
    } finally {
      state.finallyRan = true;
    }
  }
  class Ticks extends EventSourceHandler {
    override async get() {
      // Numbers are not objects: each is encoded when it comes.
      await this.relay(ticks(), (i) => ({ id: i, data: `tick ${i}` }));
      state.ended++;
    }
  }
  const srv = await serve([['/ticks', Ticks]]);
  const client = new RawStream(srv.port, '/ticks');
  try {
    await until(() => parseEvents(client.body).length >= 5, 'five ticks');
    const events = parseEvents(client.body).slice(0, 5);
    assert.deepEqual(
      events.map((e) => [e.id, e.data]),
      [1, 2, 3, 4, 5].map((i) => [String(i), `tick ${i}`]),
    );
    client.destroy();
    await until(() => state.finallyRan && state.ended === 1, 'the generator ended with the client');
    const stoppedAt = state.yielded;
    await sleep(30);
    assert.equal(state.yielded, stoppedAt, 'nothing is pulled after the end');
  } finally {
    client.destroy();
    await srv.close();
  }
});

test('a pulled source that waits for ever: the relay still ends when the client leaves', async () => {
  let relayEnded = false;
  async function* oneThenSilence(): AsyncGenerator<string> {
    yield 'only';
    await new Promise(() => {}); // e.g. an idle queue: no next item, ever
  }
  class Silent extends EventSourceHandler {
    override async get() {
      await this.relay(oneThenSilence(), (text) => ({ data: text }));
      relayEnded = true;
    }
  }
  const srv = await serve([['/silent', Silent]]);
  const client = new RawStream(srv.port, '/silent');
  try {
    await until(() => parseEvents(client.body).length === 1, 'the one event');
    client.destroy();
    await until(() => relayEnded, 'relay() resolved although the source never settles');
  } finally {
    client.destroy();
    await srv.close();
  }
});

test('a toEvent that throws: relay fails with its error after ending the source; what came before was sent', async () => {
  let finallyRan = false;
  const outcome = deferred<unknown>();
  async function* items(): AsyncGenerator<{ text: string }> {
    try {
      yield { text: 'fine' };
      yield { text: 'bad\nid' };
      yield { text: 'never' };
    } finally {
      finallyRan = true;
    }
  }
  class Failing extends EventSourceHandler {
    override async get() {
      try {
        await this.relay(items(), (item) => ({ id: item.text, data: item.text }));
        outcome.resolve('resolved');
      } catch (error) {
        outcome.resolve(error);
        await this.sendEvent({ event: 'failed', data: String((error as Error).name) });
      }
    }
  }
  const srv = await serve([['/failing', Failing]]);
  const client = new RawStream(srv.port, '/failing');
  try {
    const error = await outcome.promise;
    assert.ok(error instanceof TypeError, `got ${String(error)}`);
    assert.match(error.message, /CR, LF or NUL/);
    await until(() => client.ended, 'the end of the response');
    assert.deepEqual(parseEvents(client.body), [
      { id: 'fine', data: 'fine' },
      { event: 'failed', data: 'TypeError' },
    ]);
    assert.ok(finallyRan, 'the source was ended');
  } finally {
    client.destroy();
    await srv.close();
  }
});

test('finish() from the handler ends the relay and its broker stream; a stream handed to relay refuses next()', async () => {
  const broker = new MemoryBroker();
  const result = deferred<{ nextError: unknown }>();
  class Finishing extends EventSourceHandler {
    override async get() {
      const stream = broker.stream('room');
      const relayed = this.relay(stream, toEvent);
      const nextError = await stream.next().then(
        () => null,
        (error: unknown) => error,
      );
      setTimeout(() => this.finish(), 30);
      await relayed;
      result.resolve({ nextError });
    }
  }
  const srv = await serve([['/finishing', Finishing]]);
  const client = new RawStream(srv.port, '/finishing');
  try {
    const { nextError } = await result.promise;
    assert.ok(nextError instanceof TypeError);
    await until(() => client.ended, 'the end of the response');
    // The stream left the channel: a publication now reaches no one and nothing breaks.
    await broker.publish('room', { late: true });
    assert.equal(parseEvents(client.body).length, 0);
  } finally {
    client.destroy();
    await srv.close();
    await broker.close();
  }
});

/**
 * A client stops reading while 4 000 publications of 4 KiB (16 MiB, more than the kernel's
 * socket buffers) go out, then reads again. Returns the most node held for it meanwhile and the
 * events it got.
 */
async function stoppedReader(
  historySize: number,
): Promise<{ maxPending: number; bound: number; events: WireEvent[] }> {
  const broker = new MemoryBroker({ historySize });
  const log = { ended: 0, failures: [] as unknown[] };
  let socket: net.Socket | undefined;
  const Base = relayHandler(broker, log);
  class Watched extends Base {
    override prepare() {
      socket = this.request.connection?.raw.socket;
    }
  }
  const srv = await serve([['/events/(\\w+)', Watched]]);
  const client = new RawStream(srv.port, '/events/big');
  try {
    await until(() => client.head !== null && socket !== undefined, 'the stream opened');
    await sleep(20);
    client.socket.pause();
    const filler = 'x'.repeat(4096 - 64);
    let maxPending = 0;
    for (let n = 1; n <= 4000; n++) {
      await broker.publish('big', { n, filler });
      maxPending = Math.max(maxPending, socket?.writableLength ?? 0);
      if (n % 100 === 0) await sleep(1);
    }
    client.socket.resume();
    await until(
      () => {
        const events = parseEvents(client.body);
        const last = events.at(-1);
        return (
          last?.event === 'reset' ||
          (last?.id !== undefined && parsePosition(last.id).offset === 4000)
        );
      },
      'the reader caught up',
      30_000,
    );
    // The socket's high-water mark (64 KiB on Node 22+) plus the event that crossed it.
    const bound = (socket?.writableHighWaterMark ?? 0) + 8 * 1024;
    return { maxPending, bound, events: parseEvents(client.body) };
  } finally {
    client.destroy();
    await srv.close();
    await broker.close();
  }
}

test('a reader that stops is not buffered for: node holds about a high-water mark for it, and when it reads again every event arrives once, in order', async () => {
  const { maxPending, bound, events } = await stoppedReader(5000);
  // Against 16 MiB published.
  assert.ok(maxPending <= bound, `node held ${maxPending} bytes for the stopped reader`);
  assert.equal(events.length, 4000);
  events.forEach((e, i) => {
    assert.equal(parsePosition(e.id ?? '').offset, i + 1);
    assert.equal((JSON.parse(e.data ?? '{}') as { n: number }).n, i + 1);
  });
});

test('a reader that stops for longer than the history holds gets the reset, after a gapless prefix', async () => {
  const { maxPending, bound, events } = await stoppedReader(100);
  assert.ok(maxPending <= bound, `node held ${maxPending} bytes for the stopped reader`);
  assert.deepEqual(events.at(-1), { event: 'reset', data: 'reload' });
  const offsets = events.slice(0, -1).map((e) => parsePosition(e.id ?? '').offset);
  assert.ok(offsets.length < 4000, 'some were missed');
  offsets.forEach((offset, i) => assert.equal(offset, i + 1));
});
