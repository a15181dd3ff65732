/**
 * Soak: SSE clients that reconnect at random with `Last-Event-ID` while messages flow at
 * 200/s across 3 typhoon processes (`forkProcesses(3)` + `RedisBroker`), and Redis killed and
 * restarted once mid-run (AOF with `appendfsync always`, same port and directory). Nothing may
 * be lost and nothing handed to the page twice: each client checks that the ids of its channel
 * come as 1, 2, 3 … across its reconnections (it deduplicates nothing), and at the end that it
 * reached the channel's latest id. Server memory (Σ RSS of the primary and the workers after a
 * full GC) is read after the warm-up and at the end: a leak per reconnection or per message
 * shows as growth.
 *
 * Modes: 10 minutes with 10 000 clients (default); smoke (CI): 10 s measured with 500 clients
 * (under a minute in all).
 * `SOAK_SECONDS`, `SOAK_CLIENTS`, `SOAK_CHANNELS`, `SOAK_RATE` (messages/s) and
 * `SOAK_RECONNECT_MS` (mean time between a client's reconnections) override; `SOAK_RESTART=0`
 * leaves Redis alone (to tell a restart's effect from the rest). `BENCH_DEBUG=1` prints each
 * worker's heap and event-loop delay at every reading.
 */
import { BrokerUnavailableError, RedisBroker } from '../src/broker/index.ts';
import type { Bench, BenchFactory } from './harness.ts';
import { redisMissing, startRedisServer, freePort } from '../test/helpers/redis-server.ts';
import {
  sleep,
  sourceAddresses,
  startClientFleet,
  startServerFleet,
  track,
  untrack,
  type ClientFleet,
  type ServerFleet,
} from './peers/sse-fleet.ts';
import type { SoakStats } from './peers/sse-clients.ts';

const PROCESSES = 3;

function num(env: string, fallback: number): number {
  const raw = process.env[env];
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${env} must be a positive number`);
  return value;
}

const factory: BenchFactory = async ({ smoke }) => {
  const seconds = num('SOAK_SECONDS', smoke ? 10 : 600);
  const warmupSeconds = smoke ? 2 : 30;
  const clients = Math.round(num('SOAK_CLIENTS', smoke ? 500 : 10_000));
  const channels = Math.round(num('SOAK_CHANNELS', smoke ? 10 : 100));
  const rate = num('SOAK_RATE', 200);
  const reconnectMeanMs = num('SOAK_RECONNECT_MS', smoke ? 5_000 : 30_000);
  const missing = redisMissing();
  if (missing !== undefined) {
    console.log(`> soak skipped: ${missing}\n`);
    return [];
  }
  console.log(
    `> ${clients.toLocaleString('en-US')} SSE clients over ${channels} channels, each ` +
      `reconnecting with Last-Event-ID every ${(reconnectMeanMs / 1000).toFixed(0)} s on ` +
      `average; ${rate} messages/s over ${PROCESSES} typhoon processes sharing one Redis ` +
      `(AOF, appendfsync always), killed and restarted once at half time; ${warmupSeconds} s ` +
      `warm-up, then ${seconds} s measured. The machine is shared (2 cores).\n`,
  );

  const redis = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'always']);
  track(redis.pid!);
  const url = redis.url;
  let fleet: ServerFleet | undefined;
  let crowd: ClientFleet | undefined;
  let broker: RedisBroker | undefined;
  let publisher: ReturnType<typeof setInterval> | undefined;
  const names = Array.from({ length: channels }, (_, i) => `soak${i}`);
  const latest = new Array<number>(channels).fill(0);
  let published = 0;
  let refused = 0;
  let oddError: string | undefined;
  let rssStart = 0;
  let rssEnd = 0;
  let heapStart = 0;
  let heapEnd = 0;
  let restartMs = 0;
  const totals: SoakStats = {
    clients: 0,
    events: 0,
    duplicates: 0,
    lost: 0,
    reconnects: 0,
    serverCloses: 0,
    failures: 0,
    resets: 0,
  };
  let expected = 0;
  let behindClients = 0;
  let silentClients = 0;
  try {
    const port = await freePort();
    fleet = await startServerFleet(
      'typhoon-sse-server.ts',
      [String(port), String(PROCESSES), url, 'soak:'],
      PROCESSES,
    );
    broker = new RedisBroker({ url, keyPrefix: 'soak:' });
    const start = [];
    for (const name of names) start.push(await retry(() => broker!.publish(name, { n: 0 })));
    start.forEach((pub, i) => (latest[i] = pub.offset));
    const since = start.map((pub) => ({
      path: `/events/${pub.channel}`,
      since: `${pub.offset}@${pub.epoch}`,
    }));
    const sinceOffsets = start.map((pub) => pub.offset);

    // The publisher: `rate` messages a second, round robin over the channels, in ticks of
    // 50 ms. A publish refused while Redis is down is not a message (its sender was told).
    let next = 0;
    const perTick = rate / 20;
    let owed = 0;
    const b = broker;
    publisher = setInterval(() => {
      owed += perTick;
      for (; owed >= 1; owed--) {
        const index = next++ % channels;
        b.publish(names[index]!, { n: next, at: Date.now() }).then(
          (pub) => {
            published++;
            if (pub.offset > latest[index]!) latest[index] = pub.offset;
          },
          (error: unknown) => {
            refused++;
            if (!(error instanceof BrokerUnavailableError)) oddError ??= String(error);
          },
        );
      }
    }, 50);

    // Connecting takes longer the more clients there are, and each one that is in starts its
    // random reconnections at once (10 000 clients at a 30 s mean: ~330 new streams a second).
    const connectTimeoutMs = Math.max(60_000, clients * 20);
    const connectStart = Date.now();
    crowd = await startClientFleet(
      clients,
      (share, _i, concurrency) => ({
        mode: 'soak',
        port,
        channels: since,
        count: share,
        addresses: sourceAddresses(),
        concurrency,
        connectTimeoutMs,
        reconnectMeanMs,
      }),
      connectTimeoutMs,
    );
    console.log(
      `> ${crowd.open.toLocaleString('en-US')} clients connected in ` +
        `${((Date.now() - connectStart) / 1000).toFixed(1)} s`,
    );
    if (crowd.open !== clients) {
      console.log(`> ${crowd.open} of ${clients} connected (${crowd.firstError ?? ''})`);
    }
    await sleep(warmupSeconds * 1000);
    await fleet.collect();
    rssStart = fleet.rss();
    heapStart = fleet.heap().used;

    await sleep((seconds * 1000) / 2);
    const down = Date.now();
    if (process.env.SOAK_RESTART !== '0') {
      const before = redis.pid;
      await redis.restart();
      untrack(before);
      track(redis.pid!);
    }
    restartMs = Date.now() - down;
    await sleep((seconds * 1000) / 2);
    await fleet.collect();
    rssEnd = fleet.rss();
    heapEnd = fleet.heap().used;

    clearInterval(publisher);
    publisher = undefined;
    crowd.tell({ type: 'quiet' });
    // Let the last publications and the reconnections in flight arrive.
    await sleep(3000);
    // What Redis holds is the truth: a publish whose reply was lost in the restart still counts.
    for (let i = 0; i < channels; i++) {
      const head = await retry(() => broker!.history(names[i]!, { limit: 0 }));
      if (head.position.offset > latest[i]!) latest[i] = head.position.offset;
    }
    // Ask until every client reached its channel's latest id (a loaded machine delivers late),
    // or until the drain deadline: what is missing then is lost.
    const drainUntil = Date.now() + (smoke ? 8_000 : 30_000);
    let got: Array<{ stats: SoakStats }>;
    for (;;) {
      const reports = crowd.gather('soak', 30_000);
      crowd.tell({ type: 'final', latest });
      got = await reports;
      if (got.length < crowd.children.length) {
        throw new Error(`only ${got.length} of ${crowd.children.length} client processes reported`);
      }
      const behind = got.reduce((sum, r) => sum + (r.stats.behind ?? 0), 0);
      behindClients = got.reduce((sum, r) => sum + (r.stats.behindClients ?? 0), 0);
      silentClients = got.reduce((sum, r) => sum + (r.stats.silentClients ?? 0), 0);
      if (behind === 0 || Date.now() > drainUntil) break;
      await sleep(1000);
    }
    for (const { stats } of got) {
      totals.firstProblem ??= stats.firstProblem;
      for (const key of ['clients', 'events', 'duplicates', 'lost', 'reconnects'] as const) {
        totals[key] += stats[key];
      }
      for (const key of ['serverCloses', 'failures', 'resets'] as const) totals[key] += stats[key];
    }
    for (let i = 0; i < crowd.open; i++)
      expected += latest[i % channels]! - sinceOffsets[i % channels]!;
  } finally {
    if (publisher !== undefined) clearInterval(publisher);
    await crowd?.stop();
    await fleet?.stop();
    if (fleet?.stderr()) console.log(`> the servers said:\n${fleet.stderr().slice(0, 3000)}`);
    await broker?.close();
    const pid = redis.pid;
    await redis.close();
    untrack(pid);
  }

  const unique = totals.events - totals.duplicates;
  const growth = rssEnd / rssStart;
  const summary =
    `> ${published.toLocaleString('en-US')} messages published (${refused} refused while Redis ` +
    `was down for ${restartMs} ms), ${totals.reconnects.toLocaleString('en-US')} random ` +
    `reconnections, ${totals.serverCloses} streams closed by the server, ${totals.failures} ` +
    `failed connects, ${totals.resets} resets; at the end ${behindClients} clients behind ` +
    `their channel (${silentClients} of them silent for 5 s).\n` +
    `> targets: lost ${totals.lost} (want 0: ${totals.lost === 0 ? 'met' : 'NOT met'}); ` +
    `duplicates handed to the page ${totals.duplicates} (want 0: ` +
    `${totals.duplicates === 0 ? 'met' : 'NOT met'}); server RSS ${mb(rssStart)} MB after ` +
    `warm-up, ${mb(rssEnd)} MB at the end: ${((growth - 1) * 100).toFixed(1)} % (want within ` +
    `10 %: ${Math.abs(growth - 1) <= 0.1 ? 'met' : 'NOT met'}); V8 heap used (workers) ` +
    `${mb(heapStart)} → ${mb(heapEnd)} MB.` +
    (totals.firstProblem === undefined ? '' : ` First problem: ${totals.firstProblem}.`) +
    (oddError === undefined ? '' : ` A publish failed otherwise: ${oddError}.`) +
    '\n';
  const label = `${clients.toLocaleString('en-US')} clients, ${seconds} s`;
  const report = (
    name: string,
    unit: string,
    higherIsBetter: boolean,
    rows: Array<[string, number]>,
    target: string,
    teardown?: () => void,
  ): Bench => ({
    name: `SSE soak: ${name} (${label})`,
    unit,
    higherIsBetter,
    baseline: rows[1]![0],
    target,
    rounds: 1,
    contenders: rows.map(([contender, value]) => ({ name: contender, measure: () => value })),
    ...(teardown ? { teardown } : {}),
  });
  return [
    report(
      'server memory (Σ RSS of 3 processes + primary)',
      'MB',
      false,
      [
        ['at the end', Number(mb(rssEnd))],
        ['after warm-up', Number(mb(rssStart))],
      ],
      'end within 10 % of the start',
    ),
    report(
      'event ids handed to the page',
      'ids',
      true,
      [
        ['seen once (no duplicate)', unique],
        ['published to the client after it connected', expected],
      ],
      '1.00x: 0 lost, 0 duplicates',
      () => console.log(summary),
    ),
  ];
};

/** `fn()`, tried again while Redis answers too slowly (a loaded machine, fsync always). */
async function retry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!(error instanceof BrokerUnavailableError) || attempt === 5) throw error;
      await sleep(1000);
    }
  }
}

function mb(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

export default factory;
