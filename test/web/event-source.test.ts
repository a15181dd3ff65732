// EventSourceHandler: the exact wire format (read off a raw socket, chunked framing decoded
// here), what a spec-following client (the `eventsource` package) makes of it, heartbeats,
// `lastEventId`, no compression, the write bound, and the memory a stopped reader can cost.
// relay() has its own file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EventSource } from 'eventsource';
import { EventSourceHandler, HTTPError } from '../../src/index.ts';
import { StreamClosedError } from '../../src/errors.ts';
import { accessLog, appLog } from '../../src/log.ts';
import { expectLog } from '../../src/testing.ts';
import { until } from '../helpers/wait.ts';
import { deferred, RawStream, serve } from '../helpers/sse.ts';

test('status and headers go out when get() starts, before the first event; the response ends when get() returns', async () => {
  const gate = deferred();
  const started = deferred();
  class Events extends EventSourceHandler {
    override async get() {
      started.resolve();
      await gate.promise;
      await this.sendEvent({ data: 'first' });
    }
  }
  const srv = await serve([['/events', Events]]);
  const client = new RawStream(srv.port, '/events');
  try {
    await started.promise;
    await until(() => client.head !== null, 'the response head');
    assert.match(client.head!, /^HTTP\/1\.1 200 OK\r\n/);
    assert.equal(client.header('Content-Type'), 'text/event-stream; charset=utf-8');
    assert.equal(client.header('Cache-Control'), 'no-cache');
    assert.equal(client.header('X-Accel-Buffering'), 'no');
    assert.equal(client.header('Content-Length'), undefined);
    assert.equal(client.header('Transfer-Encoding'), 'chunked');
    assert.equal(client.body, '');
    assert.equal(client.ended, false);
    gate.resolve();
    await until(() => client.ended, 'the end of the response');
    assert.equal(client.body, 'data: first\n\n');
  } finally {
    client.destroy();
    await srv.close();
  }
});

test('the wire format: fields, data split at CRLF, CR and LF, JSON for anything not a string', async () => {
  class Events extends EventSourceHandler {
    override async get() {
      await this.sendEvent({ id: '7', event: 'chat', retry: 2500, data: 'a\r\nb\rc\nd' });
      await this.sendEvent({ data: { text: 'hi\nthere', n: [1, 2] } });
      await this.sendEvent({ id: 8, data: 42 });
      await this.sendEvent({ data: null });
      await this.sendEvent({ data: 'ends with a break\n' });
      await this.sendEvent({ data: '' });
      await this.sendEvent({ data: ' leading space, \u00e9\u4e2d' });
      await this.sendEvent({ retry: 0 });
      await this.sendEvent({ id: '', event: '' });
    }
  }
  const srv = await serve([['/events', Events]]);
  const client = new RawStream(srv.port, '/events');
  try {
    await until(() => client.ended, 'the end of the response');
    assert.equal(
      client.body,
      'id: 7\nevent: chat\nretry: 2500\ndata: a\ndata: b\ndata: c\ndata: d\n\n' +
        'data: {"text":"hi\\nthere","n":[1,2]}\n\n' +
        'id: 8\ndata: 42\n\n' +
        'data: null\n\n' +
        'data: ends with a break\ndata: \n\n' +
        'data: \n\n' +
        'data:  leading space, \u00e9\u4e2d\n\n' +
        'retry: 0\n\n' +
        'id: \nevent: \n\n',
    );
    // Each event is flushed as it is sent: one chunk per event, nothing held back.
    assert.equal(client.chunks.length, 9);
  } finally {
    client.destroy();
    await srv.close();
  }
});

test('a refused event throws and writes nothing', async () => {
  const refusals: string[] = [];
  class Events extends EventSourceHandler {
    override async get() {
      const bad: Array<[string, () => unknown]> = [
        ['id with LF', () => this.sendEvent({ id: 'a\nb', data: 'x' })],
        ['id with CR', () => this.sendEvent({ id: 'a\rb', data: 'x' })],
        ['id with NUL', () => this.sendEvent({ id: 'a\0b', data: 'x' })],
        ['event with CRLF', () => this.sendEvent({ event: 'a\r\nb', data: 'x' })],
        ['event not a string', () => this.sendEvent({ event: 5 as unknown as string })],
        ['negative retry', () => this.sendEvent({ retry: -1, data: 'x' })],
        ['fractional retry', () => this.sendEvent({ retry: 1.5, data: 'x' })],
        ['retry not a number', () => this.sendEvent({ retry: '5' as unknown as number })],
        ['data without JSON', () => this.sendEvent({ data: () => 1 })],
        ['a BigInt', () => this.sendEvent({ data: 1n })],
        ['no field at all', () => this.sendEvent({})],
        ['not an object', () => this.sendEvent(null as unknown as { data: string })],
      ];
      for (const [name, send] of bad) {
        try {
          send();
          refusals.push(`${name}: accepted`);
        } catch (error) {
          const ok = error instanceof TypeError || error instanceof RangeError;
          refusals.push(`${name}: ${ok ? 'refused' : String(error)}`);
        }
      }
      assert.throws(() => EventSourceHandler.encodeEvent({ id: '1\n', data: 'x' }), TypeError);
      await this.sendEvent({ data: 'the only event' });
    }
  }
  const srv = await serve([['/events', Events]]);
  const client = new RawStream(srv.port, '/events');
  try {
    await until(() => client.ended, 'the end of the response');
    assert.equal(client.body, 'data: the only event\n\n');
    assert.equal(refusals.length, 12);
    for (const line of refusals) assert.match(line, /: refused$/);
  } finally {
    client.destroy();
    await srv.close();
  }
});

test('sendComment never produces a field: each line becomes a comment line', async () => {
  class Events extends EventSourceHandler {
    override async get() {
      await this.sendComment('hello');
      await this.sendComment('one\r\ndata: injected\r\rid: 9\nevent: x\n');
      await this.sendComment('');
      await this.sendEvent({ data: 'real' });
    }
  }
  const srv = await serve([['/events', Events]]);
  const client = new RawStream(srv.port, '/events');
  try {
    await until(() => client.ended, 'the end of the response');
    assert.equal(
      client.body,
      ': hello\n' +
        ': one\n: data: injected\n: \n: id: 9\n: event: x\n: \n' +
        ': \n' +
        'data: real\n\n',
    );
  } finally {
    client.destroy();
  }
  // What a spec-following client makes of it: one message, no id taken from a comment.
  const es = new EventSource(srv.url('/events'));
  try {
    const first = await new Promise<MessageEvent>((resolve, reject) => {
      es.onmessage = resolve;
      es.onerror = () => reject(new Error('EventSource error'));
    });
    assert.equal(first.data, 'real');
    assert.equal(first.lastEventId, '');
  } finally {
    es.close();
    await srv.close();
  }
});

test('lastEventId: the Last-Event-ID header over the lastEventId query argument, else null', async () => {
  const seen: Array<string | null> = [];
  class Events extends EventSourceHandler {
    override get() {
      seen.push(this.lastEventId);
    }
  }
  const srv = await serve([['/events', Events]]);
  const cases: Array<[string, Record<string, string>]> = [
    ['/events?lastEventId=q1', { 'Last-Event-ID': 'h1' }],
    ['/events?lastEventId=q2', {}],
    ['/events', { 'Last-Event-ID': '12@ep och' }],
    ['/events', {}],
    ['/events?lastEventId=', {}],
    ['/events?lastEventId=q3', { 'Last-Event-ID': '' }],
  ];
  try {
    for (const [path, headers] of cases) {
      const client = new RawStream(srv.port, path, headers);
      await until(() => client.ended, `the end of ${path}`);
      client.destroy();
    }
    assert.deepEqual(seen, ['h1', 'q2', '12@ep och', null, null, 'q3']);
  } finally {
    await srv.close();
  }
});

test('never compressed, even with compressResponse and a client that accepts gzip', async () => {
  const gate = deferred();
  class Events extends EventSourceHandler {
    override async get() {
      await this.sendEvent({ data: 'x'.repeat(2000) });
      await gate.promise;
    }
  }
  const srv = await serve([['/events', Events]], { compressResponse: true });
  const client = new RawStream(srv.port, '/events', { 'Accept-Encoding': 'gzip, deflate' });
  try {
    // The event arrives while get() is still running: not held back by a compressor.
    await until(() => client.body.length > 0, 'the first event');
    assert.equal(client.header('Content-Encoding'), undefined);
    assert.equal(client.body, `data: ${'x'.repeat(2000)}\n\n`);
    gate.resolve();
    await until(() => client.ended, 'the end of the response');
  } finally {
    client.destroy();
    await srv.close();
  }
});

test('a heartbeat comment every sseHeartbeatInterval ms while idle, none while events flow', async () => {
  const busyDone = deferred();
  const finish = deferred();
  class Events extends EventSourceHandler {
    override async get() {
      // Busy for 4 intervals: an event every 20 ms.
      for (let i = 0; i < 40; i++) {
        await this.sendEvent({ data: String(i) });
        await new Promise((r) => setTimeout(r, 20));
      }
      busyDone.resolve();
      await finish.promise;
    }
  }
  const srv = await serve([['/events', Events]], { sseHeartbeatInterval: 200 });
  const client = new RawStream(srv.port, '/events');
  try {
    await busyDone.promise;
    assert.doesNotMatch(client.body, /^:/m, 'no heartbeat while events flow');
    const idleStart = Date.now();
    await until(() => (client.body.match(/^:\n/gm) ?? []).length >= 3, 'three heartbeats', 5000);
    const elapsed = Date.now() - idleStart;
    // 3 heartbeats need at least 3 intervals of idleness (the first may take up to 2).
    assert.ok(elapsed >= 400, `three heartbeats after ${elapsed} ms`);
    assert.ok(client.body.endsWith(':\n'), 'heartbeats are bare comment lines');
    finish.resolve();
    await until(() => client.ended, 'the end of the response');
  } finally {
    client.destroy();
    await srv.close();
  }
});

test('streams share one heartbeat timer per interval: every idle stream gets heartbeats, a closed one none, and a stream opened after all closed gets them again', async () => {
  const finish = deferred();
  const finishLate = deferred();
  class Events extends EventSourceHandler {
    override async get() {
      await (this.getQueryArgument('late', null) === null ? finish : finishLate).promise;
    }
  }
  const srv = await serve([['/events', Events]], { sseHeartbeatInterval: 100 });
  const clients = Array.from({ length: 20 }, () => new RawStream(srv.port, '/events'));
  try {
    const beats = (c: RawStream): number => (c.body.match(/^:\n/gm) ?? []).length;
    await until(() => clients.every((c) => beats(c) >= 2), 'two heartbeats on every stream', 5000);
    // Half the clients leave: the others keep their heartbeats, the departed get nothing more.
    const gone = clients.slice(0, 10);
    for (const c of gone) c.destroy();
    const before = clients.slice(10).map(beats);
    await until(
      () => clients.slice(10).every((c, i) => beats(c) >= before[i]! + 2),
      'two more heartbeats on the streams that stayed',
      5000,
    );
    // The last streams end: the shared timer goes; a new stream makes one again.
    finish.resolve();
    await until(() => clients.slice(10).every((c) => c.ended), 'the end of every response');
    const late = new RawStream(srv.port, '/events?late=1');
    clients.push(late);
    await until(() => beats(late) >= 1, 'a heartbeat on a stream opened after all closed', 5000);
    finishLate.resolve();
    await until(() => late.ended, 'the end of the late response');
  } finally {
    for (const c of clients) c.destroy();
    await srv.close();
  }
});

test('the default heartbeat interval is 15 s, and 0 turns heartbeats off', async () => {
  const { DEFAULT_SSE_HEARTBEAT_INTERVAL, DEFAULT_SSE_MAX_WRITE_BUFFER } =
    await import('../../src/index.ts');
  assert.equal(DEFAULT_SSE_HEARTBEAT_INTERVAL, 15_000);
  assert.equal(DEFAULT_SSE_MAX_WRITE_BUFFER, 1024 * 1024);
  const finish = deferred();
  class Events extends EventSourceHandler {
    override async get() {
      await finish.promise;
    }
  }
  const srv = await serve([['/events', Events]], { sseHeartbeatInterval: 0 });
  const client = new RawStream(srv.port, '/events');
  try {
    await until(() => client.head !== null, 'the response head');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(client.body, '');
    finish.resolve();
    await until(() => client.ended, 'the end of the response');
  } finally {
    client.destroy();
    await srv.close();
  }
});

test('sendEvent on a closed connection settles within 3 s and onConnectionClose runs once', async () => {
  let closes = 0;
  const opened = deferred();
  const outcome = deferred<{ pending: string; later: string; aborted: boolean; ms: number }>();
  class Events extends EventSourceHandler {
    override async get() {
      await this.sendEvent({ data: 'hello' });
      opened.resolve();
      await new Promise((r) => this.signal.addEventListener('abort', r));
      const start = Date.now();
      const describe = async (f: PromiseLike<void>) => {
        try {
          await f;
          return 'resolved';
        } catch (error) {
          return error instanceof StreamClosedError ? 'StreamClosedError' : String(error);
        }
      };
      const pending = await describe(this.sendEvent({ data: 'after close' }));
      const later = await describe(this.sendComment('still there?'));
      outcome.resolve({ pending, later, aborted: this.signal.aborted, ms: Date.now() - start });
    }
    override onConnectionClose() {
      closes++;
    }
  }
  const srv = await serve([['/events', Events]]);
  const client = new RawStream(srv.port, '/events');
  try {
    await opened.promise;
    client.destroy();
    const result = await outcome.promise;
    assert.deepEqual(
      { pending: result.pending, later: result.later, aborted: result.aborted },
      { pending: 'StreamClosedError', later: 'StreamClosedError', aborted: true },
    );
    assert.ok(result.ms < 3000, `settled after ${result.ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(closes, 1);
  } finally {
    await srv.close();
  }
});

test('a StreamClosedError out of get() after the client left ends the stream without a log', async () => {
  let closes = 0;
  const opened = deferred();
  const ended = deferred<unknown>();
  class Loop extends EventSourceHandler {
    override async get() {
      opened.resolve();
      try {
        // Sends until one fails: the client leaving ends the loop by an exception.
        for (;;) {
          await this.sendEvent({ data: 'tick' });
          await new Promise((r) => setTimeout(r, 5));
        }
      } catch (error) {
        ended.resolve(error);
        throw error;
      }
    }
    override onConnectionClose() {
      closes++;
    }
  }
  const srv = await serve([['/events', Loop]]);
  const client = new RawStream(srv.port, '/events');
  try {
    await opened.promise;
    await until(() => client.body.length > 0, 'the first event');
    client.destroy();
    assert.ok((await ended.promise) instanceof StreamClosedError);
    await until(() => closes === 1, 'onConnectionClose');
    // (An error log would fail this test through the log capture.)
    await new Promise((r) => setTimeout(r, 20));
  } finally {
    await srv.close();
  }
});

test('an AbortError from a wait given this.signal ends the stream without a log when the client leaves', async () => {
  const opened = deferred();
  const ended = deferred<unknown>();
  class Waits extends EventSourceHandler {
    override async get() {
      await this.sendEvent({ data: 'hello' });
      opened.resolve();
      try {
        await new Promise((_, reject) =>
          this.signal.addEventListener('abort', () => reject(this.signal.reason)),
        );
      } catch (error) {
        ended.resolve(error);
        throw error;
      }
    }
  }
  const srv = await serve([['/events', Waits]]);
  const client = new RawStream(srv.port, '/events');
  try {
    await opened.promise;
    client.destroy();
    const error = await ended.promise;
    assert.equal((error as Error).name, 'AbortError');
    await new Promise((r) => setTimeout(r, 20));
  } finally {
    await srv.close();
  }
});

test('an exception in get() after the headers ends the response and is logged once', async () => {
  class Events extends EventSourceHandler {
    override async get() {
      await this.sendEvent({ data: 'one' });
      throw new Error('boom in the stream');
    }
  }
  const srv = await serve([['/events', Events]]);
  const client = new RawStream(srv.port, '/events');
  try {
    await expectLog(appLog, /Uncaught exception/, async () => {
      await until(() => client.ended, 'the end of the response');
    });
    assert.match(client.head!, /^HTTP\/1\.1 200/);
    assert.equal(client.body, 'data: one\n\n');
  } finally {
    client.destroy();
    await srv.close();
  }
});

test('prepare() can still refuse with a real status: nothing is sent before get() starts', async () => {
  class Events extends EventSourceHandler {
    override prepare() {
      if (this.getQueryArgument('token', null) !== 'ok') throw new HTTPError(403);
    }
    override async get() {
      await this.sendEvent({ data: 'allowed' });
    }
  }
  const srv = await serve([['/events', Events]]);
  try {
    await expectLog(accessLog, /^403 GET \/events/, async () => {
      const refused = await fetch(srv.url('/events'));
      assert.equal(refused.status, 403);
      assert.match(refused.headers.get('content-type') ?? '', /text\/html/);
      await refused.text();
    });
    const allowed = await fetch(srv.url('/events?token=ok'));
    assert.equal(allowed.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.equal(await allowed.text(), 'data: allowed\n\n');
  } finally {
    await srv.close();
  }
});

test('a spec-following client reads every event and resumes with Last-Event-ID', async () => {
  const resumedFrom: Array<string | null> = [];
  class Events extends EventSourceHandler {
    override async get() {
      const last = this.lastEventId;
      resumedFrom.push(last);
      if (last === null) {
        await this.sendEvent({ retry: 50 });
        await this.sendEvent({ id: '1', data: 'line one\nline two' });
        await this.sendEvent({ id: '2', event: 'custom', data: { a: 1 } });
        await this.sendEvent({ id: '3', data: 'crlf\r\nand cr\rend' });
        return; // the response ends; the client reconnects after `retry` ms
      }
      await this.sendEvent({ id: String(Number(last) + 1), data: `after ${last}` });
      await new Promise((r) => this.signal.addEventListener('abort', r));
    }
  }
  const srv = await serve([['/events', Events]]);
  const es = new EventSource(srv.url('/events'));
  const got: Array<[string, string, string]> = [];
  const done = deferred();
  const record = (event: MessageEvent) => {
    got.push([event.type, event.data as string, event.lastEventId]);
    if (got.length === 4) done.resolve();
  };
  es.onmessage = record;
  es.addEventListener('custom', record);
  try {
    await done.promise;
    assert.deepEqual(got, [
      ['message', 'line one\nline two', '1'],
      ['custom', '{"a":1}', '2'],
      ['message', 'crlf\nand cr\nend', '3'],
      ['message', 'after 3', '4'],
    ]);
    assert.deepEqual(resumedFrom, [null, '3']);
  } finally {
    es.close();
    await srv.close();
  }
});

test('encode once: one encodeEvent buffer fans out to every client with sendEncoded', async () => {
  const clients = new Set<EventSourceHandler>();
  const allIn = deferred();
  const N = 20;
  class Events extends EventSourceHandler {
    override async get() {
      clients.add(this);
      if (clients.size === N) allIn.resolve();
      await new Promise((r) => this.signal.addEventListener('abort', r));
    }
    override onFinish() {
      clients.delete(this);
    }
  }
  const srv = await serve([['/events', Events]]);
  const raws: RawStream[] = [];
  try {
    for (let i = 0; i < N; i++) raws.push(new RawStream(srv.port, '/events'));
    await allIn.promise;
    const event = { id: '5@e', event: 'news', data: { headline: 'one\nencoding' } };
    const bytes = EventSourceHandler.encodeEvent(event);
    assert.ok(Buffer.isBuffer(bytes));
    // The same bytes sendEvent would write.
    assert.equal(
      bytes.toString('utf8'),
      'id: 5@e\nevent: news\ndata: {"headline":"one\\nencoding"}\n\n',
    );
    const frozen = Buffer.from(bytes);
    // encodeOnce: one encoding per key object, whoever asks.
    const publication = { offset: 5, data: { headline: 'shared' } };
    let made = 0;
    const make = () => {
      made++;
      return { id: String(publication.offset), data: publication.data };
    };
    const once = EventSourceHandler.encodeOnce(publication, make);
    assert.equal(EventSourceHandler.encodeOnce(publication, make), once);
    assert.equal(made, 1);
    assert.equal(once.toString(), 'id: 5\ndata: {"headline":"shared"}\n\n');
    await Promise.all([...clients].map((client) => client.sendEncoded(bytes)));
    await until(() => raws.every((r) => r.body.length > 0), 'every client got the event');
    for (const r of raws) assert.equal(r.body, bytes.toString('utf8'));
    assert.deepEqual(bytes, frozen, 'the shared buffer is not modified by sending');
    assert.equal(
      EventSourceHandler.encodeComment('a\nb').toString(),
      ': a\n: b\n',
      'encodeComment makes comment lines',
    );
  } finally {
    for (const r of raws) r.destroy();
    await srv.close();
  }
});

test('a client that reads is never cut off by sseMaxWriteBuffer when sends are awaited', async () => {
  const eventBytes = 64 * 1024;
  let sent = 0;
  class Big extends EventSourceHandler {
    override async get() {
      const data = 'y'.repeat(eventBytes - 8);
      // 8 MiB through a 128 KiB bound.
      for (let i = 0; i < 128; i++) {
        await this.sendEvent({ data });
        sent++;
      }
      // One event larger than the bound goes out when nothing else waits.
      await this.sendEvent({ data: 'z'.repeat(512 * 1024) });
      sent++;
    }
  }
  const srv = await serve([['/events', Big]], { sseMaxWriteBuffer: 128 * 1024 });
  const client = new RawStream(srv.port, '/events');
  try {
    await until(() => client.ended, 'the end of the response', 20_000);
    assert.equal(sent, 129);
    assert.equal(client.body.length, 128 * eventBytes + 512 * 1024 + 8);
  } finally {
    client.destroy();
    await srv.close();
  }
});

test('a client that stops reading is closed once sseMaxWriteBuffer bytes wait for it', async () => {
  const limit = 256 * 1024;
  const eventBytes = 64 * 1024;
  const report = deferred<{
    maxPending: number;
    outcomes: string[];
    closes: number;
    aborted: boolean;
    settledMs: number;
  }>();
  let closes = 0;
  class Flood extends EventSourceHandler {
    override async get() {
      const data = 'x'.repeat(eventBytes - 8);
      const socket = this.request.connection!.raw.socket;
      let maxPending = 0;
      const futures: Array<PromiseLike<void>> = [];
      // 32 MiB, more than the kernel's buffers on both ends can hold for a stopped reader;
      // one event per loop turn, so each goes to the kernel while it still takes bytes.
      for (let i = 0; i < 512; i++) {
        maxPending = Math.max(maxPending, socket.destroyed ? 0 : socket.writableLength);
        futures.push(this.sendEvent({ data }));
        await new Promise((r) => setImmediate(r));
      }
      const start = Date.now();
      const settled = await Promise.allSettled(futures);
      const outcomes = settled.map((s) =>
        s.status === 'fulfilled'
          ? 'ok'
          : s.reason instanceof StreamClosedError
            ? 'closed'
            : String(s.reason),
      );
      report.resolve({
        maxPending,
        outcomes,
        closes,
        aborted: this.signal.aborted,
        settledMs: Date.now() - start,
      });
    }
    override onConnectionClose() {
      closes++;
    }
  }
  // The class's own bound wins over the application's setting.
  class SmallFlood extends Flood {
    static override maxWriteBufferSize = limit;
  }
  const srv = await serve([['/events', SmallFlood]], { sseMaxWriteBuffer: 64 * 1024 * 1024 });
  const client = new RawStream(srv.port, '/events');
  await until(() => client.head !== null, 'the response head');
  client.socket.pause(); // stops reading: the kernel's buffers fill, then node's
  try {
    const result = await report.promise;
    assert.ok(result.maxPending <= limit, `at most ${limit} B unsent, saw ${result.maxPending}`);
    const firstClosed = result.outcomes.indexOf('closed');
    assert.ok(firstClosed > 0, 'some events went out before the cut-off');
    assert.ok(
      result.outcomes.slice(firstClosed).every((o) => o === 'closed'),
      'every event from the cut-off on fails with StreamClosedError',
    );
    assert.ok(
      result.outcomes.every((o) => o === 'ok' || o === 'closed'),
      result.outcomes.join(),
    );
    assert.ok(result.settledMs < 3000, `settled in ${result.settledMs} ms`);
    assert.equal(result.aborted, true);
    await until(() => closes === 1, 'onConnectionClose');
    client.socket.resume();
    await until(() => client.closed, 'the client sees the connection end');
    assert.equal(client.ended, false, 'the stream was cut off, not ended normally');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(closes, 1);
  } finally {
    client.destroy();
    await srv.close();
  }
});

// The server and the stopped readers run in a child with --expose-gc, so the measurement is
// of one process doing only this. Each run sends 64 MiB of unawaited 64 KiB events to a
// client that stopped reading: all in one loop turn ("burst"), or one event per turn
// ("paced", so the kernel's buffers fill first, then node's); with the default 1 MiB
// sseMaxWriteBuffer, and once without a bound, to show that the measurement sees the growth.
const MEMORY_CHILD = `
import * as net from 'node:net';
const { Application, EventSourceHandler } = await import(${JSON.stringify(
  new URL('../../src/web/index.ts', import.meta.url).href,
)});
const MiB = 1024 * 1024;
const heapNow = () => { const m = process.memoryUsage(); return m.heapUsed + m.external + m.arrayBuffers; };
let run;
class Flood extends EventSourceHandler {
  async get() {
    const data = 'x'.repeat(64 * 1024 - 8);
    const paced = this.getQueryArgument('paced', null) !== null;
    await run.stopped; // the client has the head and stopped reading
    globalThis.gc(); globalThis.gc();
    const rss0 = process.memoryUsage().rss;
    const heap0 = heapNow();
    let peakRss = rss0;
    let peakHeap = heap0;
    const sample = () => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      peakHeap = Math.max(peakHeap, heapNow());
    };
    const futures = [];
    for (let i = 0; i < 1024; i++) {
      futures.push(this.sendEvent({ data }));
      if (i % 16 === 15) sample();
      if (paced) await new Promise((r) => setImmediate(r));
    }
    sample();
    run.sampled();
    const settled = await Promise.allSettled(futures);
    run.ok = settled.filter((s) => s.status === 'fulfilled').length;
    run.failed = settled.length - run.ok;
    run.aborted = this.signal.aborted;
    run.peakRssMiB = (peakRss - rss0) / MiB;
    run.peakHeapMiB = (peakHeap - heap0) / MiB;
    run.done();
  }
  onConnectionClose() { run.closes = (run.closes ?? 0) + 1; }
}
async function flood(settings, path) {
  const server = await new Application([['/flood', Flood]], settings).listen(0, '127.0.0.1');
  const done = Promise.withResolvers();
  const sampled = Promise.withResolvers();
  const stopped = Promise.withResolvers();
  run = { closes: 0, done: done.resolve, sampled: sampled.resolve, stopped: stopped.promise };
  const client = net.connect(server.address().port, '127.0.0.1');
  client.on('error', () => {});
  let head = false;
  client.on('data', (d) => { if (!head && d.includes('\\r\\n\\r\\n')) { head = true; client.pause(); stopped.resolve(); } });
  client.write('GET ' + path + ' HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n');
  await sampled.promise;
  // Read again: what was sent arrives, then the end of a cut-off connection.
  client.resume();
  await done.promise;
  const ended = settings.sseMaxWriteBuffer === undefined
    ? await new Promise((r) => { if (client.destroyed) r(true); else client.on('close', () => r(true)); })
    : null;
  client.destroy();
  server.closeAllConnections();
  await server.stop();
  const { done: _d, sampled: _s, stopped: _p, ...result } = run;
  result.ended = ended;
  return result;
}
const out = {
  burst: await flood({}, '/flood'),
  paced: await flood({}, '/flood?paced=1'),
  unbounded: await flood({ sseMaxWriteBuffer: 1e12 }, '/flood'),
};
process.stdout.write(JSON.stringify(out) + '\\n');
`;

interface FloodRun {
  ok: number;
  failed: number;
  aborted: boolean;
  closes: number;
  peakRssMiB: number;
  peakHeapMiB: number;
  ended: boolean | null;
}

test('64 MiB of unawaited events to a stopped reader grow memory by less than 24 MiB and the connection ends', async (t) => {
  const child = spawn(
    process.execPath,
    ['--expose-gc', '--input-type=module', '-e', MEMORY_CHILD],
    { cwd: fileURLToPath(new URL('../..', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, `child failed: ${err}`);
  const runs = JSON.parse(out.trim().split('\n').pop()!) as Record<
    'burst' | 'paced' | 'unbounded',
    FloodRun
  >;
  for (const [name, run] of Object.entries(runs)) {
    t.diagnostic(
      `${name}: ${run.ok} of 1024 events sent, ${run.failed} refused; growth: peak RSS ` +
        `+${run.peakRssMiB.toFixed(1)} MiB, peak heap+external +${run.peakHeapMiB.toFixed(1)} MiB`,
    );
  }
  for (const name of ['burst', 'paced'] as const) {
    const run = runs[name];
    assert.ok(run.failed > 0, `${name}: the stopped reader was cut off`);
    assert.equal(run.aborted, true, `${name}: signal aborted`);
    assert.equal(run.closes, 1, `${name}: onConnectionClose ran once`);
    assert.equal(run.ended, true, `${name}: the client saw the connection end`);
    // RSS is what the process holds; the heap peak (printed) also counts encoded events that
    // are garbage but not yet collected.
    assert.ok(run.peakRssMiB < 24, `${name}: peak RSS grew ${run.peakRssMiB.toFixed(1)} MiB`);
  }
  // Some events reach a paced reader before its buffers are full.
  assert.ok(runs.paced.ok > 0);
  // The control: without a bound the same burst is all held in memory, and the measurement
  // sees it.
  assert.equal(runs.unbounded.failed, 0);
  assert.ok(runs.unbounded.peakRssMiB > 40, `unbounded RSS +${runs.unbounded.peakRssMiB} MiB`);
});
