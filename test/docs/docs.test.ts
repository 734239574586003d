/**
 * Docs that run. The rule, for README.md, docs/*.md and packages/<name>/README.md:
 *
 * - Every fenced code block whose language is js, mjs, javascript, ts, typescript, sh, bash or
 *   shell is run, unless its info string contains the word `fragment` (```ts fragment): a fragment
 *   is an illustration, not a program. Blocks in other languages (json, text, python, ...) are
 *   shown, not run.
 * - A js/ts block whose first line is a file header (`// producer.mjs`) defines files: it is split
 *   at each such header into files of those names and written, not run. A later sh block of the
 *   same document runs them (```sh: node consumer.mjs & node producer.mjs; wait```).
 * - Any other js block runs as an ES module with `node`, a ts block with `node --import tsx`, an
 *   sh block with `bash -eo pipefail`, with node_modules/.bin on PATH. Each must exit with status
 *   0 within 60 s.
 * - A document's blocks run in order, in one new folder of its own inside the repository
 *   (.doctest/, git-ignored, with a package.json of type module), so `@shmkit/*` and the `shmkit`
 *   command resolve as they do for anyone in the workspace. Blocks run one at a time across every
 *   checkout on the machine (flock), and segments a document creates by a literal name are removed
 *   afterwards, so two runs never meet in /dev/shm.
 *
 * docs/contributing.md says the same for people writing docs.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanEnv, repoRoot, run } from '../helpers/commands.js';
import { codeBlocks, kindOf, namedFiles } from './markdown.js';

const LOCK = '/tmp/shmkit-doctest.lock';

function documents(): string[] {
  const docs = readdirSync(path.join(repoRoot, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  const readmes = readdirSync(path.join(repoRoot, 'packages'))
    .sort()
    .map((p) => `packages/${p}/README.md`)
    .filter((f) => existsSync(path.join(repoRoot, f)));
  return ['README.md', ...docs, ...readmes];
}

/** Names passed as literals to Segment.create in the document. */
function segmentNames(markdown: string): string[] {
  return [...markdown.matchAll(/Segment\.create\(\s*['"]([\w.-]+)['"]/g)].map((m) => m[1] ?? '');
}

/** Removes them under the lock: another checkout's run may be creating the same names. */
function removeSegments(names: string[]): void {
  if (names.length === 0) return;
  run('flock', [LOCK, 'rm', '-f', ...names.map((n) => `/dev/shm/shmkit.${n}`)]);
}

describe('the code blocks of the docs', () => {
  it('include runnable blocks (the rule is applied to something)', () => {
    const runnable = documents().flatMap((d) =>
      codeBlocks(readFileSync(path.join(repoRoot, d), 'utf8')).filter((b) => kindOf(b) !== undefined),
    );
    expect(runnable.length).toBeGreaterThan(10);
  });

  for (const doc of documents()) {
    const markdown = readFileSync(path.join(repoRoot, doc), 'utf8');
    const blocks = codeBlocks(markdown).filter((b) => kindOf(b) !== undefined);
    it.skipIf(blocks.length === 0)(
      `${doc}: every block that is not a fragment runs`,
      () => {
        const dir = path.join(repoRoot, '.doctest', `${doc.replace(/[/.]/g, '_')}-${process.pid}`);
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        writeFileSync(path.join(dir, 'package.json'), '{ "type": "module", "private": true }\n');
        const env = cleanEnv({
          PATH: `${path.join(repoRoot, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
          NO_COLOR: '1',
        });
        const segments = segmentNames(markdown);
        try {
          blocks.forEach((b, n) => {
            const kind = kindOf(b);
            const files = kind === 'sh' ? [] : namedFiles(b.code);
            for (const f of files) writeFileSync(path.join(dir, f.name), f.code);
            if (files.length > 0) return;
            let cmd: string[];
            if (kind === 'sh') cmd = ['bash', '-eo', 'pipefail', '-c', b.code];
            else {
              const file = `block-${n}.${kind === 'ts' ? 'ts' : 'mjs'}`;
              writeFileSync(path.join(dir, file), b.code);
              cmd = kind === 'ts' ? [process.execPath, '--import', 'tsx', file] : [process.execPath, file];
            }
            const r = run('flock', [LOCK, ...cmd], { cwd: dir, env, timeoutMs: 60_000 });
            if (r.status !== 0) {
              throw new Error(
                `${doc}:${b.line}: the \`${b.info}\` block exited with ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
              );
            }
          });
        } finally {
          removeSegments(segments);
          rmSync(dir, { recursive: true, force: true });
        }
      },
      300_000,
    );
  }
});
