/**
 * What the `shmkit` commands share: parsers of option values (commander calls them; a bad value
 * is a usage error, exit code 2), the flags every measuring command takes, the progress display
 * and writing an output file.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import pc from 'picocolors';
import { UsageError } from './cli-errors.js';
import { formatSize } from './measure.js';
import { loadPayloadFile, MAX_SIZE, MIN_SIZE } from './payload.js';
import { sig } from './report.js';
import type { ProgressEvent } from './types.js';

/** The flags of every command that measures (bench, recommend). */
export interface MeasureFlags {
  /** Module exporting a function that returns the user's object payload. */
  payload?: string;
  /** NATS server for the nats backends. */
  nats?: string;
  /** Where to write the JSON report. */
  json?: string;
  progress: boolean;
  color: boolean;
}

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

export function parseList<T extends string>(allowed: readonly T[], what: string): (text: string) => T[] {
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

export function parsePositive(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${text}" is not a positive integer`);
  return n;
}

export function writeOut(file: string, text: string): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileSync(file, text);
}

/** A TTY progress bar (cli-progress) or plain lines, on stderr. */
export async function progressReporter(
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

export async function checkPayload(file: string | undefined): Promise<string | undefined> {
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
