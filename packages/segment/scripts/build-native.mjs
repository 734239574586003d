// Builds the native addon of @shmkit/segment; run as the package's `install` script.
//
// A published tarball carries a prebuilt addon (prebuilds/<platform>-<arch>/node.abi<ABI>.node,
// made by scripts/prebuild.mjs). When one exists for this platform and Node ABI and loads in a
// child process, it is used and nothing is compiled. Otherwise the addon is compiled here against
// the running Node's headers (it uses a few raw V8 calls, so it is tied to one Node ABI: see
// src/native.ts). A failed build must not fail the install: @shmkit/core and @shmkit/sync are pure
// TypeScript and keep working, and importing @shmkit/segment then throws ShmkitError UNSUPPORTED
// with the reason recorded here and the fix.
//
//   node scripts/build-native.mjs            prebuilt or build; on failure record why and exit 0
//   node scripts/build-native.mjs --strict   same; on failure exit 1 (also SHMKIT_REQUIRE_NATIVE=1)
//   SHMKIT_BUILD_FROM_SOURCE=1               compile even when a prebuilt addon would load
//   SHMKIT_SKIP_NATIVE_BUILD=1               record "skipped" without compiling (a prebuilt addon
//                                            is still used when it loads)
//
// Outputs: build/Release/shmkit_segment.node, build/Release/shmkit_segment.abi.json (the ABI it was
// built for, written by a binding.gyp action), build/build.log; on failure build/build-error.json.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = path.join(pkgDir, 'build');
const errorFile = path.join(buildDir, 'build-error.json');
const addonFile = path.join(buildDir, 'Release', 'shmkit_segment.node');
const abiFile = path.join(buildDir, 'Release', 'shmkit_segment.abi.json');
const strict = process.argv.includes('--strict') || process.env.SHMKIT_REQUIRE_NATIVE === '1';
const rebuildHint = `run \`npm rebuild @shmkit/segment\` in your project (pnpm: \`pnpm rebuild @shmkit/segment\`; in the shmkit workspace: \`pnpm -r rebuild\`), or \`node scripts/build-native.mjs --strict\` in ${pkgDir} to see the compiler's output`;

function fail(reason, fix, log = '') {
  mkdirSync(buildDir, { recursive: true });
  rmSync(addonFile, { force: true });
  rmSync(abiFile, { force: true });
  writeFileSync(
    errorFile,
    `${JSON.stringify({ reason, fix, node: process.version, modules: process.versions.modules, log }, null, 2)}\n`,
  );
  const msg = `@shmkit/segment: native addon not built: ${reason}\n  fix: ${fix}\n  (segments and cross-process waits are unavailable; @shmkit/core and @shmkit/sync work without it)`;
  console.warn(msg);
  if (log) console.warn(log);
  process.exit(strict ? 1 : 0);
}

if (process.platform !== 'linux') {
  fail(
    `shmkit segments need Linux (futex, /dev/shm, /proc); this is ${process.platform}`,
    'use heap primitives (new Mutex(), new Channel()) between worker threads instead',
  );
}
const prebuilt = path.join(
  pkgDir,
  'prebuilds',
  `${process.platform}-${process.arch}`,
  `node.abi${process.versions.modules}.node`,
);
// A development checkout (its test/ folder is never published) always compiles its own sources,
// even if a prebuilds/ folder was left behind by an interrupted `pnpm pack`.
const checkout = existsSync(path.join(pkgDir, 'test'));
if (process.env.SHMKIT_BUILD_FROM_SOURCE !== '1' && !checkout && existsSync(prebuilt)) {
  // Loaded in a child so that a binary that cannot link here (another libc, a missing symbol)
  // costs a compile, never this process. The addon reports the ABI it was compiled for.
  const probe = spawnSync(
    process.execPath,
    [
      '-e',
      `const a = require(${JSON.stringify(prebuilt)}); if (String(a.abi) !== process.versions.modules) process.exit(3);`,
    ],
    { encoding: 'utf8' },
  );
  if (probe.status === 0) {
    rmSync(errorFile, { force: true });
    console.log(
      `@shmkit/segment: using the prebuilt addon for Node ${process.version} (ABI ${process.versions.modules})`,
    );
    process.exit(0);
  }
  console.warn(
    `@shmkit/segment: the prebuilt addon does not load here (${(probe.stderr || `status ${probe.status}`).trim().split('\n')[0]}); compiling from source`,
  );
}
if (process.env.SHMKIT_SKIP_NATIVE_BUILD === '1') {
  fail(
    'the build was skipped (SHMKIT_SKIP_NATIVE_BUILD=1)',
    `unset SHMKIT_SKIP_NATIVE_BUILD, then ${rebuildHint}`,
  );
}

// The Node installation's root: npm bundles node-gyp under it, and it may hold the headers.
const prefix = path.resolve(path.dirname(process.execPath), '..');
const gyp = findNodeGyp();
if (gyp === undefined) {
  fail(
    'node-gyp was not found (neither as a dependency nor bundled with npm)',
    `install node-gyp (npm i -g node-gyp@12), then ${rebuildHint}`,
  );
}

const args = [gyp, 'rebuild'];
// Offline machines cannot download headers: when no nodedir is configured and this Node was
// installed with its headers (<prefix>/include/node), build against those.
if (!process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}

const r = spawnSync(process.execPath, args, { cwd: pkgDir, encoding: 'utf8', maxBuffer: 64 << 20 });
const log = `${r.stdout ?? ''}${r.stderr ?? ''}`;
mkdirSync(buildDir, { recursive: true });
writeFileSync(path.join(buildDir, 'build.log'), log);
if (r.error !== undefined || r.status !== 0 || !existsSync(addonFile) || !existsSync(abiFile)) {
  const why = r.error !== undefined ? r.error.message : `node-gyp exited with status ${r.status ?? r.signal}`;
  fail(
    `compiling the addon failed (${why}); see ${path.join(buildDir, 'build.log')}`,
    `install a C++17 compiler, make and python3 (Debian: apt-get install g++ make python3) and the Node headers (or set npm_config_nodedir), then ${rebuildHint}`,
    log.split('\n').slice(-25).join('\n'),
  );
}

rmSync(errorFile, { force: true });
console.log(
  `@shmkit/segment: built native addon for Node ${process.version} (ABI ${process.versions.modules})`,
);

function findNodeGyp() {
  const require = createRequire(path.join(pkgDir, 'package.json'));
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {}
  // npm sets this for install scripts; npm also bundles node-gyp next to itself.
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((c) => c !== undefined && c !== '' && existsSync(c));
}
