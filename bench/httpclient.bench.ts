/**
 * HTTP client throughput: requests/s at concurrency 64 against one raw node:http server in a
 * child process (so the load generator and the server never share a thread), for typhoon's
 * AsyncHTTPClient, undici's `request` on a Pool, Node's global `fetch`, and Python Tornado's
 * AsyncHTTPClient (bench/peers/tornado_client.py; skipped, with the reason printed, when no
 * python3 with tornado is found). Then the blocking HTTPClient's per-request cost against
 * AsyncHTTPClient, one request at a time.
 *
 * typhoon and undici are each measured in a process of their own, started per sample and
 * pinned with `taskset` to the core the server does not use (when there are two cores and
 * taskset is installed), as a client-bound service runs: in one shared process the two
 * clients' garbage and JIT state mix, and the ratio flattered typhoon.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import {
  cpuUsSince,
  type Bench,
  type BenchFactory,
  type Contender,
  type Sample,
} from './harness.ts';
import { startPeer, tornadoPython, type Peer } from './peers/spawn.ts';
import { AsyncHTTPClient, HTTPClient } from '../src/httpclient/index.ts';

const CONCURRENCY = 64;

/**
 * Run `one` in `concurrency` loops for `ms`: completed requests per second, and this
 * process's CPU time per request (the client's own cost; the server is another process).
 */
async function throughput(
  ms: number,
  concurrency: number,
  one: () => Promise<unknown>,
): Promise<Sample> {
  let count = 0;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const end = start + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await one();
        count++;
      }
    }),
  );
  const value = count / ((performance.now() - start) / 1000);
  return { value, cpuUsPerOp: cpuUsSince(cpuStart) / count };
}

/** Tornado's client in a python3 child; it measures itself and prints req/s. */
function tornadoThroughput(python: string, url: string, seconds: number): Promise<number> {
  const script = fileURLToPath(new URL('./peers/tornado_client.py', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(python, [script, url, String(CONCURRENCY), String(seconds)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const value = Number(out.trim());
      if (code === 0 && Number.isFinite(value)) resolve(value);
      else reject(new Error(`tornado_client.py exited with ${code}: ${out}`));
    });
  });
}

type PinnedKind = 'typhoon' | 'undici';

/** One request of a pinned contender, and how to close it. */
function pinnedClient(
  kind: PinnedKind,
  origin: string,
): {
  one: () => Promise<unknown>;
  close: () => Promise<void>;
} {
  if (kind === 'typhoon') {
    const client = new AsyncHTTPClient({ forceInstance: true, maxClients: CONCURRENCY });
    return { one: () => client.fetch(`${origin}/hello`), close: () => client.close() };
  }
  const pool = new Pool(origin, { connections: CONCURRENCY });
  return {
    one: async () => {
      const { body } = await pool.request({ path: '/hello', method: 'GET' });
      await body.arrayBuffer();
    },
    close: () => pool.close(),
  };
}

/** True when contenders can be pinned: two cores or more and `taskset` installed. */
const canPin = availableParallelism() >= 2 && existsSync('/usr/bin/taskset');

/** A sample of `kind` in a fresh process (pinned to core 1 when possible): warm-up, then `ms`. */
function pinnedSample(
  kind: PinnedKind,
  origin: string,
  ms: number,
  warmMs: number,
): Promise<Sample> {
  const script = fileURLToPath(import.meta.url);
  const args = [script, '--pinned-child', kind, origin, String(ms), String(warmMs)];
  const [command, argv] = canPin
    ? ['/usr/bin/taskset', ['-c', '1', process.execPath, ...args]]
    : [process.execPath, args];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        resolve(JSON.parse(out) as Sample);
      } catch (error) {
        reject(new Error(`pinned ${kind} client failed (${String(error)}): ${out}`));
      }
    });
  });
}

const factory: BenchFactory = ({ smoke, sampleMs }) => {
  let server: Peer | null = null;
  let typhoon: AsyncHTTPClient | null = null;
  let pool: Pool | null = null;
  let sync: HTTPClient | null = null;
  let sequential: AsyncHTTPClient | null = null;
  const url = () => server!.url('/hello');

  const python = tornadoPython();
  if (python === null) {
    console.log(
      'Tornado client skipped: no python3 that can `import tornado` (install python3-tornado).\n',
    );
  }

  const contenders: Contender[] = [
    {
      name: 'typhoon AsyncHTTPClient',
      measure: () => pinnedSample('typhoon', server!.url(''), sampleMs, smoke ? 50 : 500),
    },
    {
      name: 'undici request (Pool)',
      measure: () => pinnedSample('undici', server!.url(''), sampleMs, smoke ? 50 : 500),
    },
    {
      name: 'typhoon AsyncHTTPClient (in this process)',
      measure: () => throughput(sampleMs, CONCURRENCY, () => typhoon!.fetch(url())),
    },
    {
      name: 'undici request (Pool, in this process)',
      measure: () =>
        throughput(sampleMs, CONCURRENCY, async () => {
          const { body } = await pool!.request({ path: '/hello', method: 'GET' });
          await body.arrayBuffer();
        }),
    },
    {
      name: 'global fetch',
      measure: () =>
        throughput(sampleMs, CONCURRENCY, async () => {
          const response = await fetch(url());
          await response.arrayBuffer();
        }),
    },
  ];
  if (python !== null) {
    contenders.push({
      name: 'Tornado AsyncHTTPClient (python3)',
      measure: () => tornadoThroughput(python, url(), sampleMs / 1000),
    });
  }

  const setup = async () => {
    if (server !== null) return;
    server = await startPeer('node:http');
    // The server on core 0, the pinned clients on core 1: neither waits for the other's core.
    if (canPin)
      execFileSync('/usr/bin/taskset', ['-pc', '0', String(server.pid)], { stdio: 'ignore' });
  };

  const clientBench: Bench = {
    name: `HTTP client: GET /hello, ${CONCURRENCY} concurrent requests (server: node:http in a child process)`,
    unit: 'req/s',
    higherIsBetter: true,
    baseline: 'undici request (Pool)',
    target:
      'typhoon >= 0.95x undici request with CPU per request <= 1.1x, >= 1.5x global fetch, ' +
      '>= 5x Tornado (first two rows: each in its own process' +
      (canPin
        ? ', pinned to core 1; server on core 0)'
        : '; taskset or a second core missing: not pinned)'),
    contenders,
    setup: async () => {
      await setup();
      typhoon = new AsyncHTTPClient({ forceInstance: true, maxClients: CONCURRENCY });
      pool = new Pool(server!.url(''), { connections: CONCURRENCY });
    },
    teardown: async () => {
      await typhoon?.close();
      await pool?.close();
    },
  };

  const requests = smoke ? 20 : 300;
  const syncBench: Bench = {
    name: 'Blocking HTTPClient: cost of one request, one at a time',
    unit: 'µs/req',
    higherIsBetter: false,
    baseline: 'AsyncHTTPClient (awaited one by one)',
    target: 'report only: the worker round trip the blocking client adds',
    contenders: [
      {
        name: 'HTTPClient (blocking)',
        measure: () => {
          const start = performance.now();
          for (let i = 0; i < requests; i++) sync!.fetch(url());
          return ((performance.now() - start) * 1000) / requests;
        },
      },
      {
        name: 'AsyncHTTPClient (awaited one by one)',
        measure: async () => {
          const start = performance.now();
          for (let i = 0; i < requests; i++) await sequential!.fetch(url());
          return ((performance.now() - start) * 1000) / requests;
        },
      },
    ],
    setup: async () => {
      await setup();
      sync = new HTTPClient();
      sync.fetch(url()); // start the worker outside the measurement
      sequential = new AsyncHTTPClient({ forceInstance: true });
    },
    teardown: async () => {
      sync?.close();
      await sequential?.close();
      await server?.stop();
      server = null;
    },
  };

  return [clientBench, syncBench];
};

export default factory;

// A pinned contender's process: `node httpclient.bench.ts --pinned-child KIND ORIGIN MS WARM_MS`
// prints one JSON Sample.
if (
  process.argv[2] === '--pinned-child' &&
  import.meta.url === pathToFileURL(process.argv[1]!).href
) {
  const [, , , kind, origin, ms, warmMs] = process.argv;
  const client = pinnedClient(kind as PinnedKind, origin!);
  await throughput(Number(warmMs), CONCURRENCY, client.one);
  const sample = await throughput(Number(ms), CONCURRENCY, client.one);
  await client.close();
  process.stdout.write(JSON.stringify(sample));
}
