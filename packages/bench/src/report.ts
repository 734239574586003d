/**
 * Reports of a `shmkit-bench/1` result set as text: the terminal tables (colored when asked) and
 * Markdown. The HTML report with its charts is in html.ts.
 *
 * The tables are pivoted: one row per backend (threads first, then processes), one column per
 * payload case, one table per measure (stream throughput, rtt latency, CPU per message). The best
 * value of each column among threads, and among processes, is highlighted.
 */
import pc from 'picocolors';
import { describeMachine } from './machine.js';
import { formatSize } from './measure.js';
import type { BenchReport, BenchResult, Pattern } from './types.js';

type Colors = Pick<typeof pc, 'bold' | 'green' | 'red' | 'dim' | 'yellow' | 'cyan'>;
const plain: Colors = {
  bold: String,
  green: String,
  red: String,
  dim: String,
  yellow: String,
  cyan: String,
};

/** 3 significant digits with k/M suffixes: 987, 12.3k, 1.23M. */
export function formatCount(x: number): string {
  if (x >= 1e9) return `${sig(x / 1e9)}G`;
  if (x >= 1e6) return `${sig(x / 1e6)}M`;
  if (x >= 1e3) return `${sig(x / 1e3)}k`;
  return sig(x);
}

/** 3 significant digits, no exponent: 0.123, 1.23, 12.3, 123, 1234. */
export function sig(x: number): string {
  if (x === 0) return '0';
  if (Math.abs(x) >= 100) return Math.round(x).toString();
  return Number(x.toPrecision(3)).toString();
}

/** µs: 1.77, 31.7, 499, 30.9 ms shown as 30868 -> "30.9k". */
export function formatUs(x: number): string {
  return x >= 10_000 ? `${sig(x / 1000)}k` : sig(x);
}

export interface Column {
  label: string;
  payload: 'bytes' | 'object';
  size: number;
}

/** The payload columns of `pattern`: bytes sizes ascending, then the object. */
export function columnsOf(report: BenchReport, pattern: Pattern): Column[] {
  const seen = new Map<string, Column>();
  for (const r of report.results) {
    if (r.pattern !== pattern) continue;
    const key = `${r.payload}:${r.size}`;
    if (!seen.has(key)) {
      seen.set(key, {
        label: r.payload === 'bytes' ? formatSize(r.size) : `object ${formatSize(r.size)}`,
        payload: r.payload,
        size: r.size,
      });
    }
  }
  return [...seen.values()].sort((a, b) =>
    a.payload === b.payload ? a.size - b.size : a.payload === 'bytes' ? -1 : 1,
  );
}

/** Backends of the report in table order: threads first, each group in measuring order. */
export function rowsOf(report: BenchReport): { id: BenchResult['backend']; where: BenchResult['where'] }[] {
  const seen = new Map<string, { id: BenchResult['backend']; where: BenchResult['where'] }>();
  for (const r of report.results)
    if (!seen.has(r.backend)) seen.set(r.backend, { id: r.backend, where: r.where });
  const rows = [...seen.values()];
  return [...rows.filter((r) => r.where === 'thread'), ...rows.filter((r) => r.where === 'process')];
}

function find(report: BenchReport, backend: string, pattern: Pattern, c: Column): BenchResult | undefined {
  return report.results.find(
    (r) => r.backend === backend && r.pattern === pattern && r.payload === c.payload && r.size === c.size,
  );
}

interface Measure {
  title: string;
  pattern: Pattern;
  /** The number compared for "best". */
  key: (r: BenchResult) => number | null;
  higherIsBetter: boolean;
  cell: (r: BenchResult) => string;
}

const MEASURES: Measure[] = [
  {
    title: 'stream: one-way throughput, messages/s (MB/s)',
    pattern: 'stream',
    key: (r) => r.msgsPerSec,
    higherIsBetter: true,
    cell: (r) => `${formatCount(r.msgsPerSec!)} (${sig(r.mbPerSec!)})`,
  },
  {
    title: 'rtt: round trip µs, p50 / p99',
    pattern: 'rtt',
    key: (r) => r.rttP50Us,
    higherIsBetter: false,
    cell: (r) => `${formatUs(r.rttP50Us!)} / ${formatUs(r.rttP99Us!)}`,
  },
  {
    title: 'CPU µs per message, both sides (stream)',
    pattern: 'stream',
    key: (r) => r.cpuUsPerMsg,
    higherIsBetter: false,
    cell: (r) => sig(r.cpuUsPerMsg!),
  },
  {
    title: 'CPU µs per round trip, both sides (rtt)',
    pattern: 'rtt',
    key: (r) => r.cpuUsPerMsg,
    higherIsBetter: false,
    cell: (r) => sig(r.cpuUsPerMsg!),
  },
];

interface Grid {
  title: string;
  header: string[];
  rows: { where: string; cells: { text: string; best: boolean; failed: boolean }[] }[];
}

function grids(report: BenchReport): Grid[] {
  const rows = rowsOf(report);
  const out: Grid[] = [];
  for (const m of MEASURES) {
    const cols = columnsOf(report, m.pattern);
    if (cols.length === 0) continue;
    // Best per column within each group (threads, processes).
    const best = new Map<string, number>();
    for (const c of cols) {
      for (const row of rows) {
        const r = find(report, row.id, m.pattern, c);
        const v = r?.verified ? m.key(r) : null;
        if (v === null) continue;
        const k = `${c.label}|${row.where}`;
        const cur = best.get(k);
        if (cur === undefined || (m.higherIsBetter ? v > cur : v < cur)) best.set(k, v);
      }
    }
    out.push({
      title: m.title,
      header: ['backend', ...cols.map((c) => c.label)],
      rows: rows.map((row) => ({
        where: row.where,
        cells: [
          { text: row.id, best: false, failed: false },
          ...cols.map((c) => {
            const r = find(report, row.id, m.pattern, c);
            if (r === undefined) return { text: '-', best: false, failed: false };
            if (!r.verified || m.key(r) === null) return { text: 'failed', best: false, failed: true };
            return {
              text: m.cell(r),
              best: best.get(`${c.label}|${row.where}`) === m.key(r),
              failed: false,
            };
          }),
        ],
      })),
    });
  }
  return out;
}

/** The terminal tables. `color`: use ANSI colors (picocolors decides by default). */
export function formatTables(report: BenchReport, o: { color?: boolean; skipped?: boolean } = {}): string {
  const c: Colors = o.color === false ? plain : o.color === true ? pc.createColors(true) : pc;
  const lines: string[] = [];
  for (const g of grids(report)) {
    const widths = g.header.map((h, i) =>
      Math.max(h.length, ...g.rows.map((r) => r.cells[i]!.text.length + (i === 0 ? 0 : 0))),
    );
    const pad = (s: string, i: number): string => (i === 0 ? s.padEnd(widths[i]!) : s.padStart(widths[i]!));
    lines.push('', c.bold(g.title));
    lines.push(c.dim(g.header.map(pad).join('  ')));
    let group = '';
    for (const row of g.rows) {
      if (row.where !== group) {
        group = row.where;
        lines.push(c.dim(`-- ${group === 'thread' ? 'between threads' : 'between processes'}`));
      }
      lines.push(
        row.cells
          .map((cell, i) => {
            const s = pad(cell.text, i);
            if (cell.failed) return c.red(s);
            if (cell.best) return c.green(c.bold(s));
            return i === 0 ? c.cyan(s) : s;
          })
          .join('  '),
      );
    }
  }
  const bad = report.results.filter((r) => !r.verified);
  lines.push('');
  if (bad.length === 0) {
    const total = report.results.reduce((s, r) => s + r.messages, 0);
    lines.push(
      c.green(
        `✓ all ${report.results.length} results verified (${formatCount(total)} messages: count, order and checksum)`,
      ),
    );
  } else {
    for (const r of bad) {
      lines.push(
        c.red(`✗ ${r.backend} ${r.pattern} ${r.payload} ${formatSize(r.size)}: ${r.error ?? 'not verified'}`),
      );
    }
  }
  if (o.skipped !== false) for (const s of skippedLines(report)) lines.push(c.yellow(`- ${s}`));
  return lines.join('\n');
}

/**
 * One line per skipped backend and payload kind: a backend refused for objects is listed once,
 * not once per pattern.
 */
export function skippedLines(report: BenchReport): string[] {
  const lines = report.skipped.map(
    (s) => `${s.backend}${s.payload ? ` (${s.payload} payload)` : ''} skipped: ${s.reason}`,
  );
  return [...new Set(lines)];
}

/** One line on the machine and method. */
export function formatHeader(report: BenchReport): string {
  const o = report.options;
  const runs = o.messages !== null ? `${o.messages} messages per run` : `~${o.targetMs} ms`;
  return `shmkit bench${o.quick ? ' --quick' : ''} · ${describeMachine(report.machine)} · ${o.reps} rep${o.reps === 1 ? '' : 's'} of ${runs} per case, backends interleaved`;
}

/** The report as Markdown: header, the pivoted tables, then every result in full. */
export function toMarkdown(report: BenchReport): string {
  const o = report.options;
  const lines: string[] = [
    '# shmkit bench',
    '',
    `Measured ${report.date} on ${describeMachine(report.machine)}; ${o.reps} timed reps of about ${o.targetMs} ms per case after two warm-up runs, backends interleaved; object payload: ${o.objectName}. Took ${sig(report.seconds)} s.`,
    '',
    'Thread backends run a worker thread of this process, process backends a child process. Bold: the best of its column within its group.',
  ];
  for (const g of grids(report)) lines.push('', `## ${g.title}`, '', ...markdownGrid(g));
  lines.push('', '## Every result', '');
  lines.push(
    '| backend | pattern | payload | size | messages | msgs/s | MB/s | p50 µs | p99 µs | CPU µs/msg | verified |',
  );
  lines.push('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  const n = (x: number | null | undefined, f: (x: number) => string = sig): string =>
    x === null || x === undefined ? '' : f(x);
  for (const r of report.results) {
    lines.push(
      `| ${r.backend} | ${r.pattern} | ${r.payload} | ${formatSize(r.size)} | ${r.messages} | ${n(r.msgsPerSec, formatCount)} | ${n(r.mbPerSec)} | ${n(r.rttP50Us)} | ${n(r.rttP99Us)} | ${n(r.cpuUsPerMsg)} | ${r.verified ? 'yes' : `no: ${r.error ?? ''}`} |`,
    );
  }
  if (report.skipped.length > 0) {
    lines.push('', '## Skipped', '');
    for (const s of report.skipped) {
      lines.push(`- ${s.backend}${s.payload ? ` (${s.payload} payload)` : ''}: ${s.reason}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function markdownGrid(g: Grid): string[] {
  const lines = [`| ${g.header.join(' | ')} |`];
  lines.push(`| ${g.header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`);
  for (const row of g.rows) {
    const cells = row.cells.map((cell, i) => {
      if (i === 0) return `${cell.text} (${row.where})`;
      if (cell.failed) return '✗ failed';
      return cell.best ? `**${cell.text}**` : cell.text;
    });
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines;
}

/** The throughput and latency tables in Markdown, each under a bold title (for READMEs). */
export function toMarkdownTables(report: BenchReport): string {
  const out: string[] = [];
  for (const g of grids(report)) {
    if (g.title.startsWith('CPU')) continue;
    out.push(`**${g.title}**`, '', ...markdownGrid(g), '');
  }
  return out.join('\n');
}

/**
 * The README's headline table: one row per backend; messages/s and p50 round trip at the
 * smallest size, MB/s at 4 KiB (when measured) and the largest size, and the object payload.
 */
export function headlineTable(report: BenchReport): string {
  const sizes = [...new Set(report.results.filter((r) => r.payload === 'bytes').map((r) => r.size))].sort(
    (a, b) => a - b,
  );
  const small = sizes[0];
  const big = sizes.length > 1 ? sizes[sizes.length - 1] : undefined;
  const mid = sizes.includes(4096) && 4096 !== small && 4096 !== big ? 4096 : undefined;
  const get = (backend: string, pattern: Pattern, payload: 'bytes' | 'object', size?: number) =>
    report.results.find(
      (r) =>
        r.backend === backend &&
        r.pattern === pattern &&
        r.payload === payload &&
        (size === undefined || r.size === size) &&
        r.verified,
    );
  const cols: { title: string; value: (id: string) => string }[] = [];
  const v = (x: number | null | undefined, f: (n: number) => string): string =>
    x === null || x === undefined ? '–' : f(x);
  if (small !== undefined) {
    cols.push({
      title: `${formatSize(small)} msgs/s`,
      value: (id) => v(get(id, 'stream', 'bytes', small)?.msgsPerSec, formatCount),
    });
    cols.push({
      title: `${formatSize(small)} round trip p50 µs`,
      value: (id) => v(get(id, 'rtt', 'bytes', small)?.rttP50Us, sig),
    });
  }
  for (const s of [mid, big]) {
    if (s === undefined) continue;
    cols.push({
      title: `${formatSize(s)} MB/s`,
      value: (id) => v(get(id, 'stream', 'bytes', s)?.mbPerSec, sig),
    });
  }
  if (report.results.some((r) => r.payload === 'object')) {
    cols.push({
      title: 'object msgs/s',
      value: (id) => v(get(id, 'stream', 'object')?.msgsPerSec, formatCount),
    });
    cols.push({
      title: 'object round trip p50 µs',
      value: (id) => v(get(id, 'rtt', 'object')?.rttP50Us, sig),
    });
  }
  const lines = [`| backend | between | ${cols.map((c) => c.title).join(' | ')} |`];
  lines.push(`| --- | --- | ${cols.map(() => '---:').join(' | ')} |`);
  for (const row of rowsOf(report)) {
    lines.push(
      `| ${row.id} | ${row.where === 'thread' ? 'threads' : 'processes'} | ${cols.map((c) => c.value(row.id)).join(' | ')} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
