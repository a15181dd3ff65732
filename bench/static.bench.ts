/**
 * Static file serving: requests/s for a 1 MiB file, typhoon's StaticFileHandler vs a raw
 * node:http server (`fs.stat` + `fs.createReadStream().pipe(res)`, no path checks, no
 * caching headers) vs fastify with @fastify/static. Each server runs in its own child process
 * (bench/peers/static-servers.ts); the load generator (wrk when installed, else autocannon)
 * runs in another. Every server's answer is checked byte for byte before any load.
 *
 * Targets (issue 6): typhoon ≥ 0.9× node:http and ≥ fastify.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { median, type BenchFactory } from './harness.ts';
import { loadTool, runLoad } from './load.ts';
import { cpuMsOf } from './peers/spawn.ts';

const KINDS = ['typhoon', 'node:http', 'fastify'] as const;
type Kind = (typeof KINDS)[number];
const SCRIPT = fileURLToPath(new URL('./peers/static-servers.ts', import.meta.url));
const FILE_SIZE = 1024 * 1024;

interface Server {
  port: number;
  pid: number;
  child: ChildProcess;
}

function startServer(kind: Kind, dir: string): Promise<Server> {
  const child = spawn(process.execPath, [SCRIPT, kind, '0', dir], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdin!.on('error', () => {});
  process.once('exit', () => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${kind} did not start`)), 20_000);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      const m = /listening (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), pid: child.pid!, child });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${kind} exited (${code}) before listening`));
    });
  });
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.stdin!.end();
  server.child.kill('SIGKILL');
  await exited;
}

const factory: BenchFactory = ({ smoke }) => {
  const durationMs = smoke ? 1000 : 2000;
  const connections = 16;
  let dir = '';
  let content = Buffer.alloc(0);
  const servers = new Map<Kind, Server>();
  const samples = new Map<Kind, number[]>(KINDS.map((k) => [k, []]));
  const cpu = new Map<Kind, number[]>(KINDS.map((k) => [k, []]));
  const url = (kind: Kind) => `http://127.0.0.1:${servers.get(kind)!.port}/static/file.bin`;

  console.log(
    `> load: ${loadTool()}, 1 thread, ${connections} keep-alive connections, ${durationMs} ms ` +
      `per sample, a ${FILE_SIZE / 1024} KiB file; each server in its own process. The machine ` +
      `is shared: compare ratios, not absolutes.\n`,
  );
  return [
    {
      name: 'static 1 MiB file',
      unit: 'req/s',
      higherIsBetter: true,
      baseline: 'node:http',
      target: 'typhoon ≥ 0.9x node:http, ≥ fastify',
      rounds: smoke ? 1 : 5,
      contenders: KINDS.map((kind) => ({
        name: kind,
        measure: async () => {
          const pid = servers.get(kind)!.pid;
          const before = cpuMsOf(pid);
          const result = await runLoad({ url: url(kind), durationMs, connections });
          cpu.get(kind)!.push(((cpuMsOf(pid) - before) * 1000) / result.requests);
          samples.get(kind)!.push(result.requestsPerSec);
          return result.requestsPerSec;
        },
      })),
      async setup() {
        dir = mkdtempSync(join(tmpdir(), 'typhoon-static-bench-'));
        content = randomBytes(FILE_SIZE);
        writeFileSync(join(dir, 'file.bin'), content);
        for (const kind of KINDS) servers.set(kind, await startServer(kind, dir));
        for (const kind of KINDS) {
          const response = await fetch(url(kind));
          const body = Buffer.from(await response.arrayBuffer());
          if (response.status !== 200 || !body.equals(content))
            throw new Error(`${kind}: wrong answer ${response.status}, ${body.length} bytes`);
          if (!smoke) await runLoad({ url: url(kind), durationMs: 1000, connections });
        }
      },
      async teardown() {
        console.log(
          '> server CPU per request (median µs): ' +
            KINDS.map((k) => `${k} ${median(cpu.get(k)!).toFixed(0)}`).join(', '),
        );
        const typhoon = median(samples.get('typhoon')!);
        const ratios = (['node:http', 'fastify'] as const).map((k) => {
          const ratio = typhoon / median(samples.get(k)!);
          const wanted = k === 'node:http' ? 0.9 : 1;
          return `typhoon/${k} ${ratio.toFixed(2)}x (want ≥ ${wanted}x: ${ratio >= wanted ? 'met' : 'NOT met'})`;
        });
        console.log(`> targets: ${ratios.join('; ')}\n`);
        await Promise.all([...servers.values()].map(stopServer));
        servers.clear();
        rmSync(dir, { recursive: true, force: true });
      },
    },
  ];
};

export default factory;
