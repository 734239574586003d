/**
 * The control protocol between the main side and a peer (worker thread or child process).
 *
 * Control messages are objects with a `shmkit$` key; anything else on a shared path (postMessage,
 * child IPC) is data. A run goes:
 *
 *   main                                   peer
 *   prepare {spec}          ---------->     builds its messages, attaches channels
 *                           <----------     prepared
 *   go                      ---------->     stream: sends n messages, then `done {cpuUs}`
 *                                           rtt: `going`, then echoes every message it gets
 *   (rtt) finish            ---------->     done {cpuUs}
 *   quit                    ---------->     exits
 *
 * The peer answers `error {message}` when anything fails; the main side then abandons the run.
 */
import type { ChannelHandle } from '@shmkit/channel';
import type { BackendId, Pattern, PayloadKind } from './types.js';

export const CONTROL_KEY = 'shmkit$';

/** What a peer needs to play its part in one run. */
export interface WireSpec {
  pattern: Pattern;
  kind: PayloadKind;
  size: number;
  n: number;
  /** Object bodies (objects only). */
  pool?: unknown[];
  /** Bound of every blocking wait of the peer. */
  timeoutMs: number;
  /** shmkit-thread: channel handles. stream: data; rtt: ping (main to peer), pong. */
  channels?: { data?: ChannelHandle; ping?: ChannelHandle; pong?: ChannelHandle };
  /** shmkit-process: the segment and the channel options. */
  segment?: string;
  capacity?: number;
}

export type Control =
  | { shmkit$: 'ready' }
  | { shmkit$: 'prepare'; spec: WireSpec }
  | { shmkit$: 'prepared' }
  | { shmkit$: 'go' }
  | { shmkit$: 'going' }
  | { shmkit$: 'finish' }
  | { shmkit$: 'done'; cpuUs: number }
  | { shmkit$: 'quit' }
  | { shmkit$: 'error'; message: string };

export function isControl(m: unknown): m is Control {
  return typeof m === 'object' && m !== null && CONTROL_KEY in m;
}

/** Environment of a child peer. */
export const ENV_BACKEND = 'SHMKIT_BENCH_BACKEND';
/** JSON `{ path }` (uds) or `{ host, port }` (tcp). */
export const ENV_ADDRESS = 'SHMKIT_BENCH_ADDRESS';

/** Data of a thread peer. */
export interface ThreadPeerData {
  backend: BackendId;
}

/** Child fds of the pipe backend: the child writes to PIPE_OUT and reads PIPE_IN. */
export const PIPE_OUT = 4;
export const PIPE_IN = 5;

/** Messages per batch of the *-batch backends (sendMany on the peer, recvMany on the main side). */
export const BATCH = 64;
