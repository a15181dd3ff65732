/**
 * Why blocking work goes to an executor, shown without any HTTP: a timer ticks every 10 ms
 * (standing in for every other connection the loop serves) while a few slow password hashes
 * run, once on the loop itself and once on a `ThreadPoolExecutor`.
 *
 * On the loop, the hashes run back to back and no tick gets through until they are all done:
 * the longest gap between ticks is the whole hashing time. On the executor the loop stays free
 * and keeps ticking on time while the worker threads hash.
 *
 * Run it: `node examples/guide/responsive-loop.ts`
 * Tornado guide: "Asynchronous and non-Blocking I/O" → blocking, and "Coroutines" → "Calling
 * blocking functions".
 */
import { pathToFileURL } from 'node:url';
import { ThreadPoolExecutor } from '../../src/executor/index.ts';
import { hashPassword } from './blocking-hash.ts';

/** What the ticking timer saw while the hashes ran. */
export interface Responsiveness {
  /** Where the hashes ran. */
  where: 'loop' | 'executor';
  /** Timer ticks that got through while hashing (ideally elapsed / tick period). */
  ticks: number;
  /** Longest time between two ticks (or from the start to the first one), in ms. */
  maxGapMs: number;
  /** How long the whole measurement took (hashing plus a tick on each side), in ms. */
  elapsedMs: number;
  /** How long the hashing itself took, in ms. */
  busyMs: number;
}

/** Run `jobs` hashes on the loop or on `executor` while a 10 ms timer ticks. */
export async function measure(
  where: 'loop' | 'executor',
  executor: ThreadPoolExecutor,
  { jobs = 4, iterations = 400_000 }: { jobs?: number; iterations?: number } = {},
): Promise<Responsiveness> {
  const started = performance.now();
  let last = started;
  let maxGapMs = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
    ticks++;
  }, 10);
  // Give the timer its first tick so both runs start from a ticking loop.
  await new Promise((resolve) => setTimeout(resolve, 15));
  const busyFrom = performance.now();
  if (where === 'loop') {
    for (let i = 0; i < jobs; i++) hashPassword('password', `salt${i}`, iterations);
  } else {
    await Promise.all(
      Array.from({ length: jobs }, (_, i) =>
        executor.submit(hashPassword, 'password', `salt${i}`, iterations),
      ),
    );
  }
  const busyMs = performance.now() - busyFrom;
  // One more tick, to see how long the last gap was.
  await new Promise((resolve) => setTimeout(resolve, 15));
  clearInterval(timer);
  return { where, ticks, maxGapMs, elapsedMs: performance.now() - started, busyMs };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const executor = new ThreadPoolExecutor({ maxWorkers: 2 });
  await executor.submit(() => 'warm up the workers');
  for (const where of ['loop', 'executor'] as const) {
    const r = await measure(where, executor);
    console.log(
      `hashes on the ${where.padEnd(8)}: ${String(r.ticks).padStart(3)} ticks in ` +
        `${Math.round(r.elapsedMs)} ms, longest gap between ticks ${Math.round(r.maxGapMs)} ms`,
    );
  }
  await executor.shutdown();
}
