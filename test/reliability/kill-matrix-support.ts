/** What the kill matrix shares with its test: the seeded generator and the failpoint child. */
import { spawn } from 'node:child_process';

export { rng } from './helpers.js';

const fixture = new URL('./fixtures/failpoint-child.mjs', import.meta.url).pathname;

/** Runs the failpoint child with SHMKIT_FAILPOINT=point; resolves when it ends (bounded: 30 s). */
export function spawnFailpointChild(
  point: string,
  mode: string,
  name: string,
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [fixture, point, mode, name], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SHMKIT_FAILPOINT: point },
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    proc.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`the failpoint child (${point} / ${mode}) did not end within 30 s`));
    }, 30_000);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
