// Writes the ABI record beside the addon. binding.gyp runs it as a build action, so every way of
// building (the install script, `pnpm -r rebuild`, `node-gyp rebuild`) keeps the record in step
// with the binary. argv: output file, NODE_MODULE_VERSION of the headers compiled against.
import { writeFileSync } from 'node:fs';

const [out, modules] = process.argv.slice(2);
writeFileSync(
  out,
  `${JSON.stringify({ modules, platform: process.platform, arch: process.arch }, null, 2)}\n`,
);
