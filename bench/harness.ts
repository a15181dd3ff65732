/**
 * The benchmark harness: every benchmark runs typhoon and its peers side by side in one
 * process run, alternating contender by contender round after round, and reports the median
 * of each and its ratio to the baseline. Absolute numbers on a shared 2-core machine mean
 * little; ratios taken in the same run mean something.
 *
 * A benchmark file `bench/NAME.bench.ts` default-exports a {@link BenchFactory}.
 */

/** One side of a comparison. */
export interface Contender {
  /** Shown in the table, e.g. `typhoon Future`, `native Promise`. */
  name: string;
  /** Take one sample, in the benchmark's unit. */
  measure: () => Promise<number> | number;
}

/** One comparison. */
export interface Bench {
  /** Short name, shown as the table's title. */
  name: string;
  /** Unit of a sample, e.g. `ops/s`, `ns/op`, `req/s`, `MB/s`, `ms`, `bytes/conn`. */
  unit: string;
  /** True when a larger sample is better (throughput); false for costs (latency, memory). */
  higherIsBetter: boolean;
  /** The contenders; the first is typhoon's. */
  contenders: Contender[];
  /** Name of the contender ratios are taken against (default: the second). */
  baseline?: string;
  /** Human-readable target, e.g. `typhoon <= 1.5x native`. */
  target?: string;
  /** Set up before the rounds (start servers …). */
  setup?: () => Promise<void> | void;
  /** Tear down after the rounds. */
  teardown?: () => Promise<void> | void;
  /** Number of alternating rounds; default 7 (1 in smoke mode). */
  rounds?: number;
}

/** Options every benchmark file receives. */
export interface BenchOptions {
  /** True in CI's smoke mode: run each contender once, briefly, just to prove it works. */
  smoke: boolean;
  /** Suggested length of one sample in ms (short in smoke mode). */
  sampleMs: number;
}

/** What a benchmark file default-exports. */
export type BenchFactory = (options: BenchOptions) => Bench[] | Promise<Bench[]>;

/** Result of one benchmark. */
export interface BenchResult {
  name: string;
  unit: string;
  higherIsBetter: boolean;
  baseline: string;
  target?: string;
  rows: Array<{ name: string; median: number; samples: number[]; ratio: number }>;
}

/** Median of a non-empty list. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Run one benchmark: rounds of every contender in turn, alternating the order each round. */
export async function runBench(bench: Bench, options: BenchOptions): Promise<BenchResult> {
  const rounds = options.smoke ? 1 : (bench.rounds ?? 7);
  const samples = new Map<string, number[]>(bench.contenders.map((c) => [c.name, []]));
  await bench.setup?.();
  try {
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? bench.contenders : [...bench.contenders].reverse();
      for (const contender of order) {
        // Progress on stderr (stdout is the report): long runs show they are alive.
        process.stderr.write(`  ${bench.name}: round ${round + 1}/${rounds}, ${contender.name}\n`);
        const value = await contender.measure();
        if (!Number.isFinite(value)) {
          throw new Error(`${bench.name}: ${contender.name} gave a non-finite sample ${value}`);
        }
        samples.get(contender.name)!.push(value);
      }
    }
  } finally {
    await bench.teardown?.();
  }
  const baseline = bench.baseline ?? bench.contenders[1]?.name ?? bench.contenders[0]!.name;
  const baseMedian = median(samples.get(baseline) ?? [NaN]);
  const rows = bench.contenders.map((c) => {
    const m = median(samples.get(c.name)!);
    return { name: c.name, median: m, samples: samples.get(c.name)!, ratio: m / baseMedian };
  });
  const result: BenchResult = {
    name: bench.name,
    unit: bench.unit,
    higherIsBetter: bench.higherIsBetter,
    baseline,
    rows,
  };
  if (bench.target !== undefined) result.target = bench.target;
  return result;
}

/** Format a number for the table. */
function fmt(n: number): string {
  if (n >= 100) return Math.round(n).toLocaleString('en-US');
  if (n >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

/** Render a result as a Markdown table (also readable on a terminal). */
export function formatResult(result: BenchResult): string {
  const lines = [
    `### ${result.name}`,
    '',
    `| contender | median (${result.unit}) | ratio to ${result.baseline} | samples |`,
    '|---|---:|---:|---:|',
  ];
  for (const row of result.rows) {
    lines.push(
      `| ${row.name} | ${fmt(row.median)} | ${row.ratio.toFixed(2)}x | ${row.samples.length} |`,
    );
  }
  lines.push('');
  lines.push(
    `${result.higherIsBetter ? 'Higher' : 'Lower'} is better.` +
      (result.target ? ` Target: ${result.target}.` : ''),
  );
  return lines.join('\n') + '\n';
}

/** Time `fn` called `iterations` times (it may be async); returns ns per call. */
export async function nsPerOp(iterations: number, fn: () => unknown): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const r = fn();
    if (r !== undefined && typeof (r as PromiseLike<unknown>).then === 'function') {
      await (r as PromiseLike<unknown>);
    }
  }
  return Number(process.hrtime.bigint() - start) / iterations;
}
