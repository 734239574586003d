"""Type tags: word 0 of every object in a segment, stored last by its creator (docs/format.md,
"Type tags"). One place for all of them, as on the Node side (core/src/layout.ts defineTag)."""

from __future__ import annotations


def four_chars(s: str) -> int:
    """A tag written as four ASCII characters, read as a little-endian int32 ('SKmx' -> 0x786d4b53)."""
    b = s.encode("ascii")
    return int.from_bytes(b, "little", signed=True)


def versioned(kind: str, version: int) -> int:
    """The tag scheme of docs/format.md's next revision: 'S', two kind letters, the layout version."""
    b = kind.encode("ascii")
    return int.from_bytes(bytes([0x53, b[0], b[1], version]), "little", signed=True)


#: The tags Python writes when it creates an object: what the Node side writes (docs/format.md,
#: "Type tags and layout versions": 'S', two kind letters, the kind's layout version).
MUTEX = versioned("mx", 1)
CHANNEL = versioned("ch", 2)  # channel/layout.py's TAG follows the layout version it creates
STRUCTURES = versioned("st", 1)

#: The tags Python accepts when it attaches (both schemes; the layout version decides the rest).
MUTEX_TAGS = frozenset({four_chars("SKmx"), versioned("mx", 1)})
CHANNEL_TAGS = {four_chars("SKch"): None, versioned("ch", 1): 1, versioned("ch", 2): 2}

NAMES = {
    versioned("mx", 1): "Mutex",
    versioned("cv", 1): "Condition",
    versioned("sm", 1): "Semaphore",
    versioned("rw", 1): "RwLock",
    versioned("br", 1): "Barrier",
    versioned("lt", 1): "Latch",
    versioned("ch", 2): "Channel",
    four_chars("SKmx"): "Mutex",
    four_chars("SKcv"): "Condition",
    four_chars("SKsm"): "Semaphore",
    four_chars("SKrw"): "RwLock",
    four_chars("SKbr"): "Barrier",
    four_chars("SKlt"): "Latch",
    four_chars("SKch"): "Channel",
}


def describe(tag: int) -> str:
    """What a tag names, for error messages."""
    if tag == 0:
        return "nothing (not initialised yet)"
    return NAMES.get(tag, f"type tag 0x{tag & 0xFFFFFFFF:08x}")
