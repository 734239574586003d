/**
 * The `shmkit` command: bench, recommend, segments, doctor.
 *
 * Exit codes: 0 success; 1 a failure found by the command (a run that did not verify, a problem
 * found by doctor, a segment that does not exist); 2 a usage error (unknown flag, bad value,
 * missing payload file). Errors are one line on stderr, never a stack trace (SHMKIT_DEBUG=1
 * shows it).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ShmkitError } from '@shmkit/core';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import pc from 'picocolors';
import { setNatsUrl } from './backend-nats.js';
import { Failure, UsageError } from './cli-errors.js';
import { doctor } from './doctor.js';
import { toHtml } from './html.js';
import { formatSize, measure } from './measure.js';
import { loadPayloadFile, MAX_SIZE, MIN_SIZE } from './payload.js';
import { numbersOf, recommend } from './recommend.js';
import { formatHeader, formatTables, sig, toMarkdown } from './report.js';
import { type SegmentsFlags, segmentsCommand } from './segments-command.js';
import {
  ALL_BACKEND_IDS,
  type BackendId,
  type Pattern,
  type PayloadKind,
  type ProgressEvent,
} from './types.js';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1 << 20,
  mb: 1 << 20,
  mib: 1 << 20,
};

/** "64", "4k", "4KiB", "1m", "1MiB" -> bytes. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new InvalidArgumentError(`"${text}" is not a size (examples: 64, 4k, 64KiB, 1m)`);
  }
  const bytes = Math.round(Number(m[1]) * unit);
  if (bytes < MIN_SIZE || bytes > MAX_SIZE) {
    throw new InvalidArgumentError(`${text} is outside ${MIN_SIZE} B .. ${formatSize(MAX_SIZE)}`);
  }
  return bytes;
}

function parseList<T extends string>(allowed: readonly T[], what: string): (text: string) => T[] {
  return (text) => {
    const items = text
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (items.length === 0) throw new InvalidArgumentError(`no ${what} given`);
    for (const it of items) {
      if (!allowed.includes(it as T)) {
        throw new InvalidArgumentError(`unknown ${what} "${it}" (choose from: ${allowed.join(', ')})`);
      }
    }
    return items as T[];
  };
}

function parsePositive(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${text}" is not a positive integer`);
  return n;
}

function writeOut(file: string, text: string): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileSync(file, text);
}

/** A TTY progress bar (cli-progress) or plain lines, on stderr. */
async function progressReporter(
  enabled: boolean,
): Promise<{ on: (e: ProgressEvent) => void; stop: () => void }> {
  if (!enabled) return { on: () => {}, stop: () => {} };
  if (process.stderr.isTTY) {
    const { SingleBar, Presets } = (await import('cli-progress')).default;
    const bar = new SingleBar(
      {
        stream: process.stderr,
        format: `${pc.cyan('{bar}')} {percentage}% | {value}/{total} runs | ETA {eta_formatted} | {label}`,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 40,
      },
      Presets.shades_classic,
    );
    return {
      on: (e) => {
        if (e.type === 'start') bar.start(e.total, 0, { label: 'starting peers' });
        else if (e.type === 'step') bar.update(e.done, { label: e.label });
        else if (e.type === 'warn') process.stderr.write(`\n${pc.yellow(e.message)}\n`);
      },
      stop: () => bar.stop(),
    };
  }
  return {
    on: (e) => {
      if (e.type === 'start') process.stderr.write(`measuring ${e.cases} cases (${e.total} runs)\n`);
      else if (e.type === 'case')
        process.stderr.write(`[${e.index}/${e.cases}] ${e.label}: ${sig(e.seconds)} s\n`);
      else if (e.type === 'warn') process.stderr.write(`${e.message}\n`);
    },
    stop: () => {},
  };
}

async function checkPayload(file: string | undefined): Promise<string | undefined> {
  if (file === undefined) return undefined;
  const abs = path.resolve(file);
  if (!existsSync(abs)) throw new UsageError(`payload file not found: ${file}`);
  try {
    await loadPayloadFile(abs);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return abs;
}

interface BenchFlags {
  quick?: boolean;
  backends?: BackendId[];
  sizes?: number[];
  pattern: 'stream' | 'rtt' | 'both';
  payloads?: PayloadKind[];
  payload?: string;
  reps?: number;
  time?: number;
  messages?: number;
  json?: string;
  md?: string;
  html?: string;
  nats?: string;
  progress: boolean;
  color: boolean;
}

async function benchCommand(f: BenchFlags): Promise<void> {
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

interface RecommendFlags {
  size: number;
  pattern: Pattern;
  objects?: boolean;
  processes?: boolean;
  hosts: 'one' | 'many';
  nats?: string;
  payload?: string;
  json?: string;
  progress: boolean;
  color: boolean;
}

async function recommendCommand(f: RecommendFlags): Promise<void> {
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

async function doctorCommand(json: boolean, color: boolean): Promise<void> {
  const checks = await doctor();
  if (json) process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
  else {
    const c = color && pc.isColorSupported ? pc : pc.createColors(false);
    const width = Math.max(...checks.map((k) => k.name.length));
    for (const k of checks) {
      const mark =
        k.status === 'ok' ? c.green('ok  ') : k.status === 'warn' ? c.yellow('warn') : c.red('FAIL');
      process.stdout.write(`${mark}  ${k.name.padEnd(width)}  ${k.detail}\n`);
    }
  }
  const failed = checks.filter((k) => k.status === 'fail');
  if (failed.length > 0)
    throw new Failure(
      'UNSUPPORTED',
      `${failed.length} check(s) failed: ${failed.map((k) => k.name).join(', ')}`,
    );
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

/** Builds the program (exported for tests). */
export function program(): Command {
  const p = new Command('shmkit')
    .description('shmkit: shared memory for Node threads and processes, and what IPC costs on this machine')
    .version(version())
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  shmkit bench --quick --html report.html      what IPC costs on this machine, every backend
  shmkit recommend --size 4k --pattern rtt     which backend fits a 4 KiB request/response
  shmkit doctor                                can segments work here?
  shmkit segments                              shmkit's shared-memory segments, like ipcs
  shmkit help bench                            the options of one command, with examples

Exit codes: 0 ok, 1 a failure found (unverified run, failed check, missing segment), 2 usage error.
Errors are ShmkitErrors: their code is printed in brackets.\n`,
    );
  p.command('bench')
    .description(
      'measure every IPC backend with your payload: a table, and optionally JSON, Markdown and HTML reports',
    )
    .option('--quick', 'fewer sizes and shorter reps: about a minute on 2 cores')
    .option(
      '--backends <list>',
      `comma-separated backend ids (default: all): ${ALL_BACKEND_IDS.join(', ')}`,
      parseList(ALL_BACKEND_IDS, 'backend'),
    )
    .option('--sizes <list>', 'bytes payload sizes, e.g. 64,4k,64k,1m (default: 64 B .. 1 MiB)', (t) =>
      t.split(',').map(parseSize),
    )
    .addOption(
      new Option('--pattern <pattern>', 'stream (throughput), rtt (round trips) or both')
        .choices(['stream', 'rtt', 'both'])
        .default('both'),
    )
    .option(
      '--payloads <list>',
      'payload kinds: bytes, object (default: both)',
      parseList(['bytes', 'object'] as const, 'payload kind'),
    )
    .option('--payload <file>', 'module exporting a function that returns your object payload')
    .option('--reps <n>', 'timed repetitions per case (default 5, --quick 3)', parsePositive)
    .option('--time <ms>', 'target duration of one timed rep (default 250, --quick 50)', parsePositive)
    .addOption(
      new Option('--messages <n>', 'fixed messages per run, no calibration (tests)')
        .argParser(parsePositive)
        .hideHelp(),
    )
    .option('--json <file>', 'write the shmkit-bench/1 JSON report')
    .option('--md <file>', 'write a Markdown report')
    .option('--html <file>', 'write a self-contained HTML report with charts')
    .option('--nats <url>', 'NATS server for the nats backends (default: start nats-server if installed)')
    .option('--no-progress', 'no progress bar or lines')
    .option('--no-color', 'no colors')
    .addHelpText(
      'after',
      `
Examples:
  shmkit bench --quick --html report.html           every backend, 4 sizes and objects, about a minute
  shmkit bench --sizes 256,16k --pattern rtt --backends postmessage,shmkit-thread
  shmkit bench --payload ./my-payload.mjs --payloads object --json bench.json
      (my-payload.mjs: export default (i) => ({ id: i, name: \`item-\${i}\` }))\n`,
    )
    .action((f: BenchFlags) => benchCommand(f));
  p.command('recommend')
    .description('measure briefly and rank the backends that fit your case')
    .requiredOption('--size <bytes>', 'message size, e.g. 256, 4k, 1m', parseSize)
    .addOption(
      new Option('--pattern <pattern>', 'stream (throughput) or rtt (round trips)')
        .choices(['stream', 'rtt'])
        .makeOptionMandatory(),
    )
    .option('--objects', 'messages are objects (built-in order event, or --payload)')
    .option('--processes', 'between processes (default: between worker threads)')
    .addOption(
      new Option('--hosts <hosts>', 'one machine, or many: rank the network backends against shared memory')
        .choices(['one', 'many'])
        .default('one'),
    )
    .option('--nats <url>', 'NATS server for --hosts many (default: start nats-server if installed)')
    .option('--payload <file>', 'module exporting a function that returns your object payload')
    .option('--json <file>', 'write the measurement as a shmkit-bench/1 JSON report')
    .option('--no-progress', 'no progress bar or lines')
    .option('--no-color', 'no colors')
    .addHelpText(
      'after',
      `
Examples:
  shmkit recommend --size 4k --pattern rtt                  request/response between worker threads
  shmkit recommend --size 64 --pattern stream --processes   a one-way stream between processes
  shmkit recommend --size 1k --pattern rtt --objects --payload ./my-payload.mjs\n`,
    )
    .action((f: RecommendFlags) => recommendCommand(f));
  p.command('segments')
    .description('list, inspect or remove shmkit shared-memory segments (like ipcs / ipcrm)')
    .argument('[action]', 'list (default), inspect or rm')
    .argument('[name]', 'segment name (inspect, rm)')
    .option('--json', 'print the list, or the inspected segment, as JSON')
    .option('--dir <dir>', 'segments in this directory (file-backed) instead of /dev/shm')
    .option('--no-color', 'no colors')
    .addHelpText(
      'after',
      `
Examples:
  shmkit segments                     list the segments in /dev/shm (name, size, creator, alive)
  shmkit segments list --json         the same, as JSON
  shmkit segments inspect orders      mode, creator, and every named object with its parameters
  shmkit segments inspect orders --json
  shmkit segments rm orders           remove one (its memory goes once no process maps it)
  shmkit segments list --dir /var/lib/myapp\n`,
    )
    .action((action: string | undefined, name: string | undefined, f: SegmentsFlags) =>
      segmentsCommand(action, name, f),
    );
  p.command('doctor')
    .description('check that shmkit can work here: Node, native addon, /dev/shm, futex, segments')
    .option('--json', 'print the checks as JSON')
    .option('--no-color', 'no colors')
    .addHelpText(
      'after',
      `
Examples:
  shmkit doctor          one line per check: ok, warn or FAIL, with the fix
  shmkit doctor --json   the checks as JSON (exit code 1 when one failed)\n`,
    )
    .action((f: { json?: boolean; color: boolean }) => doctorCommand(f.json ?? false, f.color));
  return p;
}

/** Runs the CLI with `argv` (user arguments only); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const p = program();
  if (argv.length === 0) {
    p.outputHelp({ error: true });
    return 2;
  }
  // Ctrl-C: exit through process.exit, so that the exit hooks stop child peers and remove segments.
  const interrupted = (): void => process.exit(130);
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    await p.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander printed its message (and the hint) already.
      return e.exitCode === 0 ? 0 : 2;
    }
    const message = e instanceof Error ? e.message : String(e);
    const code = e instanceof ShmkitError ? ` [${e.code}]` : '';
    process.stderr.write(`${pc.red('shmkit:')} ${message}${code}\n`);
    if (process.env.SHMKIT_DEBUG && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    return e instanceof UsageError ? 2 : 1;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}
