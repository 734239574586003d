/**
 * Pins the dependency rule of docs/architecture.md ("Packages"): each package may import only the
 * @shmkit packages its row names, in package.json and in its sources alike, so the graph stays
 * one-way (core <- sync <- channel <- segment <- bench; core <- struct; channel <- nats).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);

function allowedImports(): Map<string, Set<string>> {
  const lines = readFileSync(new URL('docs/architecture.md', root), 'utf8').split('\n');
  const at = lines.findIndex((l) => l.trim() === '<!-- dependencies -->');
  expect(at, 'docs/architecture.md has a <!-- dependencies --> table').toBeGreaterThanOrEqual(0);
  const rules = new Map<string, Set<string>>();
  for (const line of lines.slice(at + 3)) {
    if (!line.trim().startsWith('|')) break;
    const [name, deps] = line
      .split('|')
      .slice(1, 3)
      .map((c) => c.trim());
    rules.set(name!, new Set(deps ? deps.split(',').map((d) => d.trim()) : []));
  }
  return rules;
}

/** @shmkit packages a source file imports (import/export statements and dynamic imports, not comments). */
function importsOf(file: string): string[] {
  const found: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const t = line.trim();
    if (t.startsWith('*') || t.startsWith('//') || t.startsWith('/*')) continue;
    for (const m of t.matchAll(/(?:from\s+|import\(\s*)'@shmkit\/([\w-]+)/g)) found.push(m[1]!);
  }
  return found;
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = `${dir}/${name}`;
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.(ts|mts|js|mjs)$/.test(name)) out.push(p);
  }
  return out;
}

const packages = readdirSync(new URL('packages/', root)).filter((n) =>
  statSync(new URL(`packages/${n}/package.json`, root), { throwIfNoEntry: false }),
);

describe('docs/architecture.md: one-way dependencies', () => {
  const rules = allowedImports();

  it('has a row for every package', () => {
    for (const p of packages)
      expect(rules.has(p), `packages/${p} has no row in docs/architecture.md`).toBe(true);
  });

  for (const p of packages) {
    it(`lets ${p} depend only on what its row allows`, () => {
      const allowed = rules.get(p) ?? new Set<string>();
      const pkg = JSON.parse(readFileSync(new URL(`packages/${p}/package.json`, root), 'utf8')) as {
        dependencies?: Record<string, string>;
        peerDependencies?: Record<string, string>;
      };
      const declared = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies })
        .filter((d) => d.startsWith('@shmkit/'))
        .map((d) => d.slice('@shmkit/'.length));
      for (const d of declared)
        expect(allowed.has(d), `packages/${p}/package.json depends on @shmkit/${d}`).toBe(true);
      for (const file of sources(new URL(`packages/${p}/src`, root).pathname)) {
        for (const d of importsOf(file)) {
          if (d !== p)
            expect(allowed.has(d), `${file.slice(root.pathname.length)} imports @shmkit/${d}`).toBe(true);
        }
      }
    });
  }
});
