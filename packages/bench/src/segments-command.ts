/**
 * `shmkit segments`: list, inspect and remove segments (like ipcs / ipcrm), readable or as JSON.
 */
import type { SegmentInfo } from '@shmkit/segment';
import pc from 'picocolors';
import { Failure, UsageError } from './cli-errors.js';
import { formatSize } from './measure.js';
import { loadSegment } from './segment-api.js';

export interface SegmentsFlags {
  json?: boolean;
  dir?: string;
  color: boolean;
}

export async function segmentsCommand(
  action: string | undefined,
  name: string | undefined,
  f: SegmentsFlags,
): Promise<void> {
  const c = f.color && pc.isColorSupported ? pc : pc.createColors(false);
  const act = action ?? 'list';
  if (!['list', 'ls', 'inspect', 'rm'].includes(act)) {
    throw new UsageError(`unknown segments action "${act}" (use: list, inspect NAME, rm NAME)`);
  }
  if ((act === 'inspect' || act === 'rm') && name === undefined) {
    throw new UsageError(`shmkit segments ${act} needs a segment NAME`);
  }
  if ((act === 'list' || act === 'ls') && name !== undefined) {
    throw new UsageError(`shmkit segments list takes no NAME (did you mean inspect ${name}?)`);
  }
  const loaded = await loadSegment();
  if (!loaded.ok) throw new Failure('UNSUPPORTED', `segments are unavailable here: ${loaded.reason}`);
  const Segment = loaded.value;
  const where = f.dir !== undefined ? { dir: f.dir } : {};
  const place = f.dir ?? '/dev/shm';
  if (act === 'list' || act === 'ls') {
    const list = Segment.list(where);
    if (f.json) {
      process.stdout.write(`${JSON.stringify(list.map(plainInfo), null, 2)}\n`);
      return;
    }
    if (list.length === 0) {
      process.stdout.write(`no shmkit segments in ${place}\n`);
      return;
    }
    const rows = list.map((s) => [
      String(s.name),
      formatSize(Number(s.size)),
      String(s.creatorPid ?? ''),
      s.creatorAlive === undefined ? '?' : s.creatorAlive ? 'yes' : 'no',
      String(s.status ?? ''),
      String(s.objects ?? ''),
      iso(s.created),
    ]);
    const header = ['name', 'size', 'creator', 'alive', 'status', 'objects', 'created'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    process.stdout.write(`${c.dim(header.map((h, i) => h.padEnd(widths[i]!)).join('  '))}\n`);
    for (const r of rows) {
      const line = r.map((v, i) => v.padEnd(widths[i]!)).join('  ');
      process.stdout.write(`${r[3] === 'no' ? c.yellow(line) : line}\n`);
    }
    const stale = rows.filter((r) => r[3] === 'no').length;
    if (stale > 0) {
      process.stdout.write(
        c.dim(`${stale} segment(s) whose creator is gone: \`shmkit segments rm NAME\` removes one\n`),
      );
    }
    return;
  }
  if (act === 'rm') {
    if (!Segment.unlink(name!, where)) throw new Failure('NOT_FOUND', `no segment named ${name} in ${place}`);
    process.stdout.write(`removed ${name}\n`);
    return;
  }
  const info = Segment.list(where).find((s) => s.name === name);
  if (info === undefined) throw new Failure('NOT_FOUND', `no segment named ${name} in ${place}`);
  const out = plainInfo(info);
  try {
    const seg = Segment.open(name!, where);
    try {
      if (typeof seg.objects === 'function') out.namedObjects = seg.objects();
      if (typeof seg.freeBytes === 'number') out.free = seg.freeBytes;
    } finally {
      seg.close();
    }
  } catch (e) {
    out.openError = (e as Error).message;
  }
  if (f.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  else process.stdout.write(describeSegment(out, c));
}

/** A SegmentInfo as JSON-ready data (dates as ISO strings). */
function plainInfo(info: SegmentInfo): Record<string, unknown> {
  const out: Record<string, unknown> = { ...info };
  if (info.created instanceof Date) out.created = iso(info.created);
  return out;
}

/** The readable form of `segments inspect`: the file, its creator, then one line per object. */
function describeSegment(s: Record<string, unknown>, c: ReturnType<typeof pc.createColors>): string {
  const mode = typeof s.mode === 'number' ? `0${(s.mode & 0o777).toString(8).padStart(3, '0')}` : '?';
  const size = Number(s.size);
  const free = typeof s.free === 'number' ? `, ${approxSize(s.free)} free` : '';
  const lines = [
    `${c.bold(String(s.name))}  ${String(s.path ?? '')}`,
    `  size     ${formatSize(size)}${free}`,
    `  mode     ${mode}, uid ${String(s.uid ?? '?')}`,
    `  status   ${String(s.status ?? '?')}`,
    `  creator  pid ${String(s.creatorPid ?? '?')} (${s.creatorAlive === true ? 'running' : s.creatorAlive === false ? c.yellow('gone') : '?'}), created ${String(s.created ?? '?')}`,
  ];
  if (typeof s.openError === 'string') lines.push(c.red(`  cannot open: ${s.openError}`));
  const objects = (s.namedObjects ?? []) as {
    key: string;
    kind: string;
    byteLength: number;
    params?: unknown;
  }[];
  lines.push(`  objects  ${objects.length}`);
  const kw = Math.max(3, ...objects.map((o) => o.key.length));
  const tw = Math.max(4, ...objects.map((o) => o.kind.length));
  for (const o of objects) {
    const params = describeParams(o.params);
    lines.push(
      `    ${o.key.padEnd(kw)}  ${o.kind.padEnd(tw)}  ${formatSize(o.byteLength).padStart(9)}${params ? `  ${params}` : ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** An object's parameters (a channel's capacity and codec, a semaphore's count), as one phrase. */
function describeParams(p: unknown): string {
  if (p === undefined || p === null) return '';
  if (typeof p === 'string') return p;
  if (typeof p !== 'object') return String(p);
  return Object.entries(p as Record<string, unknown>)
    .map(([k, v]) => `${k} ${k === 'capacity' && typeof v === 'number' ? formatSize(v) : String(v)}`)
    .join(', ');
}

/** Bytes in the largest unit that keeps one decimal: "1002.3 KiB" (formatSize is exact-only). */
function approxSize(bytes: number): string {
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

/** A Date as ISO text; '' for anything else, or for an invalid date (a planted header). */
function iso(d: unknown): string {
  return d instanceof Date && !Number.isNaN(d.getTime()) ? d.toISOString() : '';
}
