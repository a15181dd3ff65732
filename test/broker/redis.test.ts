// RedisBroker against a real redis-server started on a free port: the broker contract, plus
// what only the shared engine promises (sharing by url and prefix, isolation by prefix, an
// unreachable Redis, lost data while connected, two processes publishing at once).
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RedisBroker, position, type Publication } from '../../src/broker/index.ts';
import { BrokerRecoveryError, BrokerUnavailableError } from '../../src/errors.ts';
import { appLog } from '../../src/log.ts';
import { expectLog } from '../../src/testing.ts';
import { brokerContract } from '../contracts/broker.contract.ts';
import {
  command,
  freePort,
  redisMissing,
  session,
  startRedisServer,
  type RedisServer,
} from '../helpers/redis-server.ts';
import { claimLogs } from '../helpers/claim-logs.ts';

const missing = redisMissing();
if (missing !== undefined) console.log(`# skipping RedisBroker tests: ${missing}`);

let server: RedisServer | undefined;
let prefixCount = 0;
let prefix = '';
const fresh = (): void => {
  prefix = `t${process.pid}-${++prefixCount}:`;
};

before(async () => {
  if (missing === undefined) server = await startRedisServer();
});
after(async () => {
  await server?.close();
});

brokerContract({
  name: 'RedisBroker',
  make: (options) => new RedisBroker({ ...options, url: server?.url, keyPrefix: prefix }),
  fresh,
  skip: () => missing,
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('RedisBroker', () => {
  const made: RedisBroker[] = [];
  const open = (url: string, keyPrefix = prefix): RedisBroker => {
    const b = new RedisBroker({ url, keyPrefix });
    made.push(b);
    return b;
  };
  afterEach(async () => {
    await Promise.all(made.splice(0).map((b) => b.close()));
  });
  const it = (title: string, fn: (url: string) => Promise<void>, timeout = 30_000): void => {
    test(title, { timeout }, async (t) => {
      if (missing !== undefined || server === undefined) {
        t.skip(missing ?? 'no redis-server');
        return;
      }
      fresh();
      await fn(server.url);
    });
  };

  it('brokers with the same url and prefix share offsets, epoch and delivery', async (url) => {
    const a = open(url);
    const b = open(url);
    const got: Publication[] = [];
    const sub = b.subscribe('c', (p) => got.push(p));
    await sub.ready;
    const p1 = await a.publish('c', 'from a');
    const p2 = await b.publish('c', 'from b');
    assert.deepEqual([p1.offset, p2.offset], [1, 2]);
    assert.equal(p1.epoch, p2.epoch);
    const deadline = Date.now() + 5000;
    while (got.length < 2 && Date.now() < deadline) await sleep(5);
    assert.deepEqual(
      got.map((p) => [p.offset, p.data]),
      [
        [1, 'from a'],
        [2, 'from b'],
      ],
    );
    assert.deepEqual(
      (await a.history('c')).publications.map((p) => p.data),
      ['from a', 'from b'],
    );
    await Promise.all([a.close(), b.close()]);
  });

  it('another prefix isolates', async (url) => {
    const a = open(url);
    const b = open(url, prefix + 'other:');
    const got: Publication[] = [];
    const sub = b.subscribe('c', (p) => got.push(p));
    await sub.ready;
    await a.publish('c', 1);
    await a.publish('c', 2);
    assert.equal((await b.publish('c', 'b')).offset, 1);
    await sleep(50);
    assert.deepEqual(
      got.map((p) => p.data),
      ['b'],
    );
    assert.equal((await b.history('c')).position.offset, 1);
    await Promise.all([a.close(), b.close()]);
  });

  it('no Redis at the URL: BrokerUnavailableError within 10 s, never a hang', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    await expectLog(appLog, /unreachable/, async () => {
      const broker = new RedisBroker({ url });
      const started = Date.now();
      const results = await Promise.allSettled([
        broker.publish('c', 1),
        broker.history('c'),
        broker.waitFor('c', null, { timeout: 60_000 }),
        broker.subscribe('c', () => {}).ready,
        (async () => {
          for await (const _ of broker.stream('c')) break;
        })(),
      ]);
      assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
      for (const result of results) {
        assert.equal(result.status, 'rejected');
        assert.ok(result.reason instanceof BrokerUnavailableError, String(result.reason));
        assert.match((result.reason as Error).message, new RegExp(String(port)));
      }
      await broker.close();
    });
  });

  it('data lost while connected (FLUSHALL) ends an open stream with BrokerRecoveryError in the new epoch', async (url) => {
    const a = open(url);
    const reader = open(url);
    const p1 = await a.publish('c', 1);
    const stream = reader.stream('c', { since: position(p1) });
    const next = stream.next();
    await sleep(50);
    await command((server as RedisServer).port, 'FLUSHALL');
    const p2 = await a.publish('c', 2);
    assert.notEqual(p2.epoch, p1.epoch, 'lost data means a new epoch');
    assert.equal(p2.offset, 1);
    await assert.rejects(
      next,
      (error: unknown) => error instanceof BrokerRecoveryError && error.position.epoch === p2.epoch,
    );
    await Promise.all([a.close(), reader.close()]);
  });

  it('a counter behind what this process saw (a lost tail) moves the channel to a new epoch', async (url) => {
    const broker = open(url);
    for (let i = 1; i <= 5; i++) await broker.publish('c', i);
    const last = await broker.publish('c', 6);
    // What `appendfsync everysec` can leave after a crash: counter and stream both back at 4,
    // the epoch key intact. Simulated by hand (a real crash does not lose it on cue).
    const port = (server as RedisServer).port;
    await command(port, `HSET ${prefix}m:c o 4`);
    await command(port, `XTRIM ${prefix}s:c MAXLEN 4`);
    await command(port, `XDEL ${prefix}s:c 5-0 6-0`);
    const ahead = await broker.history('c', { since: position(last) });
    assert.equal(ahead.recovered, false, 'a position ahead of the latest is unrecoverable');
    const next = await broker.publish('c', 7);
    assert.ok(
      next.epoch !== last.epoch || next.offset > last.offset,
      `offset ${next.offset} handed out twice in epoch ${next.epoch}`,
    );
    await broker.close();
  });

  it('a counter behind the stream (seen by any process) moves the channel to a new epoch', async (url) => {
    const writer = open(url);
    const last = await writer.publish('c', 1);
    await writer.publish('c', 2);
    await writer.close();
    await command((server as RedisServer).port, `HSET ${prefix}m:c o 1`);
    const fresh = open(url);
    const next = await fresh.publish('c', 3);
    assert.notEqual(next.epoch, last.epoch);
    assert.equal(next.offset, 1);
    await fresh.close();
  });

  /** Drop the subscriber connections and keep them out while `during` runs. */
  async function withoutSubscribers(during: () => Promise<void>): Promise<void> {
    const admin = await session((server as RedisServer).port);
    try {
      // Existing connections stay; the subscriber's reconnects are refused until restored.
      assert.equal(await admin.send('CONFIG SET maxclients 1'), '+OK');
      assert.match(await admin.send('CLIENT KILL TYPE pubsub'), /^:[1-9]/);
      await during();
    } finally {
      await admin.send('CONFIG SET maxclients 10000');
      admin.close();
    }
  }

  it('a dropped subscriber connection is re-made and what was published meanwhile delivered once', async (url) => {
    const a = open(url);
    const b = open(url);
    const start = (await b.history('c', { limit: 0 })).position;
    const stream = b.stream('c', { since: start });
    const live: number[] = [];
    const got: Publication[] = [];
    await expectLog(appLog, /unreachable/, async () => {
      const sub = b.subscribe('c', (p) => live.push(p.offset));
      await sub.ready;
      const first = stream.next();
      await sleep(50);
      await withoutSubscribers(async () => {
        for (let i = 1; i <= 10; i++) await a.publish('c', i);
        await sleep(100);
        assert.deepEqual(live, [], 'nothing arrives while the subscriber is away');
      });
      got.push((await first).value as Publication);
      while (got.length < 10) got.push((await stream.next()).value as Publication);
      const deadline = Date.now() + 5000;
      while (live.length < 10 && Date.now() < deadline) await sleep(10);
    });
    const ten = Array.from({ length: 10 }, (_, i) => i + 1);
    assert.deepEqual(
      got.map((p) => p.offset),
      ten,
    );
    assert.deepEqual(live, ten);
    await stream.return?.();
  });

  it('more missed while the subscriber connection was down than the history holds: streams fail, subscribers are warned', async (url) => {
    const a = new RedisBroker({ url, keyPrefix: prefix, historySize: 5 });
    const b = new RedisBroker({ url, keyPrefix: prefix, historySize: 5 });
    made.push(a, b);
    const start = (await b.history('c', { limit: 0 })).position;
    const stream = b.stream('c', { since: start });
    const live: number[] = [];
    await claimLogs(
      [
        [appLog, /unreachable/],
        [appLog, /missed publications/],
      ],
      async () => {
        const sub = b.subscribe('c', (p) => live.push(p.offset));
        await sub.ready;
        const first = stream.next();
        await sleep(50);
        await withoutSubscribers(async () => {
          for (let i = 1; i <= 20; i++) await a.publish('c', i);
        });
        await assert.rejects(
          first,
          (error: unknown) => error instanceof BrokerRecoveryError && error.position.offset === 20,
        );
        await a.publish('c', 21);
        const deadline = Date.now() + 5000;
        while (!live.includes(21) && Date.now() < deadline) await sleep(10);
      },
    );
    assert.deepEqual(live, [21], 'the subscriber goes on with what comes next');
  });

  it('two processes publishing at once to one channel: every stream sees one total order', async (url) => {
    const readers = [open(url), open(url)];
    const start = (await readers[0]!.history('c', { limit: 0 })).position;
    const streams = readers.map((r) => r.stream('c', { since: start }));
    const per = 400;
    const reading = streams.map(async (s) => {
      const out: Publication[] = [];
      for await (const p of s) {
        out.push(p);
        if (out.length === 2 * per) break;
      }
      return out;
    });
    await sleep(50);
    // Both children connect first and start publishing on one "go", whatever their startup took.
    const script = fileURLToPath(new URL('./fixtures/publisher.ts', import.meta.url));
    const children = ['A', 'B'].map((name) =>
      spawn(process.execPath, [script, url, prefix, 'c', name, String(per)], {
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    );
    const exits = children.map(
      (child) =>
        new Promise<number>((resolve, reject) => {
          child.on('error', reject);
          child.on('exit', (code) => resolve(code ?? -1));
        }),
    );
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve, reject) => {
            child.stdout?.on('data', (chunk: Buffer) => {
              if (chunk.toString().includes('ready')) resolve();
            });
            child.on('exit', () => reject(new Error('publisher exited before it was ready')));
          }),
      ),
    );
    for (const child of children) child.stdin?.write('go\n');
    assert.deepEqual(await Promise.all(exits), [0, 0]);
    const [one, two] = await Promise.all(reading);
    const order = (pubs: Publication[]): string[] =>
      pubs.map((p) => `${p.offset}:${String(p.data)}`);
    assert.deepEqual(order(one!), order(two!));
    assert.deepEqual(
      one!.map((p) => p.offset),
      Array.from({ length: 2 * per }, (_, i) => i + 1),
    );
    for (const name of ['A', 'B']) {
      const mine = one!.map((p) => String(p.data)).filter((d) => d.startsWith(name));
      assert.deepEqual(
        mine,
        Array.from({ length: per }, (_, i) => `${name}${i}`),
        `${name}'s publications in its own order`,
      );
    }
    const names = one!.map((p) => String(p.data)[0]);
    assert.ok(
      names.indexOf('A') < names.lastIndexOf('B') && names.indexOf('B') < names.lastIndexOf('A'),
      `the two publishers overlapped in time: ${names.join('').replace(/(.)\1*/g, (run, c: string) => `${c}${run.length} `)}`,
    );
    await Promise.all(readers.map((r) => r.close()));
  });
});
