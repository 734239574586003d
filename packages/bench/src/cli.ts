#!/usr/bin/env node
// The `shmkit` binary. Everything but this entry point is in commands.ts (importable by tests).
import { main } from './commands.js';

process.exitCode = await main(process.argv.slice(2));
