/**
 * The committed IPC benchmark: every backend of @shmkit/bench (postMessage, child IPC json and
 * advanced, UNIX socket, TCP, stdio pipes, shmkit between threads and between processes), both
 * patterns (stream, rtt), bytes from 64 B to 1 MiB and the built-in object payload.
 *
 * Run: `npx -y pnpm@10.34.8 run bench:ipc` (builds first), or `npx tsx benchmarks/ipc.ts [--quick]`;
 * `--from-json benchmarks/results/ipc.json` re-renders the reports of an earlier run.
 * Writes, in benchmarks/results/:
 *   ipc.json   the shmkit-bench/1 report (the schema of `shmkit bench --json`)
 *   ipc.md     Markdown tables of every case
 *   ipc-headline.md  the README's headline table
 *   ipc.html   the self-contained HTML report with every chart
 *   ipc-*.svg  the main charts as standalone SVG files, for the README and docs
 *
 * It is `shmkit bench` with the full preset (5 interleaved reps of ~250 ms per case and backend,
 * after two warm-up runs); see packages/bench/src/measure.ts for the method.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import {
  type BenchReport,
  charts,
  describeMachine,
  formatTables,
  headlineTable,
  measure,
  type ProgressEvent,
  standaloneSvg,
  toHtml,
  toMarkdown,
} from '@shmkit/bench';

const QUICK = process.argv.includes('--quick');
const dir = new URL('./results/', import.meta.url);

function onProgress(e: ProgressEvent): void {
  if (e.type === 'start') console.error(`measuring ${e.cases} cases (${e.total} runs)`);
  else if (e.type === 'case') console.error(`[${e.index}/${e.cases}] ${e.label}: ${e.seconds.toFixed(1)} s`);
  else if (e.type === 'warn') console.error(e.message);
}

// --from-json FILE: re-render the reports of an earlier run without measuring again.
const fromJson = process.argv.indexOf('--from-json');
const report: BenchReport =
  fromJson > 0
    ? (JSON.parse(readFileSync(process.argv[fromJson + 1]!, 'utf8')) as BenchReport)
    : await measure({ quick: QUICK, onProgress });
console.log(`shmkit IPC benchmark${QUICK ? ' (--quick)' : ''}: ${describeMachine(report.machine)}`);
console.log(formatTables(report, { color: false }));

mkdirSync(dir, { recursive: true });
writeFileSync(new URL('ipc.json', dir), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(new URL('ipc.md', dir), toMarkdown(report));
writeFileSync(new URL('ipc-headline.md', dir), headlineTable(report));
writeFileSync(new URL('ipc.html', dir), toHtml(report));
const wanted = [
  'stream-throughput',
  'stream-messages',
  'rtt-latency',
  'rtt-percentiles-bytes-64',
  'stream-cpu',
];
for (const c of charts(report)) {
  if (wanted.includes(c.name)) writeFileSync(new URL(`ipc-${c.name}.svg`, dir), standaloneSvg(c.svg));
}
console.log(
  `results written to benchmarks/results/ipc.{json,md,html}, ipc-headline.md and ipc-*.svg (${report.seconds.toFixed(0)} s)`,
);
if (report.results.some((r) => !r.verified)) process.exitCode = 1;
