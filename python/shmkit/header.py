"""The segment header: what every process reads at offset 0 before it trusts anything else.
Same layout as the Node side (docs/format.md, "Segment header"). All fields are 32-bit words;
64-bit values are two words, low first.

| offset | size         | field                                          | written by                |
|--------|--------------|------------------------------------------------|---------------------------|
| 0      | 4            | magic 'SKsg' (0x67734b53): the header is complete | creator, last          |
| 4      | 4            | layout version (1)                             | creator                   |
| 8      | 8            | total bytes (= the file's size)                | creator                   |
| 16     | 4            | creator pid                                    | creator, after start time |
| 24     | 8            | creator start time (clock ticks since boot)    | creator, first            |
| 32     | 8            | creation time, ms since the epoch              | creator                   |
| 40     | 8            | segment id (random)                            | creator                   |
| 48     | 4            | thread table offset (512)                      | creator                   |
| 52     | 4            | thread table slots                             | creator                   |
| 56     | 4            | directory offset                               | creator                   |
| 60     | 4            | directory capacity (entries)                   | creator                   |
| 64     | 4            | data offset (multiple of 128)                  | creator                   |
| 128    | 8            | directory lock (a Mutex)                       | any process               |
| 256    | 4            | entry count                                    | directory lock holder     |
| 260    | 4            | bump pointer / 128                             | directory lock holder     |
| 512    | 32 x threads | thread table (identity.py)                     | each thread, its own slot |
| dir    | 96 x entries | directory (directory.py)                       | directory lock holder     |
"""

from __future__ import annotations

import os
import struct
import time
from dataclasses import dataclass

from .errors import ShmkitError, corrupt

MAGIC = 0x67734B53
LAYOUT_VERSION = 1
FIXED_HEADER_BYTES = 512
ENTRY_BYTES = 96
ALLOCATION_UNIT = 128
MAX_OBJECTS = 65536
SLOT_BYTES = 32
MAX_THREADS = 4095
MAX_SEGMENT_BYTES = 2**32 * ALLOCATION_UNIT

O_MAGIC = 0
O_VERSION = 4
O_SIZE = 8
O_CREATOR_PID = 16
O_CREATOR_START = 24
O_CREATED = 32
O_ID = 40
O_TABLE_OFFSET = 48
O_TABLE_SLOTS = 52
O_DIR_OFFSET = 56
O_DIR_CAPACITY = 60
O_DATA_OFFSET = 64
LOCK_OFFSET = 128
O_COUNT = 256
O_BUMP = 260


def align_up(n: int, a: int) -> int:
    return (n + a - 1) & ~(a - 1)


@dataclass(frozen=True)
class Layout:
    threads: int
    table_offset: int
    directory_offset: int
    capacity: int
    data_offset: int


@dataclass(frozen=True)
class HeaderInfo:
    layout: Layout
    size: int
    version: int
    creator_pid: int
    creator_start_time: int
    created: int
    id: str


def layout_for(threads: int, capacity: int) -> Layout:
    table = FIXED_HEADER_BYTES
    directory = align_up(table + threads * SLOT_BYTES, ALLOCATION_UNIT)
    data = align_up(directory + capacity * ENTRY_BYTES, ALLOCATION_UNIT)
    return Layout(threads, table, directory, capacity, data)


def _u64(mem, off: int) -> int:
    return (mem.load(off) & 0xFFFFFFFF) + (mem.load(off + 4) & 0xFFFFFFFF) * 2**32


def write_header(mem, size: int, layout: Layout, pid: int, start_time: int) -> None:
    """Writes the header of a fresh (zeroed) segment, magic excepted (see publish_header)."""
    # Start time before pid: a reader that sees the pid sees the start time too.
    mem.store(O_CREATOR_START, start_time & 0xFFFFFFFF)
    mem.store(O_CREATOR_START + 4, start_time >> 32)
    mem.store(O_CREATOR_PID, pid)
    mem.store(O_VERSION, LAYOUT_VERSION)
    mem.store(O_SIZE, size & 0xFFFFFFFF)
    mem.store(O_SIZE + 4, size >> 32)
    now = int(time.time() * 1000)
    mem.store(O_CREATED, now & 0xFFFFFFFF)
    mem.store(O_CREATED + 4, now >> 32)
    lo, hi = struct.unpack("<ii", os.urandom(8))
    mem.store(O_ID, lo)
    mem.store(O_ID + 4, hi)
    mem.store(O_TABLE_OFFSET, layout.table_offset)
    mem.store(O_TABLE_SLOTS, layout.threads)
    mem.store(O_DIR_OFFSET, layout.directory_offset)
    mem.store(O_DIR_CAPACITY, layout.capacity)
    mem.store(O_DATA_OFFSET, layout.data_offset)
    mem.store(O_COUNT, 0)
    mem.store(O_BUMP, layout.data_offset // ALLOCATION_UNIT)


def publish_header(mem) -> None:
    # release: seq_cst store after every header field; pairs with the magic load in read_header.
    mem.store(O_MAGIC, MAGIC)


def read_header(mem, file_size: int, what: str) -> HeaderInfo:
    """Reads and validates the header. CORRUPT on any bad field, INCOMPATIBLE on another version."""
    if file_size < FIXED_HEADER_BYTES or mem.size < FIXED_HEADER_BYTES:
        raise corrupt(what, f"{file_size} bytes is too small for a segment header")
    # acquire: pairs with publish_header; every field below was written before the magic.
    magic = mem.load(O_MAGIC)
    if magic != MAGIC:
        raise corrupt(what, f"not a shmkit segment (magic 0x{magic & 0xFFFFFFFF:x})")
    version = mem.load(O_VERSION)
    if version != LAYOUT_VERSION:
        raise ShmkitError(
            "INCOMPATIBLE",
            f"{what} has segment layout version {version}; this shmkit reads version {LAYOUT_VERSION}",
        )
    size = _u64(mem, O_SIZE)
    if size != file_size:
        raise corrupt(what, f"the header says {size} bytes, the file has {file_size}")
    threads = mem.load(O_TABLE_SLOTS)
    capacity = mem.load(O_DIR_CAPACITY)
    if not 1 <= threads <= MAX_THREADS:
        raise corrupt(what, f"thread table of {threads} slots")
    if not 1 <= capacity <= MAX_OBJECTS:
        raise corrupt(what, f"directory of {capacity} entries")
    layout = layout_for(threads, capacity)
    if (
        mem.load(O_TABLE_OFFSET) != layout.table_offset
        or mem.load(O_DIR_OFFSET) != layout.directory_offset
        or mem.load(O_DATA_OFFSET) != layout.data_offset
    ):
        raise corrupt(what, "the offsets of the thread table, directory and data disagree")
    if layout.data_offset > size:
        raise corrupt(what, f"data offset {layout.data_offset} past the end")
    lo = mem.load(O_ID) & 0xFFFFFFFF
    hi = mem.load(O_ID + 4) & 0xFFFFFFFF
    return HeaderInfo(
        layout=layout,
        size=size,
        version=version,
        creator_pid=mem.load(O_CREATOR_PID),
        creator_start_time=_u64(mem, O_CREATOR_START),
        created=_u64(mem, O_CREATED),
        id=f"{hi:08x}{lo:08x}",
    )


def read_creator(mem):
    """(pid, start time) of the creator of a header whose magic may not be there yet."""
    return mem.load(O_CREATOR_PID), _u64(mem, O_CREATOR_START)
