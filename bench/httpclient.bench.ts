/**
 * HTTP client throughput: requests/s at concurrency 64 against one raw node:http server in a
 * child process (so the load generator and the server never share a thread), for typhoon's
 * AsyncHTTPClient, undici's `request` on a Pool, Node's global `fetch`, and Python Tornado's
 * AsyncHTTPClient (bench/peers/tornado_client.py; skipped, with the reason printed, when no
 * python3 with tornado is found). Then the blocking HTTPClient's per-request cost against
 * AsyncHTTPClient, one request at a time.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import type { Bench, BenchFactory, Contender } from './harness.ts';
import { startPeer, tornadoPython, type Peer } from './peers/spawn.ts';
import { AsyncHTTPClient, HTTPClient } from '../src/httpclient/index.ts';

const CONCURRENCY = 64;

/** Run `one` in `concurrency` loops for `ms`; completed requests per second. */
async function throughput(
  ms: number,
  concurrency: number,
  one: () => Promise<unknown>,
): Promise<number> {
  let count = 0;
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
  return count / ((performance.now() - start) / 1000);
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
      measure: () => throughput(sampleMs, CONCURRENCY, () => typhoon!.fetch(url())),
    },
    {
      name: 'undici request (Pool)',
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
    server ??= await startPeer('node:http');
  };

  const clientBench: Bench = {
    name: `HTTP client: GET /hello, ${CONCURRENCY} concurrent requests (server: node:http in a child process)`,
    unit: 'req/s',
    higherIsBetter: true,
    baseline: 'undici request (Pool)',
    target: 'typhoon >= 0.85x undici request, >= 1.5x global fetch, >= 5x Tornado',
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
