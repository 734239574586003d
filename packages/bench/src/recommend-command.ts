/** `shmkit recommend`: a short measurement of the backends that fit the user's case, ranked. */
import pc from 'picocolors';
import { setNatsUrl } from './backend-nats.js';
import { Failure } from './cli-errors.js';
import { checkPayload, type MeasureFlags, progressReporter, writeOut } from './cli-options.js';
import { formatSize } from './measure.js';
import { numbersOf, recommend } from './recommend.js';
import type { Pattern } from './types.js';

export interface RecommendFlags extends MeasureFlags {
  size: number;
  pattern: Pattern;
  objects?: boolean;
  processes?: boolean;
  hosts: 'one' | 'many';
}

/** `shmkit recommend`: measures briefly, ranks the backends that fit, prints why. */
export async function recommendCommand(f: RecommendFlags): Promise<void> {
  const payloadFile = await checkPayload(f.payload);
  setNatsUrl(f.nats);
  const progress = await progressReporter(f.progress);
  let rec: Awaited<ReturnType<typeof recommend>>;
  try {
    rec = await recommend({
      size: f.size,
      pattern: f.pattern,
      objects: f.objects ?? false,
      processes: f.processes ?? false,
      hosts: f.hosts,
      ...(payloadFile ? { payloadFile } : {}),
      onProgress: progress.on,
    });
  } finally {
    progress.stop();
  }
  const c = f.color && pc.isColorSupported ? pc : pc.createColors(false);
  const what =
    rec.payload === 'object'
      ? `object messages (${formatSize(rec.size)} as msgpack)`
      : `${formatSize(rec.size)} messages`;
  const how =
    rec.pattern === 'stream'
      ? 'one-way stream (ranked by messages/s)'
      : 'request/response round trips (ranked by p50)';
  const between =
    rec.hosts === 'many'
      ? 'between machines (network backends, measured on loopback)'
      : rec.where === 'thread'
        ? 'between worker threads of one process'
        : 'between processes';
  process.stdout.write(`${c.bold(`shmkit recommend: ${what}, ${how}, ${between}`)}\n`);
  process.stdout.write(
    c.dim(
      `measured here: ${rec.report.options.reps} reps of ~${rec.report.options.targetMs} ms, interleaved, every message verified\n\n`,
    ),
  );
  const width = Math.max(...rec.ranked.map((r) => r.backend.length), 8);
  for (const r of rec.ranked) {
    const line = `${String(r.rank).padStart(2)}. ${r.backend.padEnd(width)}  ${numbersOf(r.result)}`;
    process.stdout.write(`${r.rank === 1 ? c.green(c.bold(line)) : line}\n    ${c.dim(r.reason)}\n`);
  }
  for (const r of rec.failed) process.stdout.write(c.red(`  ✗ ${r.backend}: ${r.error ?? 'not verified'}\n`));
  for (const s of rec.unavailable)
    process.stdout.write(c.yellow(`  - ${s.backend} not measured: ${s.reason}\n`));
  const best = rec.ranked[0];
  if (best !== undefined) {
    process.stdout.write(`\n${c.bold('Recommendation:')} ${best.backend} — ${best.reason}\n`);
  }
  if (rec.hosts === 'many') {
    if (rec.crossingCost !== undefined)
      process.stdout.write(`${c.bold('Crossing machines:')} ${rec.crossingCost}\n`);
    process.stdout.write(
      c.dim('(loopback is the floor: a real network adds its round trip to every figure)\n'),
    );
  } else if (rec.where === 'thread') {
    process.stdout.write(c.dim('(add --processes to compare the backends between processes)\n'));
  } else process.stdout.write(c.dim('(without --processes: the backends between worker threads)\n'));
  if (f.json) {
    writeOut(f.json, `${JSON.stringify(rec.report, null, 2)}\n`);
    process.stdout.write(`wrote ${f.json}\n`);
  }
  if (best === undefined) throw new Failure('CORRUPT', 'no backend delivered a verified run');
}
