// The child-process peer of the child-ipc, uds, tcp, pipe and shmkit-process backends (started by
// @shmkit/bench with an IPC channel). Plain JavaScript importing the built package.
import { runChildPeer } from '../dist/peer.js';

try {
  await runChildPeer();
} catch (e) {
  process.stderr.write(`shmkit bench peer: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
