/**
 * Reads the tables of docs/format.md that the layout test pins. A table is pinned when the line
 * right before it is a marker comment:
 *
 *   <!-- layout: NAME size=N -->   offsets of one structure (size: the structure's bytes, optional)
 *   <!-- constants: NAME -->       constant | value | meaning
 *   <!-- tags -->                  the type tag of every kind
 *   <!-- object-kinds -->          the segment directory's object kinds
 *
 * Cells are returned as written, minus backticks; numbers are parsed by {@link num}.
 */
import { readFileSync } from 'node:fs';

export interface DocTable {
  readonly marker: string;
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly rows: readonly Readonly<Record<string, string>>[];
}

export const FORMAT_DOC = new URL('../../docs/format.md', import.meta.url);

/** Every marked table of the document. */
export function readDocTables(file: URL = FORMAT_DOC): DocTable[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const tables: DocTable[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^<!-- (layout|constants|tags|object-kinds)(?::\s*([\w-]+))?((?:\s+\w+=\S+)*)\s*-->$/.exec(
      lines[i]!.trim(),
    );
    if (m === null) continue;
    const attrs: Record<string, string> = {};
    for (const a of (m[3] ?? '').trim().split(/\s+/).filter(Boolean)) {
      const [k, v] = a.split('=') as [string, string];
      attrs[k] = v;
    }
    const header = cells(lines[i + 1] ?? '');
    if (header.length < 2 || !/^\|[\s|:-]+\|$/.test((lines[i + 2] ?? '').trim())) {
      throw new Error(`docs/format.md line ${i + 1}: a marker must be followed by a table`);
    }
    const rows: Record<string, string>[] = [];
    for (let j = i + 3; j < lines.length && lines[j]!.trim().startsWith('|'); j++) {
      const c = cells(lines[j]!);
      const row: Record<string, string> = {};
      header.forEach((h, k) => {
        row[h] = c[k] ?? '';
      });
      rows.push(row);
    }
    tables.push({ marker: m[1]!, name: m[2] ?? m[1]!, attrs, rows });
  }
  return tables;
}

/** The one table with this marker and name. */
export function docTable(tables: readonly DocTable[], marker: string, name = marker): DocTable {
  const found = tables.filter((t) => t.marker === marker && t.name === name);
  if (found.length !== 1) throw new Error(`docs/format.md has ${found.length} tables "${marker}: ${name}"`);
  return found[0]!;
}

/** A decimal or 0x-hex integer cell; NaN for anything else ("—", "32 × threads"). */
export function num(cell: string): number {
  const t = cell.trim();
  if (/^0x[0-9a-f_]+$/i.test(t)) return Number.parseInt(t.slice(2).replaceAll('_', ''), 16);
  if (/^-?\d+$/.test(t)) return Number(t);
  return Number.NaN;
}

/** The row whose `field` cell starts with `prefix` (exactly one). */
export function field(t: DocTable, prefix: string): Readonly<Record<string, string>> {
  const found = t.rows.filter((r) => (r.field ?? '').startsWith(prefix));
  if (found.length !== 1) throw new Error(`table ${t.name}: ${found.length} fields start with "${prefix}"`);
  return found[0]!;
}

function cells(line: string): string[] {
  const t = line.trim();
  if (!t.startsWith('|')) return [];
  // Split on pipes that are not escaped (`a \| b` is one cell).
  return t
    .slice(1, t.endsWith('|') ? -1 : undefined)
    .split(/(?<!\\)\|/)
    .map((c) => c.trim().replaceAll('\\|', '|').replaceAll('`', ''));
}
