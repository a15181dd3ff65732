/**
 * Plumbing shared by the scale and soak benchmarks: a fleet of server processes (a primary
 * and its workers, each worker announcing `worker PID`), a fleet of client processes
 * (bench/peers/sse-clients.ts), and the source addresses they connect from. Every process
 * started here is killed by PID when the benchmark ends, also when it fails or is
 * interrupted.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { rssOf } from './spawn.ts';
import type { ChildMessage, ParentMessage, ScaleStart, SoakStart } from './sse-clients.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

/** Most connections one client process holds (a process may have 20 000 descriptors). */
export const CLIENTS_PER_PROCESS = 15_000;
/** Connections waiting for their headers at once, over all client processes (backlog 511). */
export const PENDING_CONNECTS = 400;

/** 127.0.0.2 … 127.0.0.33: Linux binds quickly only ~7 000 ports per source address. */
export function sourceAddresses(count = 32): string[] {
  return Array.from({ length: count }, (_, i) => `127.0.0.${i + 2}`);
}

const live = new Set<number>();
let hooked = false;

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
  live.delete(pid);
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const pid of [...live]) killPid(pid);
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => process.exit(130));
  }
}

/** Track a PID so it is killed when this process exits. */
export function track(pid: number): void {
  hook();
  live.add(pid);
}

/** Forget a PID that was stopped by other means. */
export function untrack(pid: number | null): void {
  if (pid !== null) live.delete(pid);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A primary with `processes` workers. */
export interface ServerFleet {
  primary: number;
  workers: number[];
  /** Sum of the RSS of the primary and every worker, in bytes. */
  rss(): number;
  /** Σ V8 heap used and Σ external memory of the workers after the last collect(), bytes. */
  heap(): { used: number; external: number };
  /** What the servers wrote to stderr (the first 16 KiB). */
  stderr(): string;
  /** Full garbage collection in every worker (SIGUSR2), then a pause for it to finish. */
  collect(): Promise<void>;
  stop(): Promise<void>;
}

/** Start `script args…` under `--expose-gc` and wait until `processes` workers announce themselves. */
export async function startServerFleet(
  script: string,
  args: string[],
  processes: number,
  timeoutMs = 60_000,
): Promise<ServerFleet> {
  const child = spawn(process.execPath, ['--expose-gc', `${here}${script}`, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  track(child.pid!);
  child.stdin!.on('error', () => {});
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const workers: number[] = [];
  const heaps = new Map<number, { used: number; external: number }>();
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    if (stderr.length < 16_384) stderr += chunk;
  });
  const stop = async (): Promise<void> => {
    for (const pid of workers) killPid(pid);
    killPid(child.pid!);
    await exited;
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`${script}: ${workers.length}/${processes} workers in time\n${stderr}`)),
        timeoutMs,
      );
      let out = '';
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (chunk: string) => {
        out += chunk;
        let nl: number;
        while ((nl = out.indexOf('\n')) >= 0) {
          const line = out.slice(0, nl);
          out = out.slice(nl + 1);
          const heap = /^heap (\d+) (\d+) (\d+)/.exec(line);
          if (heap)
            heaps.set(Number(heap[1]), { used: Number(heap[2]), external: Number(heap[3]) });
          if (heap && process.env.BENCH_DEBUG) console.log(`> ${line}`);
          const match = /^worker (\d+)$/.exec(line);
          if (match) {
            const pid = Number(match[1]);
            track(pid);
            workers.push(pid);
            if (workers.length === processes) {
              clearTimeout(timer);
              resolve();
            }
          }
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${script} exited (${code ?? signal})\n${stderr}`));
      });
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    primary: child.pid!,
    workers,
    rss: () => [child.pid!, ...workers].reduce((sum, pid) => sum + rssOf(pid), 0),
    stderr: () => stderr,
    heap() {
      let used = 0;
      let external = 0;
      for (const h of heaps.values()) {
        used += h.used;
        external += h.external;
      }
      return { used, external };
    },
    async collect() {
      // Each worker answers with a `heap` line once its GC is done (slow on a loaded machine).
      heaps.clear();
      for (const pid of workers) process.kill(pid, 'SIGUSR2');
      const deadline = Date.now() + 30_000;
      while (heaps.size < workers.length && Date.now() < deadline) await sleep(100);
      await sleep(300);
    },
    stop,
  };
}

/** A set of client processes sharing one workload. */
export interface ClientFleet {
  children: ChildProcess[];
  /** Connections that got their `200` headers, over all processes. */
  open: number;
  failed: number;
  firstError?: string;
  /** Send every child a message. */
  tell(message: ParentMessage): void;
  /** Wait for one message of `type` from every child (or the deadline). */
  gather<T extends ChildMessage['type']>(
    type: T,
    timeoutMs: number,
    filter?: (message: Extract<ChildMessage, { type: T }>) => boolean,
  ): Promise<Array<Extract<ChildMessage, { type: T }>>>;
  stop(): Promise<void>;
}

/**
 * Start enough client processes for `count` connections and open them all. `make(share)`
 * builds each child's start message for its share of the connections.
 */
export async function startClientFleet(
  count: number,
  make: (share: number, index: number, concurrency: number) => ScaleStart | SoakStart,
  timeoutMs: number,
): Promise<ClientFleet> {
  const processes = Math.max(1, Math.ceil(count / CLIENTS_PER_PROCESS));
  const concurrency = Math.max(1, Math.floor(PENDING_CONNECTS / processes));
  const children: ChildProcess[] = [];
  const exits: Array<Promise<void>> = [];
  for (let i = 0; i < processes; i++) {
    const child = fork(`${here}sse-clients.ts`, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    track(child.pid!);
    children.push(child);
    exits.push(new Promise((resolve) => child.once('exit', () => resolve())));
  }
  const fleet: ClientFleet = {
    children,
    open: 0,
    failed: 0,
    tell(message) {
      for (const child of children) if (child.connected) child.send(message);
    },
    gather(type, ms, filter) {
      return new Promise((resolve) => {
        const got: Array<Extract<ChildMessage, { type: typeof type }>> = [];
        const listeners: Array<[ChildProcess, (m: ChildMessage) => void]> = [];
        const done = (): void => {
          clearTimeout(timer);
          for (const [child, fn] of listeners) child.off('message', fn);
          resolve(got);
        };
        const timer = setTimeout(done, ms);
        for (const child of children) {
          const fn = (message: ChildMessage): void => {
            if (message.type !== type) return;
            const typed = message as Extract<ChildMessage, { type: typeof type }>;
            if (filter && !filter(typed)) return;
            got.push(typed);
            child.off('message', fn);
            if (got.length === children.length) done();
          };
          listeners.push([child, fn]);
          child.on('message', fn);
        }
      });
    },
    async stop() {
      fleet.tell({ type: 'close' });
      const timer = setTimeout(() => {
        for (const child of children) killPid(child.pid!);
      }, 5000);
      await Promise.all(exits);
      clearTimeout(timer);
      for (const child of children) live.delete(child.pid!);
    },
  };
  const opened = fleet.gather('opened', timeoutMs + 10_000);
  let left = count;
  children.forEach((child, i) => {
    const share = Math.ceil(left / (processes - i));
    left -= share;
    child.send(make(share, i, concurrency));
  });
  const reports = await opened;
  for (const report of reports) {
    fleet.open += report.open;
    fleet.failed += report.failed;
    if (report.firstError !== undefined) fleet.firstError ??= report.firstError;
  }
  if (reports.length < children.length) {
    await fleet.stop();
    throw new Error(`only ${reports.length} of ${children.length} client processes opened in time`);
  }
  return fleet;
}

export { sleep };
