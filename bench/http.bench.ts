/**
 * HTTP server throughput: hello-world, a JSON response and a 1 KB POST echo, typhoon vs raw
 * node:http vs fastify vs Python Tornado 6 (one process). Each server runs in its own child
 * process; the load generator (wrk when installed, else autocannon) runs in another, so
 * neither shares the server's thread. Contenders alternate round by round (see harness.ts),
 * and every server's answers are checked once before any load, so all serve the same bytes.
 *
 * Targets (issue 5): hello-world typhoon ≥ 0.9× node:http, ≥ fastify, ≥ 5× Tornado.
 */
import { median, type Bench, type BenchFactory } from './harness.ts';
import { loadTool, runLoad, type LoadOptions } from './load.ts';
import { startPeers, tornadoPython, type Peer, type PeerKind } from './peers/spawn.ts';
import { JSON_DOC } from './peers/child.ts';

const ECHO_BODY = Buffer.from('x'.repeat(1024));

interface Endpoint {
  name: string;
  path: string;
  method: 'GET' | 'POST';
  body?: Buffer;
  target?: string;
  check: (text: string) => boolean;
}

const endpoints: Endpoint[] = [
  {
    name: 'HTTP hello-world',
    path: '/hello',
    method: 'GET',
    target: 'typhoon ≥ 0.9x node:http, ≥ fastify, ≥ 5x tornado',
    check: (text) => text === 'Hello, world',
  },
  {
    name: 'HTTP JSON response',
    path: '/json',
    method: 'GET',
    check: (text) => JSON.stringify(JSON.parse(text)) === JSON.stringify(JSON_DOC),
  },
  {
    name: 'HTTP 1 KB POST echo',
    path: '/echo',
    method: 'POST',
    body: ECHO_BODY,
    check: (text) => text === ECHO_BODY.toString(),
  },
];

const factory: BenchFactory = ({ smoke }) => {
  let kinds: PeerKind[] = ['typhoon', 'node:http', 'fastify'];
  if (tornadoPython() !== null) kinds.push('tornado');
  else console.log('> Python Tornado 6 not found (python3-tornado): tornado column skipped.\n');
  // BENCH_PEERS=node:http,tornado narrows the field (for debugging one server).
  const only = process.env.BENCH_PEERS?.split(',');
  if (only) kinds = kinds.filter((kind) => only.includes(kind));
  const durationMs = 1000;
  console.log(
    `> load: ${loadTool()}, 1 thread, 64 keep-alive connections, ${durationMs} ms per sample; ` +
      `each server in its own process. The machine is shared: compare ratios, not absolutes.\n`,
  );

  // The servers are shared by the three benches: started by the first setup, stopped by the
  // last teardown (and by spawn.ts's exit hooks on any other way out).
  let peers: Promise<Map<PeerKind, Peer>> | undefined;
  const start = async () => {
    peers ??= startPeers(kinds).then(async (map) => {
      for (const peer of map.values()) await verify(peer);
      return map;
    });
    return peers;
  };
  const stop = async () => {
    if (peers === undefined) return;
    const map = await peers;
    peers = undefined;
    await Promise.all([...map.values()].map((p) => p.stop()));
  };

  return endpoints.map((endpoint, index): Bench => {
    let map: Map<PeerKind, Peer>;
    const samples = new Map<PeerKind, number[]>(kinds.map((kind) => [kind, []]));
    // Server CPU per request (µs): steadier than requests/s while others share the machine.
    const cpu = new Map<PeerKind, number[]>(kinds.map((kind) => [kind, []]));
    const load = (peer: Peer): LoadOptions => {
      const options: LoadOptions = {
        url: peer.url(endpoint.path),
        durationMs,
        method: endpoint.method,
      };
      if (endpoint.body) options.body = endpoint.body;
      return options;
    };
    const bench: Bench = {
      name: endpoint.name,
      unit: 'req/s',
      higherIsBetter: true,
      baseline: 'node:http',
      contenders: kinds.map((kind) => ({
        name: kind,
        measure: async () => {
          const peer = map.get(kind)!;
          const cpuBefore = peer.cpuMs();
          const result = await runLoad(load(peer));
          const cpuUsPerOp = ((peer.cpuMs() - cpuBefore) * 1000) / result.requests;
          cpu.get(kind)!.push(cpuUsPerOp);
          samples.get(kind)!.push(result.requestsPerSec);
          return { value: result.requestsPerSec, cpuUsPerOp };
        },
      })),
      async setup() {
        map = await start();
        // One unmeasured run per server lets the JITs warm up (skipped in smoke mode).
        if (!smoke) for (const kind of kinds) await runLoad(load(map.get(kind)!));
      },
      async teardown() {
        console.log(
          `> ${endpoint.name}, server CPU per request (median µs): ` +
            kinds.map((kind) => `${kind} ${median(cpu.get(kind)!).toFixed(1)}`).join(', ') +
            '\n',
        );
        if (endpoint.path === '/hello' && !smoke) console.log(verdict(samples, cpu));
        if (index === endpoints.length - 1) await stop();
      },
    };
    if (endpoint.target !== undefined) bench.target = endpoint.target;
    return bench;
  });
};

/**
 * The hello-world targets of issue 5, checked against this run's medians twice: by
 * requests/s, and by server CPU per request (inverted, so both read "typhoon is N× the
 * other"). On a shared machine the second is the steadier of the two.
 */
function verdict(samples: Map<PeerKind, number[]>, cpu: Map<PeerKind, number[]>): string {
  const of = (map: Map<PeerKind, number[]>, kind: PeerKind) => {
    const values = map.get(kind);
    return values && values.length > 0 ? median(values) : undefined;
  };
  const checks: Array<[PeerKind, number]> = [
    ['node:http', 0.9],
    ['fastify', 1],
    ['tornado', 5],
  ];
  const line = (label: string, ratioOf: (kind: PeerKind) => number | undefined) =>
    `> hello-world targets by ${label}: ` +
    checks
      .flatMap(([kind, wanted]) => {
        const ratio = ratioOf(kind);
        if (ratio === undefined || !Number.isFinite(ratio)) return [];
        const met = ratio >= wanted ? 'met' : 'NOT met';
        return [`typhoon/${kind} ${ratio.toFixed(2)}x (want ≥ ${wanted}x: ${met})`];
      })
      .join('; ');
  const rps = (kind: PeerKind) => {
    const mine = of(samples, 'typhoon');
    const other = of(samples, kind);
    return mine === undefined || other === undefined ? undefined : mine / other;
  };
  const perCpu = (kind: PeerKind) => {
    const mine = of(cpu, 'typhoon');
    const other = of(cpu, kind);
    return mine === undefined || other === undefined ? undefined : other / mine;
  };
  return `${line('requests/s', rps)}\n${line('CPU per request', perCpu)}\n`;
}

/** Check every endpoint of a server once, so the benchmark compares servers doing the same job. */
async function verify(peer: Peer): Promise<void> {
  for (const endpoint of endpoints) {
    const init: RequestInit = { method: endpoint.method };
    if (endpoint.body) {
      init.body = endpoint.body;
      init.headers = { 'Content-Type': 'application/octet-stream' };
    }
    const response = await fetch(peer.url(endpoint.path), init);
    const text = await response.text();
    if (response.status !== 200 || !endpoint.check(text)) {
      throw new Error(
        `${peer.kind} ${endpoint.path}: unexpected answer ${response.status} ${text.slice(0, 200)}`,
      );
    }
  }
}

export default factory;
