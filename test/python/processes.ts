/**
 * Python and Node child processes for the cross-language tests: output read line by line, every
 * wait bounded, and everything a test leaves running killed afterwards.
 */
import { spawnSync } from 'node:child_process';
import { type Child, killChildren, spawnFixture } from '../helpers/children.js';

const fixtures = new URL('./fixtures/', import.meta.url);

/** The python3 on PATH (>= 3.10), or undefined with the reason. */
export function findPython(): { python?: string; why?: string } {
  const r = spawnSync('python3', ['-c', 'import sys; print(sys.version_info >= (3, 10))'], {
    encoding: 'utf8',
  });
  if (r.error !== undefined || r.status !== 0)
    return { why: 'python3 not found: install it (apt-get install python3)' };
  if (r.stdout.trim() !== 'True') return { why: 'python3 is older than 3.10: install python3 >= 3.10' };
  return { python: 'python3' };
}

export type Peer = Child;

/** Runs fixtures/peer.py (lang 'py') or fixtures/peer.mjs (lang 'node') with `args`. */
export function peer(lang: 'py' | 'node', args: readonly (string | number)[]): Peer {
  return lang === 'py'
    ? spawnFixture(fixtures, 'peer.py', args, { command: 'python3', waitMs: 30_000 })
    : spawnFixture(fixtures, 'peer.mjs', args, { waitMs: 30_000 });
}

/** For afterEach: kills the children a failed test left running. */
export const killPeers = killChildren;
