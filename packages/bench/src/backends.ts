/**
 * The backends: one row each, with how its main side opens a session (session.ts says what a
 * backend and a session are). The session kinds:
 *
 * - MessageSession (session-callback.ts): data on the control path itself (postmessage,
 *   child-ipc-json, child-ipc-advanced).
 * - FrameSession (session-callback.ts): length-prefixed frames on a byte stream (uds,
 *   uds-batched, tcp, pipe); control on child IPC.
 * - ChannelSession (session-channel.ts): shmkit Channels (shmkit-thread*, shmkit-process*).
 * - NatsSession (backend-nats.ts) and the Python backends (backend-python.ts).
 *
 * The peer side of each is peer.ts (worker thread or child process).
 */
import { ShmkitError } from '@shmkit/core';
import { natsBackend } from './backend-nats.js';
import { PYTHON_BACKENDS } from './backend-python.js';
import { startChildPeer, startThreadPeer } from './link.js';
import { loadSegment } from './segment-api.js';
import type { Backend, Session } from './session.js';
import { MessageSession, openFrame } from './session-callback.js';
import { type ChannelMode, ChannelSession } from './session-channel.js';
import type { BackendId, Where } from './types.js';
import { familyOf } from './wire.js';

const always = async (): Promise<undefined> => undefined;

function backend(
  id: BackendId,
  where: Where,
  summary: string,
  open: () => Promise<Session>,
  unavailable: () => Promise<string | undefined> = always,
): Backend {
  return { id, where, family: familyOf(id), summary, open, unavailable };
}

/** A message backend: a peer thread (postmessage) or a forked child with this serialization. */
function messageBackend(
  id: 'postmessage' | 'child-ipc-json' | 'child-ipc-advanced',
  summary: string,
  serialization?: 'json' | 'advanced',
): Backend {
  const where: Where = serialization === undefined ? 'thread' : 'process';
  return backend(id, where, summary, async () => {
    const peer =
      serialization === undefined ? await startThreadPeer(id) : await startChildPeer(id, { serialization });
    return new MessageSession(peer, id, where);
  });
}

/** A Channel backend between threads: Channels in SharedArrayBuffers, the peer a worker. */
function threadChannel(mode: ChannelMode, summary: string): Backend {
  return backend(
    mode.id,
    'thread',
    summary,
    async () => new ChannelSession(await startThreadPeer(mode.id), mode),
  );
}

/** Why segments cannot be used here, or undefined. */
async function segmentsUnavailable(): Promise<string | undefined> {
  const loaded = await loadSegment();
  return loaded.ok ? undefined : loaded.reason;
}

/** A Channel backend between processes: Channels in a named Segment, the peer a child. */
function processChannel(mode: Omit<ChannelMode, 'segments'>, summary: string): Backend {
  const open = async (): Promise<Session> => {
    const loaded = await loadSegment();
    if (!loaded.ok) throw new ShmkitError('UNSUPPORTED', loaded.reason);
    return new ChannelSession(await startChildPeer(mode.id), { ...mode, segments: loaded.value });
  };
  return backend(mode.id, 'process', summary, open, segmentsUnavailable);
}

const BACKENDS: Record<BackendId, Backend> = {
  ...PYTHON_BACKENDS,
  postmessage: messageBackend('postmessage', 'worker_threads postMessage (structured clone)'),
  'child-ipc-json': messageBackend(
    'child-ipc-json',
    "child_process.fork IPC, serialization 'json' (bytes as base64)",
    'json',
  ),
  'child-ipc-advanced': messageBackend(
    'child-ipc-advanced',
    "child_process.fork IPC, serialization 'advanced' (V8 serializer)",
    'advanced',
  ),
  uds: backend('uds', 'process', 'UNIX domain socket, length-prefixed frames', () => openFrame('uds')),
  'uds-batched': backend(
    'uds-batched',
    'process',
    'UNIX domain socket, many length-prefixed frames per write (the best a socket does)',
    () => openFrame('uds-batched'),
  ),
  tcp: backend('tcp', 'process', 'TCP on 127.0.0.1 (TCP_NODELAY), length-prefixed frames', () =>
    openFrame('tcp'),
  ),
  pipe: backend('pipe', 'process', 'child stdio pipes (socketpairs on Linux), length-prefixed frames', () =>
    openFrame('pipe'),
  ),
  'shmkit-thread': threadChannel(
    { id: 'shmkit-thread' },
    'shmkit Channel over a SharedArrayBuffer, blocking send/recv',
  ),
  'shmkit-thread-async': threadChannel(
    { id: 'shmkit-thread-async', async: true },
    'shmkit Channel over a SharedArrayBuffer, main side sendAsync/recvAsync',
  ),
  // Objects only: measure() runs it for object payloads (see backend-struct.ts).
  'shmkit-thread-struct': threadChannel(
    { id: 'shmkit-thread-struct' },
    'shmkit Channel over a SharedArrayBuffer, objects through a struct codec (fixed layout)',
  ),
  'shmkit-thread-batch': threadChannel(
    { id: 'shmkit-thread-batch', batch: true },
    'shmkit Channel over a SharedArrayBuffer, sendMany/recvMany batches',
  ),
  'shmkit-process': processChannel(
    { id: 'shmkit-process' },
    'shmkit Channel in a named shared-memory Segment, blocking send/recv',
  ),
  'shmkit-process-batch': processChannel(
    { id: 'shmkit-process-batch', batch: true },
    'shmkit Channel in a named shared-memory Segment, sendMany/recvMany batches',
  ),
  nats: natsBackend('nats'),
  'nats-durable': natsBackend('nats-durable'),
};

export function getBackend(id: BackendId): Backend {
  return BACKENDS[id];
}
