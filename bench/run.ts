/**
 * `npm run bench -- [NAME ...] [--smoke]`: run the named benchmarks (files
 * `bench/NAME.bench.ts`), or all of them, print a Markdown table per benchmark with medians
 * and ratios, and save the results as JSON under `bench/results/` with a chart of every ratio
 * (SVG, same name), also copied to `latest.json` and `latest.svg` (the README shows the chart)
 * when the run covers every benchmark the current `latest.json` holds.
 * Progress (which benchmark, which round) goes to stderr.
 *
 * `npm run bench -- --chart=FILE.json` draws the chart of saved results again, as FILE.svg.
 *
 * With more than one file, each runs in a process of its own: a benchmark that ran before
 * would otherwise leave its heap behind, and the garbage collector's extra work would weigh
 * most on whichever contender allocates more. Contenders of one benchmark still share a
 * process and alternate round by round.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { basename, join } from 'node:path';
import { formatResult, runBench, type BenchFactory, type BenchResult } from './harness.ts';
import { renderChart } from './chart.ts';

const dir = fileURLToPath(new URL('.', import.meta.url));
const args = process.argv.slice(2);
const smoke = args.includes('--smoke') || process.env.BENCH_SMOKE === '1';
const wanted = args.filter((a) => !a.startsWith('--'));

const chartOf = args.find((a) => a.startsWith('--chart='))?.slice('--chart='.length);
if (chartOf !== undefined) {
  const results = JSON.parse(readFileSync(chartOf, 'utf8')) as BenchResult[];
  const svg = chartOf.replace(/\.json$/, '') + '.svg';
  writeFileSync(svg, renderChart(results, { subtitle: basename(chartOf, '.json') }));
  console.log(`wrote ${svg}`);
  process.exit(0);
}
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.slice(0, -'.bench.ts'.length))
  .sort();
const names = wanted.length ? wanted : available;
for (const name of names) {
  if (!available.includes(name)) {
    console.error(`unknown benchmark ${name}; available: ${available.join(', ')}`);
    process.exit(2);
  }
}

// Set when this process runs one file for a parent run: where to leave the results.
const resultsTo = args.find((a) => a.startsWith('--results-to='))?.slice('--results-to='.length);

const machine =
  `${new Date().toISOString()} — Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ` +
  `${Math.round(totalmem() / 2 ** 30)} GiB`;
if (resultsTo === undefined) {
  console.log(`# typhoon benchmarks${smoke ? ' (smoke mode)' : ''}\n\n${machine}\n`);
}
const results: BenchResult[] = [];
if (names.length > 1) {
  for (const [i, name] of names.entries()) {
    process.stderr.write(`[${i + 1}/${names.length}] ${name}\n`);
    const out = join(tmpdir(), `typhoon-bench-${process.pid}-${name}.json`);
    const child = spawnSync(
      process.execPath,
      [
        ...process.execArgv,
        fileURLToPath(import.meta.url),
        name,
        ...(smoke ? ['--smoke'] : []),
        `--results-to=${out}`,
      ],
      { stdio: 'inherit' },
    );
    if (child.status !== 0) {
      console.error(`benchmark ${name} failed (exit ${child.status ?? child.signal})`);
      process.exitCode = 1;
      continue;
    }
    results.push(...(JSON.parse(readFileSync(out, 'utf8')) as BenchResult[]));
    rmSync(out, { force: true });
  }
} else {
  for (const name of names) {
    const mod = (await import(pathToFileURL(join(dir, `${name}.bench.ts`)).href)) as {
      default: BenchFactory;
    };
    const benches = await mod.default({ smoke, sampleMs: smoke ? 100 : 1000 });
    for (const bench of benches) {
      const result = await runBench(bench, { smoke, sampleMs: smoke ? 100 : 1000 });
      results.push(result);
      console.log(formatResult(result));
    }
  }
}
if (resultsTo !== undefined) {
  writeFileSync(resultsTo, JSON.stringify(results));
} else if (!smoke) {
  mkdirSync(join(dir, 'results'), { recursive: true });
  const stem = join(dir, 'results', new Date().toISOString().replace(/[:.]/g, '-'));
  const json = JSON.stringify(results, null, 2);
  const svg = renderChart(results, { subtitle: machine });
  writeFileSync(`${stem}.json`, json);
  writeFileSync(`${stem}.svg`, svg);
  // latest.* is the chart the README shows: a run of a few benchmarks must not replace a
  // fuller one, so it is written only when this run covers every benchmark it holds.
  const latest = join(dir, 'results', 'latest');
  const missing = benchmarksIn(`${latest}.json`).filter(
    (name) => !results.some((r) => r.name === name),
  );
  if (missing.length === 0) {
    writeFileSync(`${latest}.json`, json);
    writeFileSync(`${latest}.svg`, svg);
    console.log(`saved ${stem}.json and .svg (also latest.json, latest.svg)`);
  } else {
    console.log(
      `saved ${stem}.json and .svg (latest.json kept: this run lacks ${missing.length} of its benchmarks)`,
    );
  }
}

/** The benchmark names in a saved results file (none if it is missing or unreadable). */
function benchmarksIn(file: string): string[] {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as BenchResult[]).map((r) => r.name);
  } catch {
    return [];
  }
}
