// A growth-rate check for parsers fed hostile input: time the same work at size n and 10n and
// return the ratio. Linear work gives about 10, quadratic about 100; callers assert the ratio is
// well under 20. Each size takes the best of several runs, and n is raised until one run takes
// long enough to measure, so scheduler noise on a busy machine does not decide the outcome.
//
// Time is this process's CPU time (user + system), not wall time: while other processes share
// the cores, the time this one spends descheduled would otherwise land in one measurement and
// not the other, and a linear parser could look quadratic.

/** CPU milliseconds this process has used so far. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

function bestOf(runs: number, fn: () => void): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = cpuMs();
    fn();
    best = Math.min(best, cpuMs() - start);
  }
  return best;
}

/**
 * Returns `time(10n) / time(n)` for `work(input)` where `input = make(n)`. `n` starts at
 * `startN` and grows ×4 until a run at n takes at least `minMs` (the input is built outside
 * the timed region). `maxN` bounds the growth.
 */
export function growthRatio<T>(
  make: (n: number) => T,
  work: (input: T) => unknown,
  options: { startN?: number; minMs?: number; maxN?: number; runs?: number } = {},
): { ratio: number; n: number; small: number; large: number } {
  // A busy machine can spoil one measurement; it cannot make quadratic work look linear, so
  // the best of up to five measurements is kept (stopping as soon as one looks linear).
  let best = measureGrowth(make, work, options);
  for (let attempt = 1; attempt < 5 && best.ratio >= 12; attempt++) {
    const again = measureGrowth(make, work, options);
    if (again.ratio < best.ratio) best = again;
  }
  return best;
}

function measureGrowth<T>(
  make: (n: number) => T,
  work: (input: T) => unknown,
  { startN = 1000, minMs = 10, maxN = 2_000_000, runs = 5 } = {},
): { ratio: number; n: number; small: number; large: number } {
  let n = startN;
  let small = 0;
  for (;;) {
    const input = make(n);
    small = bestOf(runs, () => void work(input));
    if (small >= minMs || n * 4 > maxN) break;
    n *= 4;
  }
  const big = make(n * 10);
  const large = bestOf(runs, () => void work(big));
  // Re-measure the small size after the large one, so JIT warm-up cannot inflate the ratio.
  const again = make(n);
  small = Math.min(
    small,
    bestOf(runs, () => void work(again)),
  );
  return { ratio: large / Math.max(small, 1e-3), n, small, large };
}
