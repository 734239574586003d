/**
 * Loads the native addon (build/Release/shmkit_segment.node, built at install time by
 * scripts/build-native.mjs), once per thread, and refuses one that cannot work here.
 *
 * The addon creates SharedArrayBuffers with raw V8 calls, whose ABI changes with every Node major
 * version (NODE_MODULE_VERSION, `process.versions.modules`). Loading a binary built for another
 * version could fail to link or, worse, crash later; so the ABI recorded beside it at build time is
 * checked before it is loaded, and the ABI compiled into it after.
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
    addon = loadNative(path.join(packageDir, 'build'));
    return addon;
  } catch (e) {
    failure = e as ShmkitError;
    throw e;
  }
}

/**
 * Loads `${buildDir}/Release/shmkit_segment.node` after the checks above. Exported for tests and
 * diagnostics (`shmkit doctor`); use {@link native}.
 */
export function loadNative(buildDir: string): NativeAddon {
  const rebuild = rebuildHint();
  if (process.platform !== 'linux') {
    unsupported(
      `shmkit segments need Linux (futex, /dev/shm, /proc); this is ${process.platform}`,
      'share memory between worker threads with the heap primitives instead (new Mutex(), new Channel())',
    );
  }
  const errorFile = path.join(buildDir, 'build-error.json');
  if (existsSync(errorFile)) {
    const recorded = readJson(errorFile) as { reason?: unknown; fix?: unknown } | undefined;
    unsupported(
      `the native addon was not built at install time: ${String(recorded?.reason ?? 'unknown reason')}`,
      String(recorded?.fix ?? rebuild),
    );
  }
  const file = path.join(buildDir, 'Release', `${ADDON}.node`);
  if (!existsSync(file)) unsupported(`the native addon is missing (${file})`, rebuild);

  // Written at build time by a binding.gyp action: checked BEFORE loading, since a binary for
  // another ABI may not even link (or may misbehave before we could ask it).
  const built = readJson(path.join(buildDir, 'Release', `${ADDON}.abi.json`)) as
    | { modules?: unknown }
    | undefined;
  const running = process.versions.modules;
  if (built === undefined || String(built.modules) !== running) {
    unsupported(
      built === undefined
        ? `the native addon has no ABI record (${ADDON}.abi.json), so it cannot be checked against Node ${process.version}`
        : `the native addon was built for another Node version (ABI ${String(built.modules)}), but this is Node ${process.version} (ABI ${running})`,
      rebuild,
    );
  }

  let loaded: NativeAddon;
  try {
    loaded = createRequire(import.meta.url)(file) as NativeAddon;
  } catch (e) {
    unsupported(`the native addon failed to load: ${(e as Error).message}`, rebuild, e);
  }
  if (String(loaded.abi) !== running) {
    unsupported(
      `the native addon was compiled against Node ABI ${loaded.abi}, but this is ABI ${running} (Node ${process.version})`,
      rebuild,
    );
  }
  return loaded;
}

function unsupported(reason: string, fix: string, cause?: unknown): never {
  throw new ShmkitError('UNSUPPORTED', `@shmkit/segment: ${reason}. Fix: ${fix}.`, { cause });
}

function rebuildHint(): string {
  return `rebuild it for this Node: \`pnpm -r rebuild\` at the workspace root (reruns install scripts), or \`node scripts/build-native.mjs --strict\` (or \`npx node-gyp rebuild\`) in ${packageDir}`;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}
