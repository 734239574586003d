import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ShmkitError } from '@shmkit/core';
import { loadNative } from '@shmkit/segment';
import { afterEach, describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const realBuild = path.join(packageDir, 'build');
const dirs: string[] = [];

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'shmkit-loader-'));
  dirs.push(d);
  return d;
}

/** A build directory holding a copy of the real addon and the given ABI record. */
function buildDir(abi: object | undefined): string {
  const d = tempDir();
  mkdirSync(path.join(d, 'Release'));
  cpSync(
    path.join(realBuild, 'Release', 'shmkit_segment.node'),
    path.join(d, 'Release', 'shmkit_segment.node'),
  );
  if (abi !== undefined)
    writeFileSync(path.join(d, 'Release', 'shmkit_segment.abi.json'), JSON.stringify(abi));
  return d;
}

function loadError(dir: string, prebuilds?: string): ShmkitError {
  try {
    loadNative(dir, prebuilds);
  } catch (e) {
    expect(ShmkitError.is(e, 'UNSUPPORTED')).toBe(true);
    return e as ShmkitError;
  }
  throw new Error('loadNative did not fail');
}

describe('loading the native addon', () => {
  it('loads an addon built for this Node', () => {
    const addon = loadNative(buildDir({ modules: process.versions.modules }));
    expect(String(addon.abi)).toBe(process.versions.modules);
  });

  it('refuses an addon built for another Node ABI, and says how to rebuild', () => {
    const e = loadError(buildDir({ modules: '999' }));
    expect(e.message).toContain('built for another Node version (ABI 999)');
    expect(e.message).toContain(`this is Node ${process.version}`);
    expect(e.message).toMatch(/rebuild/);
  });

  it('refuses an addon without an ABI record', () => {
    expect(loadError(buildDir(undefined)).message).toContain('no ABI record');
  });

  it('reports a missing addon with the fix', () => {
    const e = loadError(tempDir());
    expect(e.message).toContain('the native addon is missing');
    expect(e.message).toContain('pnpm -r rebuild');
  });

  it('reports why the install-time build failed, and its fix', () => {
    const d = tempDir();
    writeFileSync(
      path.join(d, 'build-error.json'),
      JSON.stringify({ reason: 'no C++ compiler', fix: 'apt-get install g++' }),
    );
    const e = loadError(d);
    expect(e.message).toContain('not built at install time: no C++ compiler');
    expect(e.message).toContain('Fix: apt-get install g++');
  });

  /** A prebuilds directory holding a copy of the real addon under `name` (default: this ABI's). */
  function prebuildsDir(name = `node.abi${process.versions.modules}.node`): string {
    const d = tempDir();
    const target = path.join(d, `${process.platform}-${process.arch}`);
    mkdirSync(target);
    cpSync(path.join(realBuild, 'Release', 'shmkit_segment.node'), path.join(target, name));
    return d;
  }

  it('loads the prebuilt addon when nothing was compiled', () => {
    const addon = loadNative(tempDir(), prebuildsDir());
    expect(String(addon.abi)).toBe(process.versions.modules);
  });

  it('falls back to the prebuilt addon when the compiled one is for another Node', () => {
    const addon = loadNative(buildDir({ modules: '999' }), prebuildsDir());
    expect(String(addon.abi)).toBe(process.versions.modules);
  });

  it('falls back to the prebuilt addon when the install-time build failed', () => {
    const d = tempDir();
    writeFileSync(path.join(d, 'build-error.json'), JSON.stringify({ reason: 'no C++ compiler', fix: 'x' }));
    expect(String(loadNative(d, prebuildsDir()).abi)).toBe(process.versions.modules);
  });

  it('never loads a prebuilt addon named for another ABI', () => {
    const e = loadError(tempDir(), prebuildsDir('node.abi999.node'));
    expect(e.message).toContain(`no prebuilt addon fits ${process.platform}-${process.arch}`);
    expect(e.message).toContain('npm rebuild @shmkit/segment');
  });

  it('makes importing @shmkit/segment fail with UNSUPPORTED when the addon is not built', () => {
    // A copy of the package whose build failed: dist/ and package.json, its @shmkit deps linked.
    const d = tempDir();
    cpSync(path.join(packageDir, 'dist'), path.join(d, 'dist'), { recursive: true });
    cpSync(path.join(packageDir, 'package.json'), path.join(d, 'package.json'));
    mkdirSync(path.join(d, 'build'));
    writeFileSync(
      path.join(d, 'build', 'build-error.json'),
      JSON.stringify({ reason: 'the build was skipped (SHMKIT_SKIP_NATIVE_BUILD=1)', fix: 'unset it' }),
    );
    mkdirSync(path.join(d, 'node_modules', '@shmkit'), { recursive: true });
    for (const dep of ['core', 'sync', 'channel']) {
      symlinkSync(path.join(packageDir, '..', dep), path.join(d, 'node_modules', '@shmkit', dep));
    }
    const script = `import(${JSON.stringify(path.join(d, 'dist', 'index.js'))}).then(
      () => console.log('loaded'),
      (e) => console.log(e.name, e.code, e.message))`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.stdout).toContain('ShmkitError UNSUPPORTED');
    expect(r.stdout).toContain('SHMKIT_SKIP_NATIVE_BUILD=1');
    expect(r.stdout).toContain('Fix: unset it');
  });
});
