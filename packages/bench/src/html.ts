/**
 * The HTML report: one self-contained file (inline CSS and SVG, no script, no network), readable
 * in any browser. Charts, all on log scales:
 * - stream: throughput (MB/s and messages/s) against payload size, one line per backend;
 * - rtt: p50 round trip against payload size, one line per backend;
 * - rtt: latency percentiles (p50, p90, p99, p99.9) per backend, one chart per payload;
 * - CPU µs per message against payload size, per pattern.
 * Each point carries a tooltip (an SVG <title>) with the exact numbers.
 */
import { describeMachine } from './machine.js';
import { formatSize } from './measure.js';
import { columnsOf, formatCount, formatTables, formatUs, rowsOf, sig, skippedLines } from './report.js';
import type { BenchReport, BenchResult, Pattern } from './types.js';

const PALETTE: Record<string, string> = {
  postmessage: '#1f77b4',
  'child-ipc-json': '#ff7f0e',
  'child-ipc-advanced': '#8c564b',
  uds: '#9467bd',
  tcp: '#7f7f7f',
  pipe: '#bcbd22',
  'shmkit-thread': '#2ca02c',
  'shmkit-thread-async': '#17becf',
  'shmkit-thread-struct': '#e377c2',
  'shmkit-process': '#d62728',
};

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

interface Series {
  name: string;
  color: string;
  dashed: boolean;
  points: { x: number; y: number; tip: string }[];
}

interface LineChart {
  title: string;
  pattern: Pattern;
  xLabel: string;
  yLabel: string;
  series: Series[];
  formatX: (x: number) => string;
  formatY: (y: number) => string;
}

const W = 760;
const H = 400;
const M = { left: 70, right: 190, top: 36, bottom: 52 };

/** Tick values on a log axis spanning [lo, hi]: decades, plus 2 and 5 when the span is short. */
function logTicks(lo: number, hi: number): number[] {
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(hi));
  const ticks: number[] = [];
  const fine = b - a <= 2;
  for (let e = a; e <= b; e++) {
    for (const m of fine ? [1, 2, 5] : [1]) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) ticks.push(v);
    }
  }
  return ticks;
}

function logScale(lo: number, hi: number, from: number, to: number): (v: number) => number {
  const l0 = Math.log10(lo);
  const l1 = Math.log10(hi);
  const span = l1 - l0 || 1;
  return (v) => from + ((Math.log10(v) - l0) / span) * (to - from);
}

/** Pads a [min, max] range out to whole decades. */
function decadeRange(values: number[]): [number, number] {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return [10 ** Math.floor(Math.log10(lo)), 10 ** Math.ceil(Math.log10(hi === lo ? hi * 10 : hi))];
}

function lineChart(c: LineChart): string {
  const pts = c.series.flatMap((s) => s.points).filter((p) => p.x > 0 && p.y > 0);
  if (pts.length === 0) return '';
  const xs = [...new Set(pts.map((p) => p.x))].sort((a, b) => a - b);
  const xLo = xs[0]!;
  const xHi = xs.length > 1 ? xs[xs.length - 1]! : xLo * 4;
  const [yLo, yHi] = decadeRange(pts.map((p) => p.y));
  const x = logScale(xLo, xHi, M.left + 10, W - M.right - 10);
  const y = logScale(yLo, yHi, H - M.bottom, M.top);
  const out: string[] = [];
  out.push(
    `<svg class="chart" data-pattern="${c.pattern}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(c.title)}">`,
    `<text x="${M.left}" y="20" class="title">${escapeHtml(c.title)}</text>`,
  );
  for (const t of logTicks(yLo, yHi)) {
    const ty = y(t).toFixed(1);
    out.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${ty}" y2="${ty}" class="grid"/>`,
      `<text x="${M.left - 6}" y="${ty}" class="tick" text-anchor="end" dominant-baseline="middle">${escapeHtml(c.formatY(t))}</text>`,
    );
  }
  for (const t of xs) {
    const tx = x(t).toFixed(1);
    out.push(
      `<line x1="${tx}" x2="${tx}" y1="${M.top}" y2="${H - M.bottom}" class="grid"/>`,
      `<text x="${tx}" y="${H - M.bottom + 16}" class="tick" text-anchor="middle">${escapeHtml(c.formatX(t))}</text>`,
    );
  }
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" class="frame"/>`,
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 12}" class="label" text-anchor="middle">${escapeHtml(c.xLabel)} (log)</text>`,
    `<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" class="label" text-anchor="middle">${escapeHtml(c.yLabel)} (log)</text>`,
  );
  c.series.forEach((s, i) => {
    const ps = s.points.filter((p) => p.x > 0 && p.y > 0).sort((a, b) => a.x - b.x);
    if (ps.length === 0) return;
    const d = ps.map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`).join(' ');
    out.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 3"' : ''}/>`,
    );
    for (const p of ps) {
      out.push(
        `<circle cx="${x(p.x).toFixed(1)}" cy="${y(p.y).toFixed(1)}" r="3.5" fill="${s.color}"><title>${escapeHtml(`${s.name}: ${p.tip}`)}</title></circle>`,
      );
    }
    const ly = M.top + 8 + i * 18;
    out.push(
      `<line x1="${W - M.right + 12}" x2="${W - M.right + 36}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 3"' : ''}/>`,
      `<text x="${W - M.right + 42}" y="${ly}" class="legend" dominant-baseline="middle">${escapeHtml(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}

/** Percentiles per backend: a row each, marks at p50, p90, p99 and p99.9 on a log µs axis. */
function percentileChart(report: BenchReport, payload: 'bytes' | 'object', size: number): string {
  const rows = report.results.filter(
    (r) =>
      r.pattern === 'rtt' && r.payload === payload && r.size === size && r.verified && r.rttP50Us !== null,
  );
  if (rows.length === 0) return '';
  const order = rowsOf(report).map((r) => r.id);
  rows.sort((a, b) => order.indexOf(a.backend) - order.indexOf(b.backend));
  const marks: [string, keyof BenchResult, string][] = [
    ['p50', 'rttP50Us', 'circle'],
    ['p90', 'rttP90Us', 'square'],
    ['p99', 'rttP99Us', 'diamond'],
    ['p99.9', 'rttP999Us', 'bar'],
  ];
  const values = rows
    .flatMap((r) => marks.map(([, k]) => r[k] as number | null | undefined))
    .filter((v): v is number => typeof v === 'number' && v > 0);
  const [lo, hi] = decadeRange(values);
  const rowH = 26;
  const h = M.top + 20 + rows.length * rowH + 44;
  const left = 160;
  const right = 130;
  const x = logScale(lo, hi, left, W - right);
  const title = `rtt latency percentiles, ${payload === 'bytes' ? `${formatSize(size)} messages` : `object messages (${formatSize(size)} msgpack)`}`;
  const out: string[] = [
    `<svg class="chart" data-pattern="rtt" viewBox="0 0 ${W} ${h}" width="${W}" height="${h}" role="img" aria-label="${escapeHtml(title)}">`,
    `<text x="${left}" y="20" class="title">${escapeHtml(title)}</text>`,
  ];
  const top = M.top + 10;
  const bottom = top + rows.length * rowH;
  for (const t of logTicks(lo, hi)) {
    const tx = x(t).toFixed(1);
    out.push(
      `<line x1="${tx}" x2="${tx}" y1="${top}" y2="${bottom}" class="grid"/>`,
      `<text x="${tx}" y="${bottom + 16}" class="tick" text-anchor="middle">${escapeHtml(formatUs(t))}</text>`,
    );
  }
  out.push(
    `<text x="${(left + W - right) / 2}" y="${bottom + 36}" class="label" text-anchor="middle">round trip, µs (log)</text>`,
  );
  rows.forEach((r, i) => {
    const cy = top + i * rowH + rowH / 2;
    const color = PALETTE[r.backend] ?? '#333';
    const p50 = r.rttP50Us!;
    const p999 = (r.rttP999Us ?? r.rttP99Us)!;
    out.push(
      `<text x="${left - 8}" y="${cy}" class="legend" text-anchor="end" dominant-baseline="middle">${escapeHtml(r.backend)}</text>`,
      `<line x1="${x(p50).toFixed(1)}" x2="${x(p999).toFixed(1)}" y1="${cy}" y2="${cy}" stroke="${color}" stroke-width="2" opacity="0.5"/>`,
    );
    for (const [name, key, shape] of marks) {
      const v = r[key] as number | null | undefined;
      if (typeof v !== 'number' || v <= 0) continue;
      const cx = x(v);
      const tip = `<title>${escapeHtml(`${r.backend} ${name}: ${sig(v)} µs`)}</title>`;
      if (shape === 'circle')
        out.push(`<circle cx="${cx.toFixed(1)}" cy="${cy}" r="5" fill="${color}">${tip}</circle>`);
      else if (shape === 'square') {
        out.push(
          `<rect x="${(cx - 4).toFixed(1)}" y="${cy - 4}" width="8" height="8" fill="white" stroke="${color}" stroke-width="2">${tip}</rect>`,
        );
      } else if (shape === 'diamond') {
        out.push(
          `<path d="M${cx.toFixed(1)},${cy - 6} l6,6 l-6,6 l-6,-6 z" fill="${color}" opacity="0.7">${tip}</path>`,
        );
      } else {
        out.push(
          `<line x1="${cx.toFixed(1)}" x2="${cx.toFixed(1)}" y1="${cy - 7}" y2="${cy + 7}" stroke="${color}" stroke-width="3">${tip}</line>`,
        );
      }
    }
  });
  const ly = M.top - 6;
  out.push(
    `<text x="${W - right + 12}" y="${ly + 14}" class="legend">● p50</text>`,
    `<text x="${W - right + 12}" y="${ly + 32}" class="legend">□ p90</text>`,
    `<text x="${W - right + 12}" y="${ly + 50}" class="legend">◆ p99</text>`,
    `<text x="${W - right + 12}" y="${ly + 68}" class="legend">| p99.9</text>`,
    '</svg>',
  );
  return out.join('\n');
}

function seriesBy(
  report: BenchReport,
  pattern: Pattern,
  value: (r: BenchResult) => number | null,
  tip: (r: BenchResult) => string,
): Series[] {
  return rowsOf(report).map((row) => ({
    name: row.id,
    color: PALETTE[row.id] ?? '#333',
    dashed: row.where === 'process',
    points: report.results
      .filter((r) => r.backend === row.id && r.pattern === pattern && r.payload === 'bytes' && r.verified)
      .map((r) => ({ x: r.size, y: value(r) ?? 0, tip: tip(r) })),
  }));
}

/** The charts of a report, as inline SVG strings (also written next to the JSON by benchmarks/ipc.ts). */
export function charts(report: BenchReport): { name: string; pattern: Pattern; svg: string }[] {
  const out: { name: string; pattern: Pattern; svg: string }[] = [];
  const size = (x: number): string => formatSize(x);
  const tipStream = (r: BenchResult): string =>
    `${formatSize(r.size)}: ${formatCount(r.msgsPerSec!)} msgs/s, ${sig(r.mbPerSec!)} MB/s, ${sig(r.cpuUsPerMsg!)} CPU µs/msg`;
  const tipRtt = (r: BenchResult): string =>
    `${formatSize(r.size)}: p50 ${sig(r.rttP50Us!)} µs, p99 ${sig(r.rttP99Us!)} µs, ${sig(r.cpuUsPerMsg!)} CPU µs/round trip`;
  const add = (name: string, pattern: Pattern, svg: string): void => {
    if (svg !== '') out.push({ name, pattern, svg });
  };
  add(
    'stream-throughput',
    'stream',
    lineChart({
      title: 'stream: throughput vs payload size (MB/s, higher is better)',
      pattern: 'stream',
      xLabel: 'payload size',
      yLabel: 'MB/s',
      series: seriesBy(report, 'stream', (r) => r.mbPerSec, tipStream),
      formatX: size,
      formatY: formatCount,
    }),
  );
  add(
    'stream-messages',
    'stream',
    lineChart({
      title: 'stream: messages per second vs payload size (higher is better)',
      pattern: 'stream',
      xLabel: 'payload size',
      yLabel: 'messages/s',
      series: seriesBy(report, 'stream', (r) => r.msgsPerSec, tipStream),
      formatX: size,
      formatY: formatCount,
    }),
  );
  add(
    'rtt-latency',
    'rtt',
    lineChart({
      title: 'rtt: p50 round trip vs payload size (µs, lower is better)',
      pattern: 'rtt',
      xLabel: 'payload size',
      yLabel: 'µs',
      series: seriesBy(report, 'rtt', (r) => r.rttP50Us, tipRtt),
      formatX: size,
      formatY: formatUs,
    }),
  );
  for (const c of columnsOf(report, 'rtt')) {
    add(`rtt-percentiles-${c.payload}-${c.size}`, 'rtt', percentileChart(report, c.payload, c.size));
  }
  for (const pattern of ['stream', 'rtt'] as const) {
    add(
      `${pattern}-cpu`,
      pattern,
      lineChart({
        title: `${pattern}: CPU µs per ${pattern === 'stream' ? 'message' : 'round trip'}, both sides (lower is better)`,
        pattern,
        xLabel: 'payload size',
        yLabel: 'CPU µs',
        series: seriesBy(report, pattern, (r) => r.cpuUsPerMsg, pattern === 'stream' ? tipStream : tipRtt),
        formatX: size,
        formatY: formatUs,
      }),
    );
  }
  return out;
}

const SVG_CSS =
  '.title{font:600 14px sans-serif;fill:#222}.tick,.legend{font:11px sans-serif;fill:#333}.label{font:12px sans-serif;fill:#333}.grid{stroke:#e4e4e4;stroke-width:1}.frame{fill:none;stroke:#999}';

/**
 * A chart as a standalone .svg file (for READMEs): the SVG namespace, its own styles and a white
 * background, which inline SVG in the HTML report gets from the page.
 */
export function standaloneSvg(svg: string): string {
  const open = svg.indexOf('>');
  const head = svg.slice(0, open).replace('<svg ', `<svg xmlns="${'http'}://www.w3.org/2000/svg" `);
  return `${head}><style>${SVG_CSS}</style><rect width="100%" height="100%" fill="white"/>${svg.slice(open + 1)}\n`;
}

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1100px; color: #222; padding: 0 16px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; }
.meta { color: #555; }
svg.chart { display: block; margin: 16px 0; max-width: 100%; height: auto; background: #fff; }
svg .title { font-size: 14px; font-weight: 600; fill: #222; }
svg .tick, svg .legend { font-size: 11px; fill: #333; }
svg .label { font-size: 12px; fill: #333; }
svg .grid { stroke: #e4e4e4; stroke-width: 1; }
svg .frame { fill: none; stroke: #999; }
table { border-collapse: collapse; font-size: 12px; margin: 12px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
td.bad { color: #b00; }
p.warn { background: #fff4d6; border-left: 4px solid #e0a000; padding: 8px 12px; }
pre { background: #f6f6f6; padding: 12px; overflow-x: auto; font-size: 12px; }
`;

/** The whole report as one HTML document. */
export function toHtml(report: BenchReport): string {
  const o = report.options;
  const cs = charts(report);
  const section = (pattern: Pattern, title: string, text: string): string => {
    const mine = cs.filter((c) => c.pattern === pattern);
    if (mine.length === 0) return '';
    return `<h2>${escapeHtml(title)}</h2>\n<p>${escapeHtml(text)}</p>\n${mine.map((c) => c.svg).join('\n')}`;
  };
  const n = (x: number | null | undefined, f: (v: number) => string = sig): string =>
    x === null || x === undefined ? '' : escapeHtml(f(x));
  const rows = report.results
    .map(
      (r) =>
        `<tr><td>${escapeHtml(r.backend)}</td><td>${r.where}</td><td>${r.pattern}</td><td>${r.payload}</td><td>${escapeHtml(formatSize(r.size))}</td><td>${r.messages}</td><td>${n(r.msgsPerSec, formatCount)}</td><td>${n(r.mbPerSec)}</td><td>${n(r.rttP50Us)}</td><td>${n(r.rttP99Us)}</td><td>${n(r.rttP999Us)}</td><td>${n(r.cpuUsPerMsg)}</td><td${r.verified ? '' : ' class="bad"'}>${r.verified ? 'yes' : escapeHtml(`no: ${r.error ?? ''}`)}</td></tr>`,
    )
    .join('\n');
  const skipped = report.skipped.length
    ? `<h2>Skipped</h2><ul>${skippedLines(report)
        .map((s) => `<li>${escapeHtml(s)}</li>`)
        .join('')}</ul>`
    : '';
  // Older reports (before `warnings`) have none.
  const warnings = (report.warnings ?? [])
    .map((w) => `<p class="warn">${escapeHtml(`Warning: ${w}.`)}</p>`)
    .join('\n');
  const load = report.machine.loadAverage.map((x) => x.toFixed(2)).join(' / ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>shmkit bench report</title>
<style>${CSS}</style>
</head>
<body>
<h1>shmkit bench report</h1>
<p class="meta">${escapeHtml(`${report.date} · ${describeMachine(report.machine)} · load average ${load} (1, 5, 15 min) before the run · ${o.reps} timed reps of ~${o.targetMs} ms per case after two warm-up runs, backends interleaved · object payload: ${o.objectName} · ${sig(report.seconds)} s`)}</p>
${warnings}
<p>Solid lines: thread backends (a worker thread of the same process). Dashed: process backends (a child process). Every point is verified: count, order and checksum of every message. Hover a point for its numbers.</p>
${section('stream', 'stream: one-way throughput', 'The peer sends messages as fast as the backend takes them; the main side receives, decodes and verifies each one. MB/s counts payload bytes (10^6 bytes).')}
${section('rtt', 'rtt: round trip latency', 'The main side sends a message, the peer decodes it and sends it back; one round trip at a time. Percentiles from an HDR histogram of every timed round trip.')}
<h2>Tables</h2>
<pre>${escapeHtml(formatTables(report, { color: false, skipped: false }))}</pre>
<h2>Every result</h2>
<table>
<tr><th>backend</th><th>where</th><th>pattern</th><th>payload</th><th>size</th><th>messages</th><th>msgs/s</th><th>MB/s</th><th>p50 µs</th><th>p99 µs</th><th>p99.9 µs</th><th>CPU µs/msg</th><th>verified</th></tr>
${rows}
</table>
${skipped}
</body>
</html>
`;
}
