// The worker-thread peer of the postmessage and shmkit-thread backends (started by @shmkit/bench).
// Plain JavaScript importing the built package, so it runs without a TypeScript loader.
import { runThreadPeer } from '../dist/peer.js';

await runThreadPeer();
