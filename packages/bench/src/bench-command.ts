/** `shmkit bench`: every backend (or those asked for) measured with the user's payload. */
import pc from 'picocolors';
import { setNatsUrl } from './backend-nats.js';
import { Failure } from './cli-errors.js';
import { checkPayload, type MeasureFlags, progressReporter, writeOut } from './cli-options.js';
import { toHtml } from './html.js';
import { measure } from './measure.js';
import { formatHeader, formatTables, sig, toMarkdown } from './report.js';
import type { BackendId, Pattern, PayloadKind } from './types.js';

export interface BenchFlags extends MeasureFlags {
  quick?: boolean;
  backends?: BackendId[];
  sizes?: number[];
  pattern: 'stream' | 'rtt' | 'both';
  payloads?: PayloadKind[];
  reps?: number;
  time?: number;
  messages?: number;
  md?: string;
  html?: string;
}

/** `shmkit bench`: measures, prints the tables, writes the reports asked for. */
export async function benchCommand(f: BenchFlags): Promise<void> {
  const payloadFile = await checkPayload(f.payload);
  setNatsUrl(f.nats);
  const patterns: Pattern[] = f.pattern === 'both' ? ['stream', 'rtt'] : [f.pattern];
  // --sizes names byte sizes: unless objects are asked for too (--payloads, --payload), measure
  // just those sizes instead of adding an object column nobody asked for.
  const payloads: PayloadKind[] | undefined =
    f.payloads ?? (f.sizes !== undefined && payloadFile === undefined ? ['bytes'] : undefined);
  const progress = await progressReporter(f.progress);
  const started = performance.now();
  let report: Awaited<ReturnType<typeof measure>>;
  try {
    report = await measure({
      quick: f.quick ?? false,
      patterns,
      ...(f.backends ? { backends: f.backends } : {}),
      ...(f.sizes ? { sizes: f.sizes } : {}),
      ...(payloads ? { payloads } : {}),
      ...(payloadFile ? { payloadFile } : {}),
      ...(f.reps ? { reps: f.reps } : {}),
      ...(f.time ? { targetMs: f.time } : {}),
      ...(f.messages ? { messages: f.messages } : {}),
      onProgress: progress.on,
    });
  } finally {
    progress.stop();
  }
  const color = f.color && pc.isColorSupported;
  process.stdout.write(`${(color ? pc.bold : String)(formatHeader(report))}\n`);
  process.stdout.write(`${formatTables(report, { color })}\n`);
  process.stdout.write(`finished in ${sig((performance.now() - started) / 1000)} s\n`);
  if (f.json) {
    writeOut(f.json, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`wrote ${f.json}\n`);
  }
  if (f.md) {
    writeOut(f.md, toMarkdown(report));
    process.stdout.write(`wrote ${f.md}\n`);
  }
  if (f.html) {
    writeOut(f.html, toHtml(report));
    process.stdout.write(`wrote ${f.html} (open it in a browser)\n`);
  }
  const bad = report.results.filter((r) => !r.verified);
  if (bad.length > 0) throw new Failure('CORRUPT', `${bad.length} result(s) did not verify (see above)`);
}
