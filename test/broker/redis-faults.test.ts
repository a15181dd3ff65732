// RedisBroker through real faults: redis-server killed with SIGKILL by PID and started again on
// the same port while a publisher and readers run. Without persistence the data is gone, so
// the epoch changes and open streams end with BrokerRecoveryError; with AOF and
// `appendfsync always` nothing acknowledged is lost and the readers go on by themselves.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { RedisBroker, position, type Publication } from '../../src/broker/index.ts';
import { BrokerRecoveryError, BrokerUnavailableError } from '../../src/errors.ts';
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
