#!/usr/bin/env node
// The `shmkit` command. This entry is committed (dist/ is built) so that pnpm can link the bin at
// install time, before the first build; it runs the built CLI, dist/cli.js.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(
    'shmkit: @shmkit/bench is not built yet: run `npx -y pnpm@10.34.8 build` (tsc -b) at the workspace root\n',
  );
  process.exit(1);
}
await import(cli.href);
