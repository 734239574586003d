// Makes the prebuilt addon that ships inside the @shmkit/segment tarball (run by `prepack`), and
// removes it again after packing (`postpack`, with --clean) so that a development checkout always
// loads the addon compiled from its own sources.
//
//   node scripts/prebuild.mjs          compile if needed, then copy the addon to
//                                      prebuilds/<platform>-<arch>/node.abi<ABI>.node
//   node scripts/prebuild.mjs --clean  delete prebuilds/
//
// The file name follows node-gyp-build's convention (runtime, then the `abi` tag): the addon uses
// raw V8 calls, so it is tied to one NODE_MODULE_VERSION, never Node-API-portable. src/native.ts
// loads it when no addon was compiled at install time; scripts/build-native.mjs skips compiling
// when it loads.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const prebuildsDir = path.join(pkgDir, 'prebuilds');

if (process.argv.includes('--clean')) {
  rmSync(prebuildsDir, { recursive: true, force: true });
  process.exit(0);
}

const release = path.join(pkgDir, 'build', 'Release');
const addon = path.join(release, 'shmkit_segment.node');
const abiFile = path.join(release, 'shmkit_segment.abi.json');
const modules = process.versions.modules;

function builtForThisNode() {
  if (!existsSync(addon) || !existsSync(abiFile)) return false;
  try {
    return String(JSON.parse(readFileSync(abiFile, 'utf8')).modules) === modules;
  } catch {
    return false;
  }
}

if (!builtForThisNode()) {
  // --strict: a release without its prebuilt addon must not be packed silently.
  const r = spawnSync(process.execPath, [path.join(pkgDir, 'scripts', 'build-native.mjs'), '--strict'], {
    cwd: pkgDir,
    stdio: 'inherit',
    env: { ...process.env, SHMKIT_BUILD_FROM_SOURCE: '1' },
  });
  if (r.status !== 0 || !builtForThisNode()) {
    console.error('prebuild: compiling the addon failed; nothing to ship');
    process.exit(1);
  }
}

const target = path.join(prebuildsDir, `${process.platform}-${process.arch}`);
mkdirSync(target, { recursive: true });
copyFileSync(addon, path.join(target, `node.abi${modules}.node`));
console.log(
  `prebuild: prebuilds/${process.platform}-${process.arch}/node.abi${modules}.node (Node ${process.version})`,
);
