/**
 * N held Server-Sent Events connections across P server processes on this machine, fanned out
 * through Redis: typhoon (`forkProcesses(P)` + `Application` + an `EventSourceHandler`
 * streaming a `RedisBroker` channel) side by side with the raw peer (`node:cluster` + bare
 * `node:http` + a hand-written Redis pub/sub subscriber), alternating contender by contender
 * in one run.
 *
 * One sample per contender and round, each in a fresh fleet of server processes:
 * 1. warm up with a small crowd and one broadcast, close it, full GC in every worker, and sum
 *    the RSS of all server processes (the idle baseline);
 * 2. open N connections from several client processes (≤ 15 000 each) and 32 source
 *    addresses, paced so that fewer than 400 wait at once (the listen backlog is 511): the
 *    time to connect all is a sample;
 * 3. full GC, sum RSS again: (RSS − baseline) / N is the memory per held connection;
 * 4. broadcast one message to all N several times (the first is a warm-up): every client
 *    notes `receipt − publish time` on the machine's monotonic clock; p50, p99 and max of the
 *    latencies of one broadcast, and how many clients never got it, are samples.
 *
 * Sizes: `SCALE_N` (or `--n=`), `SCALE_P` (`--p=`), `SCALE_ROUNDS`; `--quick` (or
 * `SCALE_QUICK=1`) is N = 20 000, P = 2, one round; smoke mode is N = 300, P = 2.
 */
import { RedisBroker } from '../src/broker/index.ts';
import { median, type Bench, type BenchFactory } from './harness.ts';
import { startRedisServer, redisMissing, session } from '../test/helpers/redis-server.ts';
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
import { nowMs, type ChildMessage } from './peers/sse-clients.ts';
import { freePort } from '../test/helpers/redis-server.ts';

type Kind = 'typhoon' | 'raw node:cluster';
const KINDS: Kind[] = ['typhoon', 'raw node:cluster'];

function setting(flag: string, env: string): string | undefined {
  const arg = process.argv.find((a) => a.startsWith(`--${flag}=`));
  return arg?.slice(flag.length + 3) ?? process.env[env];
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface Round {
  bytesPerConn: number;
  connectMs: number;
  p50: number;
  p99: number;
  max: number;
  delivered: number;
  lost: number;
  /** V8 heap used per connection (workers, after a full GC), bytes. */
  heapPerConn: number;
}

const factory: BenchFactory = async ({ smoke }) => {
  const quick = process.argv.includes('--quick') || process.env.SCALE_QUICK === '1';
  const n = Number(setting('n', 'SCALE_N') ?? (smoke ? 300 : quick ? 20_000 : 100_000));
  const p = Number(setting('p', 'SCALE_P') ?? (smoke || quick ? 2 : 6));
  const rounds = smoke || quick ? 1 : Number(setting('rounds', 'SCALE_ROUNDS') ?? 3);
  const broadcasts = smoke ? 3 : 6; // the first of each fleet is a warm-up
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(p) || p < 1) {
    throw new Error(`SCALE_N and SCALE_P must be positive integers, got ${n} and ${p}`);
  }
  const missing = redisMissing();
  if (missing !== undefined) {
    console.log(`> scale skipped: ${missing}\n`);
    return [];
  }
  console.log(
    `> N = ${n.toLocaleString('en-US')} held SSE connections over P = ${p} server processes ` +
      `(+ the primary), ${Math.ceil(n / 15_000)} client processes, 32 source addresses; ` +
      `Redis pub/sub fan-out; ${rounds} round(s), ${broadcasts - 1} measured broadcasts each. ` +
      'Memory = Σ RSS of all server processes after a full GC, minus the idle baseline, / N. ' +
      'The machine is shared (2 cores).\n',
  );

  const redis = await startRedisServer();
  track(redis.pid!);
  const connectTimeoutMs = Math.max(120_000, n * 6);
  const results = new Map<Kind, Round[]>(KINDS.map((k) => [k, []]));
  try {
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? KINDS : [...KINDS].reverse();
      for (const kind of order) {
        const r = await runOnce(kind, {
          n,
          p,
          broadcasts,
          redisPort: redis.port,
          connectTimeoutMs,
          round,
        });
        results.get(kind)!.push(r);
        console.log(
          `> ${kind} round ${round + 1}: ${fmtKB(r.bytesPerConn)} per connection, connected in ` +
            `${(r.connectMs / 1000).toFixed(1)} s, broadcast p50 ${r.p50.toFixed(1)} ms / p99 ` +
            `${r.p99.toFixed(1)} ms / max ${r.max.toFixed(1)} ms, ${r.lost} lost; V8 heap ` +
            `${fmtKB(r.heapPerConn)} per connection`,
        );
      }
    }
  } finally {
    const pid = redis.pid;
    await redis.close();
    untrack(pid);
  }

  const typhoon = results.get('typhoon')!;
  const raw = results.get('raw node:cluster')!;
  const ratio = (pick: (r: Round) => number): number =>
    median(typhoon.map(pick)) / median(raw.map(pick));
  const lost = (rs: Round[]): number => rs.reduce((s, r) => s + r.lost, 0);
  const verdict = (value: number, max: number): string => (value <= max ? 'met' : 'NOT met');
  const memRatio = ratio((r) => r.bytesPerConn);
  const p99Ratio = ratio((r) => r.p99);
  const summary =
    `> targets: memory per connection ${memRatio.toFixed(2)}x raw (want ≤ 1.2x: ` +
    `${verdict(memRatio, 1.2)}); broadcast p99 ${p99Ratio.toFixed(2)}x raw (want ≤ 1.2x: ` +
    `${verdict(p99Ratio, 1.2)}); lost: typhoon ${lost(typhoon)}, raw ${lost(raw)} (want 0: ` +
    `${lost(typhoon) === 0 ? 'met' : 'NOT met'}).\n`;

  const label = `N = ${n.toLocaleString('en-US')}, P = ${p}`;
  const table = (
    name: string,
    unit: string,
    pick: (r: Round) => number,
    extra: Partial<Bench> = {},
  ): Bench => {
    const queues = new Map(KINDS.map((k) => [k, results.get(k)!.map(pick)]));
    return {
      name: `SSE at scale: ${name} (${label})`,
      unit,
      higherIsBetter: false,
      baseline: 'raw node:cluster',
      rounds,
      contenders: KINDS.map((kind) => ({ name: kind, measure: () => queues.get(kind)!.shift()! })),
      ...extra,
    };
  };
  return [
    table('server memory per held connection', 'bytes/conn', (r) => r.bytesPerConn, {
      target: 'typhoon ≤ 1.2x raw',
    }),
    table('time to connect all', 'ms', (r) => r.connectMs),
    table('broadcast latency p50', 'ms', (r) => r.p50),
    table('broadcast latency p99', 'ms', (r) => r.p99, { target: 'typhoon ≤ 1.2x raw' }),
    table('broadcast latency max', 'ms', (r) => r.max),
    table('deliveries of the measured broadcasts', '% of sent', (r) => r.delivered, {
      higherIsBetter: true,
      target: '100 % (0 lost)',
      teardown: () => console.log(summary),
    }),
  ];
};

function fmtKB(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

async function runOnce(
  kind: Kind,
  o: {
    n: number;
    p: number;
    broadcasts: number;
    redisPort: number;
    connectTimeoutMs: number;
    round: number;
  },
): Promise<Round> {
  const port = await freePort();
  const channel = `scale${o.round}`;
  const path = `/events/${channel}`;
  const addresses = sourceAddresses();
  let fleet: ServerFleet | undefined;
  let crowd: ClientFleet | undefined;
  let broker: RedisBroker | undefined;
  let raw: Awaited<ReturnType<typeof session>> | undefined;
  try {
    if (kind === 'typhoon') {
      const prefix = `bench${o.round}:`;
      fleet = await startServerFleet(
        'typhoon-sse-server.ts',
        [String(port), String(o.p), `redis://127.0.0.1:${o.redisPort}`, prefix],
        o.p,
      );
      broker = new RedisBroker({ url: `redis://127.0.0.1:${o.redisPort}`, keyPrefix: prefix });
    } else {
      fleet = await startServerFleet(
        'sse-raw-server.ts',
        [String(port), String(o.p), String(o.redisPort), channel],
        o.p,
      );
      raw = await session(o.redisPort);
    }
    const publish = async (k: number): Promise<void> => {
      const data = { k, t: nowMs() };
      if (broker) await broker.publish(channel, data);
      else {
        // A RESP array (the inline form would split the JSON at its quotes).
        const json = JSON.stringify(data);
        await raw!.send(
          `*3\r\n$7\r\nPUBLISH\r\n$${channel.length}\r\n${channel}\r\n$${json.length}\r\n${json}`,
        );
      }
    };
    // A typhoon client resumes from the channel's position (as a page that reconnects does),
    // so a broadcast sent right after its headers arrived is never missed.
    const first = broker ? await broker.publish(channel, { k: -1, t: 0 }) : null;
    const lastEventId = first === null ? null : `${first.offset}@${first.epoch}`;
    const clientPath = lastEventId === null ? path : `${path}?lastEventId=${lastEventId}`;
    const open = (count: number): Promise<ClientFleet> =>
      startClientFleet(
        count,
        (share, _i, concurrency) => ({
          mode: 'scale',
          port,
          path: clientPath,
          count: share,
          addresses,
          concurrency,
          connectTimeoutMs: o.connectTimeoutMs,
        }),
        o.connectTimeoutMs,
      );

    // Warm-up: JIT, lazy allocations, the broker's channel feed in every worker.
    const warm = await open(Math.min(o.n, 100 * o.p));
    await sleep(300);
    await broadcast(warm, publish, 0, warm.open);
    await warm.stop();
    await sleep(500);
    await fleet.collect();
    const base = fleet.rss();
    const baseHeap = fleet.heap().used;

    const started = Date.now();
    crowd = await open(o.n);
    const connectMs = Date.now() - started;
    if (crowd.open !== o.n) {
      console.log(
        `> ${kind}: ${crowd.open} of ${o.n} connected (${crowd.failed} failed: ${crowd.firstError})`,
      );
    }
    await sleep(1000);
    await fleet.collect();
    const held = fleet.rss();
    const heapPerConn = (fleet.heap().used - baseHeap) / crowd.open;

    const p50: number[] = [];
    const p99: number[] = [];
    const max: number[] = [];
    let lost = 0;
    let received = 0;
    for (let k = 1; k < o.broadcasts; k++) {
      const got = await broadcast(crowd, publish, k, crowd.open);
      await sleep(300);
      if (k === 1) continue;
      got.sort((a, b) => a - b);
      p50.push(percentile(got, 50));
      p99.push(percentile(got, 99));
      max.push(got[got.length - 1] ?? NaN);
      lost += crowd.open - got.length;
      received += got.length;
    }
    return {
      bytesPerConn: (held - base) / crowd.open,
      connectMs,
      p50: median(p50),
      p99: median(p99),
      max: median(max),
      delivered: (100 * received) / (crowd.open * (o.broadcasts - 2)),
      lost,
      heapPerConn,
    };
  } finally {
    await crowd?.stop();
    await fleet?.stop();
    await broker?.close();
    raw?.close();
  }
}

/** Publish broadcast `k` and collect every client's latency for it (ms). */
async function broadcast(
  crowd: ClientFleet,
  publish: (k: number) => Promise<void>,
  k: number,
  expected: number,
): Promise<number[]> {
  const timeoutMs = 30_000 + expected / 10;
  const complete = crowd.gather('complete', timeoutMs, (m) => m.k === k);
  await publish(k);
  await complete;
  const reports = crowd.gather('latencies', 30_000, (m) => m.k === k);
  crowd.tell({ type: 'collect', k });
  const got: number[] = [];
  for (const report of await reports) {
    for (const value of (report as Extract<ChildMessage, { type: 'latencies' }>).values)
      got.push(value);
  }
  return got;
}

export default factory;
