/**
 * shmkit in a real browser: headless Chromium (Debian's `chromium`, driven by playwright-core)
 * loads pages from a local server that sends the cross-origin isolation headers, with scripts
 * bundled by esbuild for the browser (so a `node:` import anywhere on the browser path fails the
 * bundle). Checks: Channel and Mutex between Web Workers, a RingBuffer filled inside an
 * AudioWorklet of an OfflineAudioContext, and the demo page in examples/browser/.
 *
 * Skipped, with one line saying what to install, when /usr/bin/chromium is missing (.ci/run
 * installs it).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve } from '../../examples/browser/serve.mjs';
import { repoRoot } from '../helpers/commands.js';

const CHROMIUM = '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
if (!present) console.warn(`browser tests skipped: ${CHROMIUM} not found (Debian: apt-get install chromium)`);

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let context: BrowserContext;
let profile: string;

beforeAll(async () => {
  if (!present) return;
  profile = mkdtempSync(path.join(tmpdir(), 'shmkit-chromium-'));
  // A fresh profile each run (--user-data-dir): playwright passes it, with --headless.
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    timeout: 60_000,
  });
}, 90_000);

afterAll(async () => {
  await context?.close();
  if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
});

/** Serves `scripts` of `dir`, opens `page`, and returns the page once window.result is set. */
async function open(
  dir: string,
  scripts: string[],
  file: string,
): Promise<{ page: Page; close: () => Promise<void> }> {
  const server = await serve({ dir, scripts });
  const page = await context.newPage();
  const logs: string[] = [];
  page.on('console', (m) => logs.push(m.text()));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  await page.goto(`${server.url}${file}`);
  return {
    page,
    close: async () => {
      if (logs.length > 0) console.log(`${file} console:\n${logs.join('\n')}`);
      await page.close();
      await server.close();
    },
  };
}

async function resultOf(page: Page): Promise<Record<string, unknown>> {
  await page.waitForFunction(() => (globalThis as { result?: unknown }).result !== undefined, undefined, {
    timeout: 60_000,
  });
  return (await page.evaluate(() => (globalThis as { result?: unknown }).result)) as Record<string, unknown>;
}

const fixtures = path.join(repoRoot, 'test', 'browser', 'fixtures');

/** The packages whose browser build must not touch Node: those of them that exist in this checkout. */
const BROWSER_PACKAGES = ['core', 'sync', 'channel', 'struct'].filter((p) =>
  existsSync(path.join(repoRoot, 'packages', p, 'package.json')),
);

describe('the browser builds of the thread packages', () => {
  it.each(BROWSER_PACKAGES)(
    '@shmkit/%s bundles for the browser without anything from node:',
    async (name) => {
      // The built entry, bundled with the browser conditions: a `node:` import anywhere below it
      // (its own files or its dependencies') fails the bundle.
      const r = await build({
        entryPoints: [path.join(repoRoot, 'packages', name, 'dist', 'index.js')],
        bundle: true,
        format: 'esm',
        platform: 'browser',
        write: false,
        metafile: true,
        logLevel: 'silent',
      });
      const inputs = Object.keys(r.metafile.inputs);
      expect(inputs.filter((f) => f.startsWith('node:') || f.endsWith('core/dist/thread-token.js'))).toEqual(
        [],
      );
      if (name !== 'struct')
        expect(inputs.some((f) => f.endsWith('core/dist/thread-token.web.js'))).toBe(true);
    },
  );
});

describe.skipIf(!present)('in headless Chromium', () => {
  it('Channel and Mutex work between Web Workers and the page', async () => {
    const { page, close } = await open(fixtures, ['threads.js', 'thread-worker.js'], 'threads.html');
    try {
      const r = await resultOf(page);
      expect(r).toMatchObject({ ok: true, errors: [] });
      expect(r.counter).toBe(5 * 2_000); // four workers and the page
      expect(r.records).toEqual([500, 500, 500, 500]);
      expect(r.sum).toBe(4 * ((499 * 500) / 2));
      expect(r.afterLast).toBe('TIMEOUT');
    } finally {
      await close();
    }
  }, 90_000);

  it('a RingBuffer is filled inside an AudioWorklet of an OfflineAudioContext', async () => {
    const { page, close } = await open(fixtures, ['worklet.js', 'worklet-processor.js'], 'worklet.html');
    try {
      const r = await resultOf(page);
      expect(r).toEqual({ ok: true, popped: 128 * 64, firstBad: -1, lastOut: 128 * 64 - 1, empty: true });
    } finally {
      await close();
    }
  }, 90_000);

  it('the demo page in examples/browser shows Channel and postMessage numbers, all verified', async () => {
    const demo = path.join(repoRoot, 'examples', 'browser');
    const { page, close } = await open(demo, ['main.js', 'worker.js'], 'index.html');
    try {
      await page.waitForFunction(
        () =>
          (
            globalThis as unknown as {
              document: { getElementById(id: string): { textContent: string } | null };
            }
          ).document
            .getElementById('status')
            ?.textContent.startsWith('done') === true,
        undefined,
        {
          timeout: 60_000,
          polling: 250,
        },
      );
      const text = (id: string) => page.locator(`#${id}`).textContent();
      expect(await text('status')).toBe('done: 200,000 messages each way, all in order');
      for (const way of ['channel', 'post']) {
        expect(await text(`${way}-count`)).toBe('200,000');
        expect(await text(`${way}-ok`)).toBe('all in order');
        expect(await text(`${way}-rate`)).toMatch(/^[\d,]+$/);
      }
    } finally {
      await close();
    }
  }, 90_000);
});
