/**
 * The `shmkit` command: bench, recommend, segments, doctor (each command's action is in its own
 * file: bench-command.ts, recommend-command.ts, segments-command.ts; option parsers in
 * cli-options.ts).
 *
 * Exit codes: 0 success; 1 a failure found by the command (a run that did not verify, a problem
 * found by doctor, a segment that does not exist); 2 a usage error (unknown flag, bad value,
 * missing payload file). Errors are one line on stderr, never a stack trace (SHMKIT_DEBUG=1
 * shows it).
 */
import { readFileSync } from 'node:fs';
import { ShmkitError } from '@shmkit/core';
import { Command, CommanderError, Option } from 'commander';
import pc from 'picocolors';
import { type BenchFlags, benchCommand } from './bench-command.js';
import { Failure, UsageError } from './cli-errors.js';
import { parseList, parsePositive, parseSize } from './cli-options.js';
import { doctor } from './doctor.js';
import { type RecommendFlags, recommendCommand } from './recommend-command.js';
import { type SegmentsFlags, segmentsCommand } from './segments-command.js';
import { ALL_BACKEND_IDS } from './types.js';

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
