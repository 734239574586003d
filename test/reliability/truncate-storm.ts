/**
 * The truncate storm: rounds in which another process shrinks a live segment's file (to a random
 * length, at a random moment) while a victim process uses it from two threads. Counts victims
 * killed by a signal (must be 0) and errors that are not ShmkitErrors (must be 0); every victim
 * must exit 0 on its own.
 *
 * CI runs a few rounds (truncate-storm.test.ts); the full run is a script:
 *   npx tsx test/reliability/truncate-storm.ts --rounds 200 [--seed 5]
 */
import { spawn } from 'node:child_process';
import { truncateSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Segment } from '@shmkit/segment';
import { rng } from './helpers.js';

const fixture = new URL('./fixtures/truncate-storm-child.mjs', import.meta.url).pathname;
const SIZE = 1 << 20;
const RUN_MS = 300;

export interface StormResult {
  rounds: number;
  killedBySignal: number;
  failures: string[];
  /** Error codes the victims reported, summed. */
  codes: Record<string, number>;
}

let counter = 0;

export async function runStorm(rounds: number, seed: number, prefix: string): Promise<StormResult> {
  const r = rng(seed);
  const out: StormResult = { rounds, killedBySignal: 0, failures: [], codes: {} };
  for (let i = 0; i < rounds; i++) {
    const name = `${prefix}${++counter}`;
    const length = r.next() < 0.3 ? 0 : r.int(0, SIZE - 1);
    const delay = r.int(0, RUN_MS - 50);
    try {
      const res = await victimRound(name, length, delay);
      if (res.signal !== null) {
        out.killedBySignal++;
        out.failures.push(`round ${i} (seed ${seed}): killed by ${res.signal}`);
        continue;
      }
      if (res.code !== 0) {
        out.failures.push(`round ${i} (seed ${seed}): exit ${res.code}: ${res.stderr.slice(-400)}`);
        continue;
      }
      const report = JSON.parse(res.stdout.trim().split('\n').at(-1)!);
      for (const t of [report.main, report.worker]) {
        for (const [code, n] of Object.entries(t.codes as Record<string, number>)) {
          out.codes[code] = (out.codes[code] ?? 0) + n;
          if (code.startsWith('not a ShmkitError')) out.failures.push(`round ${i} (seed ${seed}): ${code}`);
        }
      }
    } finally {
      Segment.unlink(name);
    }
  }
  return out;
}

function victimRound(
  name: string,
  length: number,
  delay: number,
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [fixture, name, String(RUN_MS)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let cut = false;
    proc.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const m = /^ready (.+)$/m.exec(stdout);
      if (m !== null && !cut) {
        cut = true;
        setTimeout(() => {
          try {
            truncateSync(m[1]!, length);
          } catch {
            // The victim may be gone already (a failure the round reports).
          }
        }, delay);
      }
    });
    proc.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error('a victim did not finish within 30 s'));
    }, 30_000);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (flag: string, fallback: number): number => {
    const i = process.argv.indexOf(flag);
    return i > 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const rounds = arg('--rounds', 200);
  const seed = arg('--seed', Date.now() % 100000);
  const started = performance.now();
  const res = await runStorm(rounds, seed, `ts${process.pid}-`);
  const secs = ((performance.now() - started) / 1000).toFixed(0);
  console.log(`truncate storm: ${rounds} rounds, seed ${seed}, ${secs} s`);
  console.log(`  processes killed by a signal: ${res.killedBySignal}`);
  console.log(`  error codes seen by the victims: ${JSON.stringify(res.codes)}`);
  for (const f of res.failures) console.log(`  FAIL ${f}`);
  console.log(`failures: ${res.failures.length}`);
  process.exitCode = res.failures.length === 0 ? 0 : 1;
}
