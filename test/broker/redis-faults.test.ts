// RedisBroker through real faults: redis-server killed with SIGKILL by PID and started again on
// the same port while a publisher and readers run. Without persistence the data is gone, so
// the epoch changes and open streams end with BrokerRecoveryError; with AOF and
// `appendfsync always` nothing acknowledged is lost and the readers go on by themselves.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RedisBroker,
  position,
  type Publication,
  type StreamPosition,
} from '../../src/broker/index.ts';
import {
  BrokerClosedError,
  BrokerRecoveryError,
  BrokerUnavailableError,
} from '../../src/errors.ts';
import { appLog } from '../../src/log.ts';
import { expectLog } from '../../src/testing.ts';
import {
  command,
  redisMissing,
  startRedisServer,
  type RedisServer,
} from '../helpers/redis-server.ts';

const missing = redisMissing();
if (missing !== undefined) console.log(`# skipping Redis fault tests: ${missing}`);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** Publishes one message every `everyMs` until stopped, recording what Redis acknowledged. */
function publisher(broker: RedisBroker, channel: string, everyMs: number) {
  const acked: Publication[] = [];
  const failures: unknown[] = [];
  let running = true;
  let i = 0;
  const done = (async () => {
    while (running) {
      try {
        acked.push(await broker.publish(channel, `m${i++}`));
      } catch (error) {
        failures.push(error);
      }
      await sleep(everyMs);
    }
  })();
  return {
    acked,
    failures,
    /** Resolves once `n` more publications were acknowledged than when called. */
    async ackedMore(n: number, ms = 20_000): Promise<void> {
      const target = acked.length + n;
      const deadline = Date.now() + ms;
      while (acked.length < target) {
        if (Date.now() > deadline)
          throw new Error(`only ${acked.length} of ${target} acknowledged`);
        await sleep(10);
      }
    },
    async stop(): Promise<void> {
      running = false;
      await done;
    },
  };
}

/** Reads a stream in the background: what it delivered, and how it ended. */
function reader(stream: AsyncIterableIterator<Publication>) {
  const got: Publication[] = [];
  let ended: unknown = null;
  const done = (async () => {
    try {
      for await (const p of stream) got.push(p);
      ended = 'done';
    } catch (error) {
      ended = error;
    }
  })();
  return {
    got,
    done,
    get ended(): unknown {
      return ended;
    },
  };
}

/**
 * Every process goes away, Redis is killed and started again, and a new process comes: `before`
 * runs on a broker that is closed before the kill; the broker returned is the new process's.
 */
async function restartEverything(
  server: RedisServer,
  before: (broker: RedisBroker) => Promise<void>,
): Promise<RedisBroker> {
  const old = new RedisBroker({ url: server.url });
  try {
    await before(old);
  } finally {
    await old.close();
  }
  await server.kill();
  await server.restart();
  const fresh = new RedisBroker({ url: server.url });
  cleanup.push(() => fresh.close());
  return fresh;
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

test(
  'restart without persistence: publishes fail then recover, streams get BrokerRecoveryError in the new epoch',
  { timeout: 60_000 },
  async (t) => {
    if (missing !== undefined) return t.skip(missing);
    const server: RedisServer = await startRedisServer();
    cleanup.push(() => server.close());
    await expectLog(appLog, /unreachable/, async () => {
      const pubBroker = new RedisBroker({ url: server.url });
      const readBroker = new RedisBroker({ url: server.url });
      cleanup.push(async () => {
        await pubBroker.close();
        await readBroker.close();
      });
      const start = (await readBroker.history('c', { limit: 0 })).position;
      const stream = reader(readBroker.stream('c', { since: start }));
      const pub = publisher(pubBroker, 'c', 5);
      await pub.ackedMore(20);
      const oldEpoch = start.epoch;

      await server.kill();
      const failedBefore = pub.failures.length;
      await until(() => pub.failures.length > failedBefore + 3, 10_000, 'publishes to fail');
      for (const failure of pub.failures)
        assert.ok(failure instanceof BrokerUnavailableError, String(failure));

      await server.restart();
      const restarted = Date.now();
      await pub.ackedMore(5);
      assert.ok(Date.now() - restarted < 20_000, 'publishes succeed again within 20 s');
      await pub.stop();
      const newEpoch = (pub.acked.at(-1) as Publication).epoch;
      assert.notEqual(newEpoch, oldEpoch, 'the data was lost, so the epoch changed');

      await until(() => stream.ended !== null, 20_000, 'the stream to end');
      const ended = stream.ended;
      assert.ok(ended instanceof BrokerRecoveryError, `stream ended with ${String(ended)}`);
      assert.equal(
        ended.position.epoch,
        newEpoch,
        'the error carries the position in the new epoch',
      );
      // What the stream did deliver is the old epoch, in order, without a gap or a repeat.
      assert.ok(stream.got.every((p) => p.epoch === oldEpoch));
      assert.deepEqual(
        stream.got.map((p) => p.offset),
        stream.got.map((_, i) => i + 1),
      );

      // A resume from the old epoch is refused the same way; from the new position it works.
      await assert.rejects(
        readBroker.waitFor('c', { offset: 1, epoch: oldEpoch }, { timeout: 100 }),
        BrokerRecoveryError,
      );
      const fromNew = await readBroker.history('c', { since: ended.position });
      assert.equal(fromNew.recovered, true);
    });
  },
);

test(
  'restart with AOF (appendfsync always): same epoch, open streams and subscribers deliver everything once',
  { timeout: 60_000 },
  async (t) => {
    if (missing !== undefined) return t.skip(missing);
    const server: RedisServer = await startRedisServer([
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
    ]);
    cleanup.push(() => server.close());
    await expectLog(appLog, /unreachable/, async () => {
      const pubBroker = new RedisBroker({ url: server.url });
      const readBroker = new RedisBroker({ url: server.url });
      cleanup.push(async () => {
        await pubBroker.close();
        await readBroker.close();
      });
      const start = (await readBroker.history('c', { limit: 0 })).position;
      const streams = [
        reader(readBroker.stream('c', { since: start })),
        reader(pubBroker.stream('c', { since: start })),
      ];
      const live: Publication[] = [];
      const sub = readBroker.subscribe('c', (p) => live.push(p));
      await sub.ready;
      const pub = publisher(pubBroker, 'c', 5);
      await pub.ackedMore(20);

      await server.kill();
      const failedBefore = pub.failures.length;
      await until(() => pub.failures.length > failedBefore + 3, 10_000, 'publishes to fail');
      await sleep(200);
      await server.restart();
      await pub.ackedMore(20);
      await pub.stop();
      for (const failure of pub.failures)
        assert.ok(failure instanceof BrokerUnavailableError, String(failure));

      const last = pub.acked.at(-1) as Publication;
      assert.equal(last.epoch, start.epoch, 'the data was kept, so the epoch is the same');
      // Every acknowledged publication, and nothing twice: offsets 1..last without a gap.
      for (const stream of streams) {
        await until(
          () => (stream.got.at(-1)?.offset ?? 0) >= last.offset || stream.ended !== null,
          20_000,
          'the stream to catch up',
        );
        assert.equal(stream.ended, null, `the stream ended: ${String(stream.ended)}`);
        assert.deepEqual(
          stream.got.map((p) => p.offset),
          stream.got.map((_, i) => i + 1),
        );
        assert.ok(stream.got.every((p) => p.epoch === start.epoch));
        const delivered = new Map(stream.got.map((p) => [p.offset, p.data]));
        for (const acked of pub.acked) assert.equal(delivered.get(acked.offset), acked.data);
      }
      await until(() => (live.at(-1)?.offset ?? 0) >= last.offset, 20_000, 'the subscriber');
      assert.deepEqual(
        live.map((p) => p.offset),
        live.map((_, i) => i + 1),
        'the subscriber got what was published meanwhile, once each',
      );
      await sub.close();
    });
  },
);

test(
  'restart from an older snapshot (a lost tail, epoch key intact): no offset twice, resumes refused',
  { timeout: 60_000 },
  async (t) => {
    if (missing !== undefined) return t.skip(missing);
    // What `appendfsync everysec` loses in a machine crash, made on cue: SAVE a snapshot, publish
    // more, kill -9, start again from the snapshot. The channel's hash and epoch come back, its
    // counter behind what the processes already saw.
    const server: RedisServer = await startRedisServer(['--dbfilename', 'dump.rdb']);
    cleanup.push(() => server.close());
    await expectLog(appLog, /unreachable/, async () => {
      const pubBroker = new RedisBroker({ url: server.url });
      const readBroker = new RedisBroker({ url: server.url });
      cleanup.push(async () => {
        await pubBroker.close();
        await readBroker.close();
      });
      const start = (await readBroker.history('c', { limit: 0 })).position;
      const stream = reader(readBroker.stream('c', { since: start }));
      for (let i = 1; i <= 10; i++) await pubBroker.publish('c', i);
      assert.equal(await command(server.port, 'SAVE'), '+OK');
      let last: Publication | undefined;
      for (let i = 11; i <= 15; i++) last = await pubBroker.publish('c', i);
      await until(() => stream.got.length === 15, 5000, 'the stream to see 15');
      await server.kill();
      await server.restart();
      const { epoch } = last as Publication;

      // The engine moves the channel to a new epoch rather than hand out 11..15 again.
      let next: Publication | undefined;
      const deadline = Date.now() + 20_000;
      while (next === undefined && Date.now() < deadline) {
        next = await pubBroker.publish('c', 'after').catch(() => undefined);
        if (next === undefined) await sleep(50);
      }
      assert.ok(next !== undefined, 'publishes succeed again');
      assert.ok(
        next.epoch !== epoch || next.offset > 15,
        `offset ${next.offset} handed out twice in epoch ${epoch}`,
      );
      await until(() => stream.ended !== null, 20_000, 'the stream to end');
      assert.ok(stream.ended instanceof BrokerRecoveryError, String(stream.ended));
      assert.notEqual(stream.ended.position.epoch, epoch);
      assert.deepEqual(
        stream.got.map((p) => p.offset),
        Array.from({ length: 15 }, (_, i) => i + 1),
      );
      // A process that never saw 11..15 cannot resume from there either.
      const stranger = new RedisBroker({ url: server.url });
      cleanup.push(() => stranger.close());
      const resumed = await stranger.history('c', { since: position(last as Publication) });
      assert.equal(resumed.recovered, false);
    });
  },
);

test(
  'every process restarted with a Redis that lost its tail: a new epoch, old positions refused',
  { timeout: 60_000 },
  async (t) => {
    if (missing !== undefined) return t.skip(missing);
    // The same lost tail, but no process that saw it survives: only the Redis run that wrote
    // the channel, kept in its hash, tells the engine the data may be incomplete.
    const server: RedisServer = await startRedisServer(['--dbfilename', 'dump.rdb']);
    cleanup.push(() => server.close());
    const kept: Publication[] = [];
    let other: Publication | undefined;
    let last: Publication | undefined;
    const after = await restartEverything(server, async (before) => {
      for (let i = 1; i <= 10; i++) kept.push(await before.publish('c', i));
      // A channel whose tail the restart does not touch changes epoch too: nothing tells them
      // apart.
      other = await before.publish('other', 'x');
      assert.equal(await command(server.port, 'SAVE'), '+OK');
      for (let i = 11; i <= 15; i++) last = await before.publish('c', i);
    });
    const { epoch } = last as Publication;
    const next = await after.publish('c', 'after');
    assert.notEqual(next.epoch, epoch, `offset ${next.offset} handed out again in epoch ${epoch}`);
    assert.equal(next.offset, 1);
    for (const since of [position(last as Publication), position(kept[9] as Publication)]) {
      const resumed = await after.history('c', { since });
      assert.equal(resumed.recovered, false, `resumed from ${since.offset}@${since.epoch}`);
      assert.equal(resumed.position.epoch, next.epoch);
    }
    const otherNow = await after.history('other', { since: position(other as Publication) });
    assert.equal(otherNow.recovered, false);
    // Once moved, the channel keeps its new epoch while this Redis runs.
    const again = await after.publish('c', 'again');
    assert.deepEqual([again.epoch, again.offset], [next.epoch, 2]);
  },
);

test(
  'restart with AOF (appendfsync always), every process new: the epoch and the history stay',
  { timeout: 60_000 },
  async (t) => {
    if (missing !== undefined) return t.skip(missing);
    const server: RedisServer = await startRedisServer([
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
    ]);
    cleanup.push(() => server.close());
    const published: Publication[] = [];
    const after = await restartEverything(server, async (before) => {
      published.push(await before.publish('c', 1), await before.publish('c', 2));
    });
    const [first, second] = published as [Publication, Publication];
    const resumed = await after.history('c', { since: position(first) });
    assert.equal(resumed.recovered, true);
    assert.deepEqual(
      resumed.publications.map((p) => [p.offset, p.epoch, p.data]),
      [[2, second.epoch, 2]],
    );
    const next = await after.publish('c', 3);
    assert.deepEqual([next.epoch, next.offset], [first.epoch, 3]);
  },
);

test(
  'a Redis that refuses CONFIG counts as not durable: it works, and a restart starts a new epoch',
  { timeout: 60_000 },
  async (t) => {
    if (missing !== undefined) return t.skip(missing);
    // Managed Redis services often rename CONFIG away: the engine cannot tell `always` there.
    const server: RedisServer = await startRedisServer([
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--rename-command',
      'CONFIG',
      '',
    ]);
    cleanup.push(() => server.close());
    let first: Publication | undefined;
    const after = await restartEverything(server, async (before) => {
      first = await before.publish('c', 1);
      assert.equal((await before.publish('c', 2)).offset, 2);
    });
    const resumed = await after.history('c', { since: position(first as Publication) });
    assert.equal(resumed.recovered, false);
    assert.notEqual(resumed.position.epoch, (first as Publication).epoch);
  },
);

test(
  'restart with AOF: streams and long polls started or resumed while Redis is down wait for it, then get every offset once',
  { timeout: 60_000 },
  async (t) => {
    if (missing !== undefined) return t.skip(missing);
    // The soak benchmark's shape in one process: readers that resume from their last offset
    // again and again (as an SSE client with Last-Event-ID does) on a few busy channels, some
    // of them exactly while Redis is down: behind the channel's live delivery (a history read
    // meets the outage), at its tail, and on a channel this broker does not deliver yet (the
    // subscription meets it). None may fail or stall: they wait for Redis like an open stream.
    const server: RedisServer = await startRedisServer([
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
    ]);
    cleanup.push(() => server.close());
    const CHANNELS = ['a', 'b', 'c'];
    const LATE = 'late'; // nobody on this broker reads it before the outage
    const READERS_PER_CHANNEL = 40;
    await expectLog(appLog, /unreachable/, async () => {
      const pubBroker = new RedisBroker({ url: server.url });
      const readBroker = new RedisBroker({ url: server.url });
      cleanup.push(async () => {
        await pubBroker.close();
        await readBroker.close();
      });
      const starts = new Map<string, StreamPosition>();
      for (const channel of [...CHANNELS, LATE]) {
        starts.set(channel, (await readBroker.history(channel, { limit: 0 })).position);
      }
      const publishers = [...CHANNELS, LATE].map((channel) => publisher(pubBroker, channel, 4));

      // One reader: a chain of streams, each resuming after the last offset the reader got.
      interface Reader {
        channel: string;
        offsets: number[];
        stream: AsyncIterableIterator<Publication> | null;
        ended: unknown;
      }
      let running = true;
      const readers: Reader[] = [];
      const loops: Array<Promise<void>> = [];
      const addReader = (channel: string, offsets: number[] = []): Reader => {
        const r: Reader = { channel, offsets, stream: null, ended: null };
        readers.push(r);
        loops.push(
          (async () => {
            const start = starts.get(channel) as StreamPosition;
            while (running && r.ended === null) {
              const last = r.offsets.at(-1);
              const since = last === undefined ? start : { offset: last, epoch: start.epoch };
              const stream = readBroker.stream(channel, { since });
              r.stream = stream;
              try {
                for await (const p of stream) {
                  if (p.epoch !== start.epoch) throw new Error(`epoch ${p.epoch}`);
                  r.offsets.push(p.offset);
                }
              } catch (error) {
                r.ended = error;
              }
            }
          })(),
        );
        return r;
      };
      for (const channel of CHANNELS) {
        for (let i = 0; i < READERS_PER_CHANNEL; i++) addReader(channel);
      }
      // Readers leave and resume at random moments, before, during and after the outage.
      let churning = true;
      const churn = (async () => {
        while (churning) {
          const r = readers[Math.floor(Math.random() * readers.length)] as Reader;
          void r.stream?.return?.();
          await sleep(2);
        }
      })();
      await Promise.all(publishers.map((p) => p.ackedMore(30)));

      await server.kill();
      // Started while Redis is down: behind the live delivery (from the channel's start), at
      // its tail (from the last offset an existing reader got), and on a channel not yet
      // delivered to this broker; plus long polls behind the channel.
      for (const channel of CHANNELS) {
        for (let i = 0; i < 5; i++) addReader(channel);
        const ahead = readers.find((r) => r.channel === channel && r.offsets.length > 0);
        for (let i = 0; i < 5; i++) addReader(channel, [...(ahead?.offsets ?? [])]);
      }
      for (let i = 0; i < 10; i++) addReader(LATE);
      const polls = CHANNELS.map((channel) =>
        readBroker.waitFor(channel, starts.get(channel) as StreamPosition, { timeout: 20_000 }),
      );
      await sleep(300);
      await server.restart();
      await Promise.all(publishers.map((p) => p.ackedMore(60)));
      churning = false;
      await churn;
      for (const p of publishers) await p.stop();
      for (const p of publishers) {
        for (const failure of p.failures) {
          assert.ok(failure instanceof BrokerUnavailableError, String(failure));
        }
      }
      for (const [i, poll] of polls.entries()) {
        const got = await poll;
        const from = (starts.get(CHANNELS[i] as string) as StreamPosition).offset + 1;
        assert.ok(got.length > 0, 'a long poll behind the channel got publications');
        assert.deepEqual(
          got.map((p) => p.offset),
          got.map((_, j) => from + j),
        );
      }
      const last = new Map<string, number>();
      for (const channel of [...CHANNELS, LATE]) {
        last.set(channel, (await pubBroker.history(channel, { limit: 0 })).position.offset);
      }
      // Each reader's current stream must reach the channel's end by itself.
      const caughtUp = (r: Reader): boolean =>
        r.ended !== null || (r.offsets.at(-1) ?? 0) >= (last.get(r.channel) as number);
      try {
        await until(
          () => readers.every(caughtUp),
          10_000,
          "every reader to reach its channel's end",
        );
      } catch (error) {
        const stuck = readers.filter((r) => !caughtUp(r));
        throw new Error(
          `${stuck.length} of ${readers.length} readers stalled: ` +
            stuck
              .slice(0, 5)
              .map((r) => `${r.channel} at ${r.offsets.at(-1)} of ${last.get(r.channel)}`)
              .join('; '),
          { cause: error },
        );
      } finally {
        running = false;
        for (const r of readers) void r.stream?.return?.();
        await Promise.all(loops);
      }
      for (const r of readers) {
        assert.equal(r.ended, null, `a ${r.channel} reader failed: ${String(r.ended)}`);
        const end = last.get(r.channel) as number;
        const first = (starts.get(r.channel) as StreamPosition).offset + 1;
        assert.deepEqual(
          r.offsets,
          Array.from({ length: end - first + 1 }, (_, i) => first + i),
          `a ${r.channel} reader got every offset once, in order`,
        );
      }
    });
  },
);

test(
  'readers started while Redis is down wait, and still end on abort, timeout and close()',
  { timeout: 30_000 },
  async (t) => {
    if (missing !== undefined) return t.skip(missing);
    const server: RedisServer = await startRedisServer();
    cleanup.push(() => server.close());
    await expectLog(appLog, /unreachable/, async () => {
      const broker = new RedisBroker({ url: server.url });
      cleanup.push(() => broker.close());
      const pub = await broker.publish('c', 1);
      await server.kill();
      await assert.rejects(broker.publish('c', 2), BrokerUnavailableError);
      // Behind the channel (a history read meets the outage) and on a channel this broker
      // does not deliver yet (the subscription meets it).
      const controller = new AbortController();
      const aborted = reader(broker.stream('c', { since: null, signal: controller.signal }));
      const behind = reader(broker.stream('c', { since: { offset: 0, epoch: pub.epoch } }));
      const fresh = reader(broker.stream('other'));
      const sub = broker.subscribe('other', () => {});
      const waited = Date.now();
      assert.deepEqual(await broker.waitFor('c', null, { timeout: 300 }), []);
      assert.ok(Date.now() - waited >= 250, 'the long poll waited for Redis until its timeout');
      await sleep(500);
      for (const r of [aborted, behind, fresh]) assert.equal(r.ended, null, String(r.ended));
      assert.equal(sub.ready.done(), false, 'the subscription waits for Redis too');

      controller.abort();
      await until(() => aborted.ended !== null, 2000, 'the aborted stream to end');
      assert.equal(aborted.ended, 'done');
      await sub.close();
      assert.equal(sub.ready.done(), true);
      const closing = Date.now();
      await broker.close();
      await until(
        () => behind.ended !== null && fresh.ended !== null,
        2000,
        'close() to end the waiting streams',
      );
      assert.ok(Date.now() - closing < 2000);
      for (const r of [behind, fresh]) {
        assert.ok(r.ended instanceof BrokerClosedError, String(r.ended));
        assert.deepEqual(r.got, []);
      }
    });
  },
);
