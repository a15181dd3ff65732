/**
 * One picture of a benchmark run: for every benchmark, each contender's median divided by the
 * baseline's, as bars on a logarithmic axis around 1× (so 2× and 0.5× are equally far from
 * it). typhoon's bar is coloured; a bar pointing the "better" way for that benchmark (right for
 * throughput, left for costs) is how to read it at a glance.
 *
 * Plain SVG written by hand: no dependency, and the file renders on GitHub, in a browser, or in
 * an editor.
 */
import type { BenchResult } from './harness.ts';

/** Text shown above the chart. */
export interface ChartOptions {
  /** First line; default `typhoon benchmarks`. */
  title?: string;
  /** Second line, e.g. the date, Node version and machine. */
  subtitle?: string;
}

const WIDTH = 960;
const LABEL_WIDTH = 330; // contender names, right-aligned before the plot
const PLOT_LEFT = LABEL_WIDTH + 10;
const PLOT_RIGHT = WIDTH - 70; // room for the value after the longest bar
const ROW = 18;
const HEADER = 34;
const GAP = 8;
const TOP = 64;
const AXIS = 28;
const TYPHOON = '#d9480f';
const PEER = '#868e96';

/** Escape text for an SVG text node or attribute. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `1.24×`, `0.125×`, `12×`: two significant digits below 10, whole numbers above. */
export function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return '—';
  if (ratio >= 10) return `${Math.round(ratio)}×`;
  if (ratio >= 1) return `${ratio.toFixed(2)}×`;
  return `${ratio.toPrecision(2)}×`;
}

/** Tick values of a log axis: 1, 2, 5 of every decade inside `[lo, hi]`. */
export function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) ticks.push(Number(v.toPrecision(3)));
    }
  }
  return ticks;
}

/** Draw every result of a run as one SVG document. */
export function renderChart(results: readonly BenchResult[], options: ChartOptions = {}): string {
  const ratios = results.flatMap((r) => r.rows.map((row) => row.ratio)).filter((x) => x > 0);
  const finite = ratios.filter(Number.isFinite);
  const lo = Math.min(0.5, ...finite.map((x) => x / 1.15));
  const hi = Math.max(2, ...finite.map((x) => x * 1.15));
  const x = (v: number) => {
    const clamped = Math.min(hi, Math.max(lo, v));
    const t = (Math.log10(clamped) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo));
    return PLOT_LEFT + t * (PLOT_RIGHT - PLOT_LEFT);
  };
  const body: string[] = [];
  let y = TOP + AXIS;
  for (const result of results) {
    const better = result.higherIsBetter ? 'higher is better →' : '← lower is better';
    const detail = [
      result.unit,
      `ratio to ${result.baseline}`,
      result.target && `target ${result.target}`,
    ]
      .filter(Boolean)
      .join(' · ');
    body.push(
      `<text x="10" y="${y + 14}" class="bench">${escapeXml(result.name)}</text>`,
      `<text x="10" y="${y + 28}" class="detail">${escapeXml(detail)}</text>`,
      `<text x="${PLOT_RIGHT}" y="${y + 28}" class="detail" text-anchor="end">${better}</text>`,
    );
    y += HEADER;
    result.rows.forEach((row, i) => {
      const isTyphoon = i === 0;
      const x0 = x(1);
      const x1 = Number.isFinite(row.ratio) && row.ratio > 0 ? x(row.ratio) : x0;
      const left = Math.min(x0, x1);
      const width = Math.max(Math.abs(x1 - x0), 1.5);
      const colour = isTyphoon ? TYPHOON : PEER;
      // The value sits after a bar pointing right, and just right of 1× for one pointing left
      // (before it, it would run into the names).
      const valueX = x1 < x0 ? x0 + 4 : left + width + 4;
      body.push(
        `<text x="${LABEL_WIDTH}" y="${y + 13}" class="${isTyphoon ? 'typhoon' : 'peer'}" text-anchor="end">${escapeXml(row.name)}</text>`,
        `<rect x="${left.toFixed(1)}" y="${y + 3}" width="${width.toFixed(1)}" height="${ROW - 6}" fill="${colour}"/>`,
        `<text x="${valueX.toFixed(1)}" y="${y + 13}" class="value">${formatRatio(row.ratio)}</text>`,
      );
      y += ROW;
    });
    y += GAP;
  }
  const height = y + 10;
  const grid = logTicks(lo, hi).map((t) => {
    const gx = x(t).toFixed(1);
    return (
      `<line x1="${gx}" y1="${TOP + AXIS - 6}" x2="${gx}" y2="${y}" class="${t === 1 ? 'one' : 'grid'}"/>` +
      `<text x="${gx}" y="${TOP + AXIS - 10}" class="tick" text-anchor="middle">${formatRatio(t)}</text>`
    );
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">`,
    '<style>',
    '.title{font-size:18px;font-weight:600}.subtitle,.detail,.tick{font-size:11px;fill:#495057}',
    '.bench{font-size:13px;font-weight:600}.typhoon{font-size:12px;font-weight:600;fill:' +
      TYPHOON +
      '}.peer,.value{font-size:12px}',
    '.grid{stroke:#e9ecef}.one{stroke:#343a40;stroke-width:1.5}',
    '</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="26" class="title">${escapeXml(options.title ?? 'typhoon benchmarks')}</text>`,
    `<text x="10" y="46" class="subtitle">${escapeXml(
      (options.subtitle ? `${options.subtitle} — ` : '') +
        'each bar: median ÷ the baseline’s median, log scale; typhoon in colour',
    )}</text>`,
    ...grid,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
