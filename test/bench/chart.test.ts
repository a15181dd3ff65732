// The benchmark chart: one bar per contender on a log axis around 1×, names escaped, and the
// `--chart=FILE.json` mode of bench/run.ts drawing saved results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { escapeXml, formatRatio, logTicks, renderChart } from '../../bench/chart.ts';
import type { BenchResult } from '../../bench/harness.ts';

const results: BenchResult[] = [
  {
    name: 'hello <world> & co',
    unit: 'req/s',
    higherIsBetter: true,
    baseline: 'node:http',
    target: 'typhoon ≥ 0.9x',
    rows: [
      { name: 'typhoon', median: 970, samples: [970], ratio: 0.97 },
      { name: 'node:http', median: 1000, samples: [1000], ratio: 1 },
      { name: 'Tornado "6"', median: 140, samples: [140], ratio: 0.14 },
    ],
  },
  {
    name: 'memory',
    unit: 'bytes/conn',
    higherIsBetter: false,
    baseline: 'raw',
    rows: [
      { name: 'typhoon', median: 12, samples: [12], ratio: 12 },
      { name: 'raw', median: 1, samples: [1], ratio: 1 },
    ],
  },
];

/** The x of the bar drawn for the nth contender, in order. */
function bars(svg: string): Array<{ x: number; width: number }> {
  return [...svg.matchAll(/<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="12"/g)].map(
    (m) => ({ x: Number(m[1]), width: Number(m[2]) }),
  );
}

test('every contender gets a bar from the 1× line, left when below it, right when above', () => {
  const svg = renderChart(results, { subtitle: 'a run' });
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /<\/svg>\n$/);
  const drawn = bars(svg);
  assert.equal(drawn.length, 5);
  const one = drawn[1]!.x; // node:http, the baseline: a hairline at 1×
  assert.ok(drawn[1]!.width < 2);
  assert.ok(Math.abs(drawn[0]!.x + drawn[0]!.width - one) < 0.2, 'typhoon 0.97× ends at 1×');
  assert.ok(drawn[2]!.x < drawn[0]!.x, '0.14× reaches further left than 0.97×');
  assert.ok(Math.abs(drawn[3]!.x - one) < 0.2 && drawn[3]!.width > 100, '12× goes right from 1×');
  // log scale: 0.14× is as far left of 1× as 1/0.14 = 7.1× would be right of it
  const perDecade = drawn[3]!.width / Math.log10(12);
  assert.ok(Math.abs(one - drawn[2]!.x - perDecade * Math.log10(1 / 0.14)) < 1);
  for (const text of [
    '0.97×',
    '0.14×',
    '12×',
    '1.00×',
    'higher is better →',
    '← lower is better',
  ]) {
    assert.ok(svg.includes(text), `missing ${text}`);
  }
});

test('names are escaped, so any benchmark or contender name keeps the SVG well formed', () => {
  const svg = renderChart(results);
  assert.ok(svg.includes('hello &#60;world&#62; &#38; co'));
  assert.ok(svg.includes('Tornado &#34;6&#34;'));
  assert.doesNotMatch(svg, /<world>/);
  assert.equal(escapeXml(`<a href='x'>&</a>`), '&#60;a href=&#39;x&#39;&#62;&#38;&#60;/a&#62;');
});

test('ratios and ticks read as the tables do', () => {
  assert.equal(formatRatio(1.2345), '1.23×');
  assert.equal(formatRatio(0.1234), '0.12×');
  assert.equal(formatRatio(12.4), '12×');
  assert.equal(formatRatio(Number.NaN), '—');
  assert.deepEqual(logTicks(0.15, 30), [0.2, 0.5, 1, 2, 5, 10, 20]);
});

test('npm run bench -- --chart=FILE.json draws saved results as FILE.svg', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'typhoon-chart-'));
  try {
    const file = join(dir, 'run.json');
    writeFileSync(file, JSON.stringify(results));
    const runTs = fileURLToPath(new URL('../../bench/run.ts', import.meta.url));
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [runTs, `--chart=${file}`], (error, out, err) => {
        if (error) reject(new Error(`${error.message}\n${out}\n${err}`));
        else resolve(out);
      });
    });
    assert.match(stdout, /wrote .*run\.svg/);
    assert.equal(bars(readFileSync(join(dir, 'run.svg'), 'utf8')).length, 5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
