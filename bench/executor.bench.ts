/**
 * Blocking work off the loop (issue 3), side by side in one run:
 *
 * (a) Loop responsiveness under CPU load: 8 jobs of 50 ms of CPU each arrive at once (queued
 *     with setImmediate, as 8 requests read in one poll would be) and run either on the loop or
 *     on a `ThreadPoolExecutor`; meanwhile a 1 ms timer records how late each of its ticks is.
 *     Sample: p99 tick delay in ms (lower is better). Target: ≤ 10 ms with the executor.
 * (b) Throughput of trivial tasks (`x => x + 1`, written inline in the call as users do), 256 in
 *     flight: typhoon's executor vs raw piscina with the same number of threads and the same
 *     function (in a module). Target: typhoon ≥ 0.8× piscina with its defaults. Raw piscina
 *     with `stricterFIFO` (the mode typhoon runs it in; typhoon hands piscina only as many
 *     tasks as it has free pipeline slots, so piscina's own queue stays empty) is shown too:
 *     it is slower than the default, which lets tasks overtake one another, so the default is
 *     the baseline.
 * (c) The blocking watchdog's cost (threshold 100 ms): on a busy loop, callbacks of a fixed
 *     ~20 µs computation per second with the watchdog on vs off, 11 alternating rounds (target
 *     ≥ 0.98×, i.e. ≤ 2 % overhead); on an idle loop, CPU time the process (all threads)
 *     spends per second of idling. The watchdog starts 0.5 s before its sample (excluding its
 *     thread's one-time start) and stops after it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import type { Bench, BenchFactory } from './harness.ts';
import { ThreadPoolExecutor } from '../src/executor/index.ts';
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

let sink = 0;
/** A fixed amount of computation (not a time-based spin: a late-scheduled thread does the same
 * work per callback, so only real overhead changes the rate). */
function work(rounds: number): void {
  let h = sink | 0;
  for (let i = 0; i < rounds; i++) h = Math.imul(h ^ i, 0x9e3779b1) >>> 0;
  sink = h;
}

/** Rounds of {@link work} that take about `us` microseconds on this machine. */
function calibrate(us: number): number {
  // Let the JIT optimise work() first, or the count is sized for cold code.
  for (let i = 0; i < 20_000; i++) work(1000);
  let rounds = 1000;
  for (;;) {
    const start = performance.now();
    for (let i = 0; i < 100; i++) work(rounds);
    const each = ((performance.now() - start) * 1000) / 100;
    if (each > us || rounds > 1e8) return Math.max(1, Math.round((rounds * us) / each));
    rounds *= 2;
  }
}

/** Callbacks of ~20 µs of work completed per second on the loop, for `ms`. */
async function busyLoopRate(ms: number, rounds: number): Promise<number> {
  const started = performance.now();
  const end = started + ms;
  let count = 0;
  await new Promise<void>((resolve) => {
    const step = (): void => {
      work(rounds);
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
  let strictPiscina: Piscina;
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
      strictPiscina = new Piscina({
        filename: file,
        minThreads: threads,
        maxThreads: threads,
        stricterFIFO: true,
      });
      executor = new ThreadPoolExecutor({ maxWorkers: threads });
      const addOne = (x: number) => x + 1;
      await throughput(smoke ? 50 : 300, (i) => executor.submit(addOne, i));
      await throughput(smoke ? 50 : 300, (i) => piscina.run(i) as Promise<number>);
      await throughput(smoke ? 50 : 300, (i) => strictPiscina.run(i) as Promise<number>);
    },
    teardown: async () => {
      await Promise.all([executor.shutdown(), piscina.destroy(), strictPiscina.destroy()]);
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
      {
        name: 'raw piscina.run, stricterFIFO',
        measure: () => throughput(sampleMs, (i) => strictPiscina.run(i) as Promise<number>),
      },
    ],
  };

  const warmUp = smoke ? 200 : 500;
  let workRounds = 0;
  const busy: Bench = {
    name: 'busy loop with the blocking watchdog (threshold 100 ms)',
    unit: 'callbacks/s',
    higherIsBetter: true,
    target: 'watchdog on ≥ 0.98× off (≤ 2 % overhead)',
    rounds: 11,
    setup: () => {
      workRounds = calibrate(20);
    },
    contenders: [
      {
        name: 'watchdog on',
        measure: async () => {
          loop.setBlockingLogThreshold(100);
          // Exclude the one-time start of the watchdog thread (and its inspector warm-up).
          await new Promise((resolve) => setTimeout(resolve, warmUp));
          try {
            return await busyLoopRate(sampleMs, workRounds);
          } finally {
            loop.setBlockingLogThreshold(null);
          }
        },
      },
      { name: 'watchdog off', measure: () => busyLoopRate(sampleMs, workRounds) },
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
          await new Promise((resolve) => setTimeout(resolve, warmUp));
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
