/**
 * Loads the native addon once per thread, and refuses one that cannot work here. Two places hold
 * one, tried in this order:
 *
 * 1. build/Release/shmkit_segment.node: compiled from source at install time by
 *    scripts/build-native.mjs (always so in the shmkit workspace);
 * 2. prebuilds/<platform>-<arch>/node.abi<ABI>.node: the prebuilt addon shipped in the published
 *    tarball (scripts/prebuild.mjs; node-gyp-build's naming), used when nothing was compiled.
 *
 * The addon creates SharedArrayBuffers with raw V8 calls, whose ABI changes with every Node major
 * version (NODE_MODULE_VERSION, `process.versions.modules`). Loading a binary built for another
 * version could fail to link or, worse, crash later; so the ABI recorded beside it (the ABI record
 * of a source build, the file name of a prebuilt one) is checked before it is loaded, and the ABI
 * compiled into it after.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ShmkitError } from '@shmkit/core';

/** A file mapped by the addon, with what fstat said about it. */
export interface NativeMapping {
  /** The mapping; null while the file is still empty (its creator has not sized it yet). */
  readonly buffer: SharedArrayBuffer | null;
  /** The file's size. */
  readonly size: number;
  /** Bytes mapped: `size`, or less when `open` was given a limit. */
  readonly mapped: number;
  readonly uid: number;
  readonly gid: number;
  /** Permission bits (st_mode & 0o7777). */
  readonly mode: number;
  readonly dev: bigint;
  readonly ino: bigint;
  /** True when this call created the file. */
  readonly created: boolean;
}

/** The addon's exports (native/addon.cc). Arguments are validated there too. */
export interface NativeAddon {
  /** NODE_MODULE_VERSION it was compiled for. */
  readonly abi: number;
  /** Whether async waits use futex_waitv (Linux 5.16+) or the bitset fallback. */
  readonly futexWaitv: boolean;
  create(path: string, size: number, mode: number, exclusive: boolean): NativeMapping;
  /** `mapLimit` > 0 maps only the first `mapLimit` bytes. */
  open(path: string, mapLimit?: number): NativeMapping;
  unlink(path: string): boolean;
  flush(view: Uint8Array): void;
  /** 0 not the addon's, 1 intact, 2 broken (its file shrank), 3 released. */
  mappingState(view: ArrayBufferView): number;
  /** Replaces the mapping starting at `view` with zero pages (drops the file's pages now). */
  release(view: ArrayBufferView): void;
  guardStats(): { mappings: number; repairedFaults: number };
  /** 0 ok, 1 not-equal, 2 timed-out, 3 gone (the file shrank under the word), 4 released. */
  wait(i32: Int32Array, index: number, expected: number, timeoutMs: number): number;
  wake(i32: Int32Array, index: number, count: number): number;
  setWaitHandler(handler: (id: number, code: number) => void): void;
  waitAsync(i32: Int32Array, index: number, expected: number, timeoutMs: number): number;
  cancelWait(id: number): boolean;
  pendingWaits(): number;
  errnoName(code: number): string;
}

/** The package directory (dist/.. or src/..). */
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const ADDON = 'shmkit_segment';

let addon: NativeAddon | undefined;
let failure: ShmkitError | undefined;

/**
 * The addon of this thread, loaded on first use. UNSUPPORTED (with the reason and the fix) when
 * it was not built, was built for another Node version, or cannot load; the error is remembered,
 * so every later call reports the same cause.
 */
export function native(): NativeAddon {
  if (addon !== undefined) return addon;
  if (failure !== undefined) throw failure;
  try {
    addon = loadNative(path.join(packageDir, 'build'), path.join(packageDir, 'prebuilds'));
    return addon;
  } catch (e) {
    failure = e as ShmkitError;
    throw e;
  }
}

/**
 * Loads `${buildDir}/Release/shmkit_segment.node` when it was built for this Node, else the
 * prebuilt `${prebuildsDir}/<platform>-<arch>/node.abi<ABI>.node`, after the checks above; throws
 * UNSUPPORTED with the reason and the fix when neither can be used. Exported for tests and
 * diagnostics (`shmkit doctor`); use {@link native}.
 */
export function loadNative(buildDir: string, prebuildsDir?: string): NativeAddon {
  const rebuild = rebuildHint();
  if (process.platform !== 'linux') {
    unsupported(
      `shmkit segments need Linux (futex, /dev/shm, /proc); this is ${process.platform}`,
      'share memory between worker threads with the heap primitives instead (new Mutex(), new Channel())',
    );
  }
  const other = otherRuntime();
  if (other !== undefined) {
    unsupported(
      `it runs only under Node.js, and this is ${other}: its addon calls V8's C++ API to hand mapped memory to JavaScript as a SharedArrayBuffer, which no Node-API call can do and ${other} does not provide`,
      'share memory between threads with @shmkit/sync and @shmkit/channel (they work in Bun and Deno), and run the processes that share segments under Node.js',
    );
  }
  const running = process.versions.modules;
  const file = path.join(buildDir, 'Release', `${ADDON}.node`);
  // Why the source build cannot be used, reported when no prebuilt addon fits either.
  let sourceProblem: string | undefined;
  let sourceFix = rebuild;
  if (existsSync(file)) {
    // Written at build time by a binding.gyp action: checked BEFORE loading, since a binary for
    // another ABI may not even link (or may misbehave before we could ask it).
    const built = readJson(path.join(buildDir, 'Release', `${ADDON}.abi.json`)) as
      | { modules?: unknown }
      | undefined;
    if (built !== undefined && String(built.modules) === running) return load(file, rebuild);
    sourceProblem =
      built === undefined
        ? `the native addon has no ABI record (${ADDON}.abi.json), so it cannot be checked against Node ${process.version}`
        : `the native addon was built for another Node version (ABI ${String(built.modules)}), but this is Node ${process.version} (ABI ${running})`;
  } else {
    const errorFile = path.join(buildDir, 'build-error.json');
    if (existsSync(errorFile)) {
      const recorded = readJson(errorFile) as { reason?: unknown; fix?: unknown } | undefined;
      sourceProblem = `the native addon was not built at install time: ${String(recorded?.reason ?? 'unknown reason')}`;
      sourceFix = String(recorded?.fix ?? rebuild);
    }
  }

  if (prebuildsDir !== undefined) {
    // The ABI is in the file name: only a binary made for this very ABI is ever loaded.
    const prebuilt = path.join(
      prebuildsDir,
      `${process.platform}-${process.arch}`,
      `node.abi${running}.node`,
    );
    if (existsSync(prebuilt)) return load(prebuilt, rebuild);
  }
  if (sourceProblem !== undefined) unsupported(sourceProblem, sourceFix);
  unsupported(
    prebuildsDir === undefined
      ? `the native addon is missing (${file})`
      : `the native addon is missing: nothing was compiled (${file}) and no prebuilt addon fits ${process.platform}-${process.arch} Node ${process.version} (ABI ${running}) in ${prebuildsDir}`,
    rebuild,
  );
}

/** Loads an addon whose ABI was checked from its record, then checks the ABI compiled into it. */
function load(file: string, rebuild: string): NativeAddon {
  const running = process.versions.modules;
  let loaded: NativeAddon;
  try {
    loaded = createRequire(import.meta.url)(file) as NativeAddon;
  } catch (e) {
    unsupported(`the native addon failed to load (${file}): ${(e as Error).message}`, rebuild, e);
  }
  if (String(loaded.abi) !== running) {
    unsupported(
      `the native addon was compiled against Node ABI ${loaded.abi}, but this is ABI ${running} (Node ${process.version})`,
      rebuild,
    );
  }
  return loaded;
}

/** "Bun 1.4.5" or "Deno 2.9.6" when one of them runs this code (both pose as Node), else undefined. */
function otherRuntime(): string | undefined {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  if (g.Bun !== undefined) return `Bun ${g.Bun.version}`;
  if (g.Deno !== undefined) return `Deno ${g.Deno.version.deno}`;
  return undefined;
}

function unsupported(reason: string, fix: string, cause?: unknown): never {
  throw new ShmkitError('UNSUPPORTED', `@shmkit/segment: ${reason}. Fix: ${fix}.`, { cause });
}

function rebuildHint(): string {
  return `compile it for this Node (needs g++, make and python3): \`npm rebuild @shmkit/segment\` in your project (pnpm: \`pnpm rebuild @shmkit/segment\`; in the shmkit workspace: \`pnpm -r rebuild\`), which reruns its install script, or \`node scripts/build-native.mjs --strict\` in ${packageDir} to see the compiler's output`;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}
