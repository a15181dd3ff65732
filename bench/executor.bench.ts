/**
 * Blocking work off the loop (issue 3), side by side in one run:
 *
 * (a) Loop responsiveness under CPU load: 8 jobs of 50 ms of CPU each arrive at once (queued
 *     with setImmediate, as 8 requests read in one poll would be) and run either on the loop or
 *     on a `ThreadPoolExecutor`; meanwhile a 1 ms timer records how late each of its ticks is.
 *     Sample: p99 tick delay in ms (lower is better). Target: ≤ 10 ms with the executor.
 * (b) Throughput of trivial tasks (`x => x + 1`), 256 in flight: typhoon's executor vs raw
 *     piscina with the same number of threads. Target: typhoon ≥ 0.8× piscina.
 * (c) The blocking watchdog's cost (threshold 100 ms): on a busy loop, callbacks of ~20 µs of
 *     work per second with the watchdog on vs off (target ≥ 0.98×, i.e. ≤ 2 % overhead); on an
 *     idle loop, CPU time the process (all threads) spends per second of idling.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import type { Bench, BenchFactory } from './harness.ts';
import { ThreadPoolExecutor } from '../src/executor.ts';
import { IOLoop } from '../src/ioloop.ts';

const JOBS = 8;
const JOB_MS = 50;
const IN_FLIGHT = 256;

/** Burn `ms` of CPU on the calling thread (self-contained: it is also sent to workers). */
function burn(ms: number): number {
  const end = performance.now() + ms;
  let n = 0;
  while (performance.now() < end) n++;
  return n;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Run `start()` (which starts the jobs) while a 1 ms timer ticks; p99 tick delay in ms. */
async function p99TimerDelay(start: () => Promise<unknown>): Promise<number> {
  const delays: number[] = [];
  let expected = performance.now() + 1;
  const timer = setInterval(() => {
    const now = performance.now();
    delays.push(Math.max(0, now - expected));
    expected = now + 1;
  }, 1);
  await new Promise((resolve) => setTimeout(resolve, 20));
  await start();
  await new Promise((resolve) => setTimeout(resolve, 20));
  clearInterval(timer);
  return percentile(delays, 99);
}

/** Keep `inFlight` tasks running for `ms`; tasks completed per second. */
async function throughput(ms: number, run: (i: number) => PromiseLike<unknown>): Promise<number> {
  const end = performance.now() + ms;
  let done = 0;
  let i = 0;
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    let active = 0;
    const next = (): void => {
      while (active < IN_FLIGHT && performance.now() < end) {
        active++;
        run(i++).then(() => {
          active--;
          done++;
          next();
        }, reject);
      }
      if (active === 0) resolve();
    };
    next();
  });
  return done / ((performance.now() - started) / 1000);
}

/** Callbacks of ~20 µs of work completed per second on the loop, for `ms`. */
async function busyLoopRate(ms: number): Promise<number> {
  const started = performance.now();
  const end = started + ms;
  let count = 0;
  await new Promise<void>((resolve) => {
    const step = (): void => {
      burn(0.02);
      count++;
      if (performance.now() < end) setImmediate(step);
      else resolve();
    };
    setImmediate(step);
  });
  return count / ((performance.now() - started) / 1000);
}

/** CPU ms the whole process (every thread) uses per second while the loop idles for `ms`. */
async function idleCpu(ms: number): Promise<number> {
  const before = process.cpuUsage();
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / ((performance.now() - started) / 1000);
}

const factory: BenchFactory = ({ smoke, sampleMs }) => {
  const threads = Math.max(2, availableParallelism());
  let executor: ThreadPoolExecutor;
  let piscina: Piscina;
  let dir = '';
  const loop = IOLoop.current();

  const responsiveness: Bench = {
    name: `loop p99 timer delay while ${JOBS} × ${JOB_MS} ms CPU jobs run`,
    unit: 'ms',
    higherIsBetter: false,
    target: 'typhoon executor ≤ 10 ms',
    setup: async () => {
      executor = new ThreadPoolExecutor({ maxWorkers: threads });
      await Promise.all(Array.from({ length: threads }, () => executor.submit(burn, 1)));
    },
    teardown: () => executor.shutdown(),
    contenders: [
      {
        name: 'typhoon executor',
        measure: () =>
          p99TimerDelay(() =>
            Promise.all(Array.from({ length: JOBS }, () => executor.submit(burn, JOB_MS))),
          ),
      },
      {
        name: 'on the loop',
        measure: () =>
          p99TimerDelay(() =>
            Promise.all(
              Array.from(
                { length: JOBS },
                () => new Promise((resolve) => setImmediate(() => resolve(burn(JOB_MS)))),
              ),
            ),
          ),
      },
    ],
  };

  const tasks: Bench = {
    name: `trivial tasks, ${threads} threads, ${IN_FLIGHT} in flight`,
    unit: 'tasks/s',
    higherIsBetter: true,
    target: 'typhoon ≥ 0.8× raw piscina',
    setup: async () => {
      dir = mkdtempSync(join(tmpdir(), 'typhoon-bench-'));
      const file = join(dir, 'trivial.mjs');
      writeFileSync(file, 'export default function addOne(x) { return x + 1; }\n');
      piscina = new Piscina({ filename: file, minThreads: threads, maxThreads: threads });
      executor = new ThreadPoolExecutor({ maxWorkers: threads });
      const addOne = (x: number) => x + 1;
      await throughput(smoke ? 50 : 300, (i) => executor.submit(addOne, i));
      await throughput(smoke ? 50 : 300, (i) => piscina.run(i) as Promise<number>);
    },
    teardown: async () => {
      await Promise.all([executor.shutdown(), piscina.destroy()]);
      rmSync(dir, { recursive: true, force: true });
    },
    contenders: [
      {
        name: 'typhoon ThreadPoolExecutor.submit',
        measure: () => throughput(sampleMs, (i) => executor.submit((x: number) => x + 1, i)),
      },
      {
        name: 'raw piscina.run',
        measure: () => throughput(sampleMs, (i) => piscina.run(i) as Promise<number>),
      },
    ],
  };

  const busy: Bench = {
    name: 'busy loop with the blocking watchdog (threshold 100 ms)',
    unit: 'callbacks/s',
    higherIsBetter: true,
    target: 'watchdog on ≥ 0.98× off (≤ 2 % overhead)',
    contenders: [
      {
        name: 'watchdog on',
        measure: async () => {
          loop.setBlockingLogThreshold(100);
          // Exclude the one-time start of the watchdog thread (and its inspector warm-up).
          await new Promise((resolve) => setTimeout(resolve, smoke ? 200 : 1000));
          try {
            return await busyLoopRate(sampleMs);
          } finally {
            loop.setBlockingLogThreshold(null);
          }
        },
      },
      { name: 'watchdog off', measure: () => busyLoopRate(sampleMs) },
    ],
  };

  const idle: Bench = {
    name: 'idle loop with the blocking watchdog (threshold 100 ms)',
    unit: 'CPU ms/s',
    higherIsBetter: false,
    target: 'a fraction of a CPU ms per second',
    contenders: [
      {
        name: 'watchdog on',
        measure: async () => {
          loop.setBlockingLogThreshold(100);
          // Exclude the one-time start of the watchdog thread (and its inspector warm-up).
          await new Promise((resolve) => setTimeout(resolve, smoke ? 200 : 1000));
          try {
            return await idleCpu(sampleMs);
          } finally {
            loop.setBlockingLogThreshold(null);
          }
        },
      },
      { name: 'watchdog off', measure: () => idleCpu(sampleMs) },
    ],
  };

  return [responsiveness, tasks, busy, idle];
};

export default factory;
