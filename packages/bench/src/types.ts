/**
 * The shapes of a benchmark: what is measured (backends, patterns, payloads) and what comes out
 * (`shmkit-bench/1` reports, the JSON that `shmkit bench --json FILE` writes; docs/format.md,
 * "Benchmark reports").
 */

/** Every backend id (docs/choosing-a-backend.md describes them), in the order tables list them. */
export const BACKEND_IDS = [
  'postmessage',
  'child-ipc-json',
  'child-ipc-advanced',
  'uds',
  'tcp',
  'pipe',
  'shmkit-thread',
  'shmkit-process',
] as const;

/**
 * Backends measured besides the contract's: `shmkit-thread-async` is `shmkit-thread` with the main
 * thread receiving through `recvAsync`/`sendAsync` (event loop free) instead of blocking calls.
 * `nats` and `nats-durable` (backend-nats.ts) cross a NATS server on loopback.
 */
export const EXTRA_BACKEND_IDS = [
  'shmkit-thread-async',
  'shmkit-thread-struct',
  'uds-batched',
  'shmkit-thread-batch',
  'shmkit-process-batch',
  'nats',
  'nats-durable',
] as const;

/** Backends between two Python processes (backend-python.ts; only where python3 runs). */
export const PYTHON_BACKEND_IDS = ['python-mp-queue', 'python-mp-pipe', 'python-shmkit'] as const;

/** Every backend id `measure` and the CLI accept. */
export const ALL_BACKEND_IDS = [...BACKEND_IDS, ...EXTRA_BACKEND_IDS, ...PYTHON_BACKEND_IDS] as const;

export type BackendId = (typeof ALL_BACKEND_IDS)[number];

/** `stream`: one-way throughput, peer to main. `rtt`: ping-pong round trips, main to peer and back. */
export type Pattern = 'stream' | 'rtt';
export const PATTERNS: readonly Pattern[] = ['stream', 'rtt'];

/** `bytes`: Uint8Array messages of a given size. `object`: a plain object (built in, or the user's). */
export type PayloadKind = 'bytes' | 'object';
export const PAYLOAD_KINDS: readonly PayloadKind[] = ['bytes', 'object'];

/** Where the peer runs: a worker thread of this process, or a child process. */
export type Where = 'thread' | 'process';

/** The machine a report was measured on. */
export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  kernel: string;
  platform: string;
  arch: string;
  memoryGiB: number;
  loadAverage: number[];
}

/**
 * One measured (backend, pattern, payload, size). The first twelve fields are the contract.
 *
 * - `size`: bytes of one message; for objects, the msgpack-encoded size of one message (the
 *   envelope `{ seq, body }`), which is what the shmkit and socket backends carry.
 * - `messages`: messages (stream) or round trips (rtt) delivered and verified in the timed reps.
 * - `msgsPerSec`: stream: messages per second; rtt: round trips per second. Median over reps.
 * - `mbPerSec`: stream only (10^6 bytes of payload per second); null for rtt.
 * - `rttP50Us`, `rttP99Us`: rtt only (µs, from an HDR histogram of every timed round trip); null for stream.
 * - `cpuUsPerMsg`: CPU time of both sides (process.cpuUsage: user + system) per message or per round
 *   trip, median over reps. For thread backends both sides are one process, counted once.
 * - `verified`: every timed rep delivered exactly the expected count, in order, with the expected checksum.
 */
export interface BenchResult {
  backend: BackendId;
  pattern: Pattern;
  payload: PayloadKind;
  size: number;
  messages: number;
  msgsPerSec: number | null;
  mbPerSec: number | null;
  rttP50Us: number | null;
  rttP99Us: number | null;
  cpuUsPerMsg: number | null;
  verified: boolean;
  /** thread or process. */
  where: Where;
  /** Timed repetitions (each on its own message count, calibrated to the target time). */
  reps: number;
  /** msgsPerSec of each timed rep, in order. */
  samples: number[];
  rttMeanUs?: number | null;
  rttP90Us?: number | null;
  rttP999Us?: number | null;
  rttMaxUs?: number | null;
  /** Why the run failed (then `verified` is false and the numbers are null). */
  error?: string;
}

/** A backend (or backend x payload) that was not measured, and why. */
export interface Skipped {
  backend: BackendId;
  reason: string;
  pattern?: Pattern;
  payload?: PayloadKind;
}

/** What `shmkit bench --json FILE` writes. */
export interface BenchReport {
  schema: 'shmkit-bench/1';
  date: string;
  machine: Machine;
  options: {
    quick: boolean;
    backends: BackendId[];
    patterns: Pattern[];
    payloads: PayloadKind[];
    sizes: number[];
    reps: number;
    targetMs: number;
    /** Fixed messages per run (no calibration), or null. */
    messages: number | null;
    payloadFile: string | null;
    objectName: string;
  };
  results: BenchResult[];
  skipped: Skipped[];
  /** Warnings about the run, such as a busy machine (load average above half the cores at the start). */
  warnings: string[];
  seconds: number;
}

/** Progress of `measure`, for bars and logs. */
export type ProgressEvent =
  | { type: 'start'; total: number; cases: number }
  | { type: 'step'; done: number; total: number; label: string }
  | { type: 'case'; index: number; cases: number; label: string; seconds: number }
  | { type: 'warn'; message: string };
