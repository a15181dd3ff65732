/**
 * The benchmark harness: every benchmark runs typhoon and its peers side by side in one
 * process run, alternating contender by contender round after round, and reports the median
 * of each and its ratio to the baseline. Absolute numbers on a shared 2-core machine mean
 * little; ratios taken in the same run mean something.
 *
 * A benchmark file `bench/NAME.bench.ts` default-exports a {@link BenchFactory}.
 */

/**
 * A sample with the CPU time it cost per operation (µs): steadier than throughput while other
 * work shares the machine, since a busy neighbour slows a server down but does not make each
 * request cost more CPU.
 */
export interface Sample {
  value: number;
  cpuUsPerOp: number;
}

/** One side of a comparison. */
export interface Contender {
  /** Shown in the table, e.g. `typhoon Future`, `native Promise`. */
  name: string;
  /** Take one sample, in the benchmark's unit (with its CPU cost per operation, if known). */
  measure: () => Promise<number | Sample> | number | Sample;
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
  /** Number of alternating rounds; default 11 (1 in smoke mode). */
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
  rows: Array<{
    name: string;
    median: number;
    samples: number[];
    ratio: number;
    /** Median CPU µs per operation, when the contender measured it. */
    cpuUsPerOp?: number;
    /**
     * Median of the round-by-round ratios to the baseline's sample of the same round: each
     * pair was taken minutes apart at most (seconds, for neighbours in the order), so a
     * slow spell of the shared machine divides out where the ratio of medians keeps it.
     */
    pairedRatio?: number;
  }>;
}

/** CPU time this process used since `since` (from `process.cpuUsage()`), in µs. */
export function cpuUsSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return used.user + used.system;
}

/** Median of a non-empty list. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Run one benchmark: rounds of every contender in turn, alternating the order each round. */
export async function runBench(bench: Bench, options: BenchOptions): Promise<BenchResult> {
  const rounds = options.smoke ? 1 : (bench.rounds ?? 11);
  const samples = new Map<string, number[]>(bench.contenders.map((c) => [c.name, []]));
  const cpu = new Map<string, number[]>(bench.contenders.map((c) => [c.name, []]));
  await bench.setup?.();
  try {
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? bench.contenders : [...bench.contenders].reverse();
      for (const contender of order) {
        // Progress on stderr (stdout is the report): long runs show they are alive.
        process.stderr.write(`  ${bench.name}: round ${round + 1}/${rounds}, ${contender.name}\n`);
        const sample = await contender.measure();
        const value = typeof sample === 'number' ? sample : sample.value;
        if (typeof sample !== 'number') cpu.get(contender.name)!.push(sample.cpuUsPerOp);
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
    const row: BenchResult['rows'][number] = {
      name: c.name,
      median: m,
      samples: samples.get(c.name)!,
      ratio: m / baseMedian,
    };
    const cpuSamples = cpu.get(c.name)!;
    if (cpuSamples.length > 0) row.cpuUsPerOp = median(cpuSamples);
    const baseSamples = samples.get(baseline);
    if (baseSamples !== undefined && baseSamples.length === row.samples.length) {
      row.pairedRatio = median(row.samples.map((v, i) => v / baseSamples[i]!));
    }
    return row;
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
  // The spread (lowest–highest sample, and the half-range as a share of the median) says
  // whether a difference between two rows is more than noise.
  const withCpu = result.rows.some((row) => row.cpuUsPerOp !== undefined);
  const base = result.rows.find((row) => row.name === result.baseline);
  const lines = [
    `### ${result.name}`,
    '',
    `| contender | median (${result.unit}) | ratio to ${result.baseline} | paired ratio | spread (min–max) | samples |` +
      (withCpu ? ` CPU µs/op | CPU ratio |` : ''),
    '|---|---:|---:|---:|---:|---:|' + (withCpu ? '---:|---:|' : ''),
  ];
  for (const row of result.rows) {
    const min = Math.min(...row.samples);
    const max = Math.max(...row.samples);
    const spread = row.median === 0 ? 0 : ((max - min) / 2 / row.median) * 100;
    let line =
      `| ${row.name} | ${fmt(row.median)} | ${row.ratio.toFixed(2)}x | ` +
      `${row.pairedRatio === undefined ? '—' : `${row.pairedRatio.toFixed(2)}x`} | ` +
      `${fmt(min)}–${fmt(max)} (±${spread.toFixed(0)} %) | ${row.samples.length} |`;
    if (withCpu) {
      const cpuRatio =
        row.cpuUsPerOp !== undefined && base?.cpuUsPerOp !== undefined
          ? `${(row.cpuUsPerOp / base.cpuUsPerOp).toFixed(2)}x`
          : '—';
      line += ` ${row.cpuUsPerOp === undefined ? '—' : fmt(row.cpuUsPerOp)} | ${cpuRatio} |`;
    }
    lines.push(line);
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
