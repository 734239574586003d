"""Memory layout of a channel (the Node side's packages/channel/src/layout.ts; docs/format.md,
"Channel"). Byte offsets from the channel's start:

| offset | field                                  | written by                                    |
|--------|----------------------------------------|-----------------------------------------------|
| 0      | tag, version, capacity, flags,         | creator (read-only afterwards)                |
|        | max message; closed (20)               | close()                                       |
| 128    | tail                                   | the producer ('one'): end of published frames |
| 132    | reserve                                | producers ('many'): end of claimed room (CAS) |
| 256    | head                                   | consumers: end of released room               |
| 384    | read claim                             | consumers ('many'): end of claimed frames     |
| 512    | data signal, receiver sleepers (516)   | producers bump; receivers count themselves    |
| 640    | space signal, sender sleepers (644)    | consumers bump; senders count themselves      |
| 768    | registry overflow flag                 | a producer that found no free slot            |
| 772    | 63 producer tokens (0 = free)          | producers, on their first send                |
| 1024   | ring of `capacity` bytes               |                                               |
| 1024+capacity | marks ('many' consumers): one int32 per 16-byte cell, initially 1 |        |

Layout version 2 (the Node side's next layout) adds: word 6 max frame (capacity/2 - 16; word 4
becomes the largest message, fragments included), words 7-8 an extension area after the ring,
words 34-35 the claim lock and claim end of many producers (a producer CASes the lock from 0 to its
token, stores claim end, writes the headers, stores reserve, unlocks, then copies and commits; a
survivor finishes a dead holder's claim with SKIPs), fragment kinds FIRST/MIDDLE/LAST (word 3 of
FIRST: the whole length), and no scrubbing of released room (a zero state below reserve is CORRUPT).
This package reads and writes both versions, by the channel's version word; it sends messages of
one frame only (TOO_LARGE above) and reassembles fragments it receives.

Positions are byte counts mod 2^32 that only grow; a position's ring offset is pos & (capacity-1).
A frame is a 16-byte header and its payload, padded to 16 bytes:
  word 0: 0 not written; -(len+1) claimed, being written; len+1 committed
  word 1: frame size (header included, multiple of 16) | kind (bits 0-2): MSG 1, PAD 2, SKIP 3
  word 2: token of the producer that claimed it
  word 3: token of the consumer that claimed it ('many' consumers), else 0
"""

from ..tags import versioned  # noqa: E402

#: Layout versions this package reads and writes (see the v2 notes below).
VERSIONS = (1, 2)
#: The version of the channels Python creates: the one the Node side on main reads. The
#: environment variable SHMKIT_PY_CHANNEL_VERSION overrides it (the tests run both versions).
LAYOUT_VERSION = int(__import__("os").environ.get("SHMKIT_PY_CHANNEL_VERSION", "2"))
if LAYOUT_VERSION not in VERSIONS:
    raise ValueError(f"SHMKIT_PY_CHANNEL_VERSION must be one of {VERSIONS}")
#: The tag of the channels Python creates: its byte 3 is their layout version (docs/format.md).
TAG = versioned("ch", LAYOUT_VERSION)

O_TAG = 0
O_VERSION = 4
O_CAPACITY = 8
O_FLAGS = 12
O_MAX_MESSAGE = 16
O_CLOSED = 20
O_MAX_FRAME = 24  # v2
O_EXT_OFFSET = 28  # v2
O_EXT_BYTES = 32  # v2
O_TAIL = 128
O_RESERVE = 132
O_CLAIM_LOCK = 136  # v2: 0 or the token of the producer claiming (many producers)
O_CLAIM_END = 140  # v2: the end the claim-lock holder is claiming
O_HEAD = 256
O_READ_CLAIM = 384
O_DATA_SIGNAL = 512
O_RECV_SLEEPERS = 516
O_SPACE_SIGNAL = 640
O_SEND_SLEEPERS = 644
O_REGISTRY_OVERFLOW = 768
O_REGISTRY_FIRST = 772
O_REGISTRY_END = 1024

HEADER_BYTES = 1024
FRAME_HEADER = 16

FLAG_MANY_PRODUCERS = 1
FLAG_MANY_CONSUMERS = 2
#: A msgpack channel keeps the Node side's msgpack record structures table after the ring and
#: marks (its own format: tag 'S' 'st' 1, version 1, 32 slots, 7936 data bytes). Python's msgpack
#: codec does not use it (it sends plain msgpack), but creates and sizes it, so Node can attach.
FLAG_STRUCTURES = 4
STRUCTURES_BYTES = 8192

KIND_MSG = 1
KIND_PAD = 2
KIND_SKIP = 3
KIND_FIRST = 4  # v2: fragments of a message larger than one frame (one consumer only)
KIND_MIDDLE = 5
KIND_LAST = 6
KIND_MASK = 7
MAX_MAX_MESSAGE = 1 << 30
DEFAULT_MAX_MESSAGE = 64 << 20

MIN_CAPACITY = 256
MAX_CAPACITY = 1 << 30


def marks_bytes(capacity: int) -> int:
    return capacity // 4


def structures_at(capacity: int, many_consumers: bool) -> int:
    return HEADER_BYTES + capacity + (marks_bytes(capacity) if many_consumers else 0)


def byte_length(capacity: int, many_consumers: bool, msgpack: bool = False) -> int:
    return structures_at(capacity, many_consumers) + (STRUCTURES_BYTES if msgpack else 0)


def frame_size(n: int) -> int:
    return (FRAME_HEADER + n + 15) & ~15


def max_message_for(capacity: int) -> int:
    # A frame larger than half the ring may never find contiguous room, wherever the wrap falls.
    return capacity // 2 - FRAME_HEADER


def is_capacity(n) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and MIN_CAPACITY <= n <= MAX_CAPACITY and n & (n - 1) == 0
