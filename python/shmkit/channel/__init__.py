"""Channel: messages between Python and Node processes through a segment's framed byte ring.

Waiting (as on the Node side): a receiver that finds nothing spins briefly, then counts itself in
the receiver sleepers, tries once more, and sleeps on the data signal with the value it read
before that try; a producer that publishes bumps the signal and wakes only when a receiver is
counted. Senders wait for room the same way on the space signal. Sleeps last at most one
liveness slice, after which dead peers are looked for (PEER_DEAD, SKIP of a dead claim).
"""

from __future__ import annotations

import os
import time

from .. import futex, tags
from ..deadline import Deadline, timeout_error, validate_timeout
from ..errors import ShmkitError
from ..identity import LIVENESS_SLICE
from . import liveness
from .claim_lock import recover_claim_lock
from .codec import resolve
from .layout import (
    FLAG_MANY_CONSUMERS,
    FLAG_MANY_PRODUCERS,
    FLAG_STRUCTURES,
    STRUCTURES_BYTES,
    structures_at,
    HEADER_BYTES,
    LAYOUT_VERSION,
    VERSIONS,
    O_CAPACITY,
    O_CLOSED,
    O_DATA_SIGNAL,
    O_FLAGS,
    O_EXT_BYTES,
    O_EXT_OFFSET,
    O_MAX_FRAME,
    O_MAX_MESSAGE,
    DEFAULT_MAX_MESSAGE,
    O_RECV_SLEEPERS,
    O_SEND_SLEEPERS,
    O_SPACE_SIGNAL,
    O_TAG,
    O_VERSION,
    marks_bytes,
    max_message_for,
)
from .consumer import EMPTY, MultiConsumer, SingleConsumer
from .producer import MultiProducer, SingleProducer
from .ring import Ring

_yield = os.sched_yield
SPIN_MAX = 200e-6
SPIN_MIN = 5e-6


def init(mem, offset: int, capacity: int, many_producers: bool, many_consumers: bool, msgpack: bool = False) -> None:
    """Initializes a channel in zeroed memory; the tag is stored last (publishes it)."""
    mem.store(offset + O_VERSION, LAYOUT_VERSION)
    mem.store(offset + O_CAPACITY, capacity)
    flags = (FLAG_MANY_PRODUCERS if many_producers else 0) | (FLAG_MANY_CONSUMERS if many_consumers else 0)
    mem.store(offset + O_FLAGS, flags | (FLAG_STRUCTURES if msgpack else 0))
    if msgpack:
        # The Node side's structures table: version, slots, data bytes, then its tag last.
        at = offset + structures_at(capacity, many_consumers)
        mem.store(at + 4, 1)
        mem.store(at + 8, 32)
        mem.store(at + 12, STRUCTURES_BYTES - 256)
        mem.store(at, tags.STRUCTURES)
    mem.store(offset + O_MAX_MESSAGE, max_message_for(capacity))
    if LAYOUT_VERSION >= 2:
        # v2: word 4 is the largest message (fragments included), word 6 the largest frame.
        mem.store(offset + O_MAX_FRAME, max_message_for(capacity))
        mem.store(offset + O_MAX_MESSAGE, max_message_for(capacity) if many_consumers else DEFAULT_MAX_MESSAGE)
        if msgpack:
            # v2 keeps the structures table in the extension area: words 7-8 say where.
            mem.store(offset + O_EXT_OFFSET, structures_at(capacity, many_consumers))
            mem.store(offset + O_EXT_BYTES, STRUCTURES_BYTES)
    if many_consumers:
        # Marks start odd: "not released" for every position (positions are multiples of 16).
        at = offset + HEADER_BYTES + capacity
        mem.u8[at : at + marks_bytes(capacity)] = b"\x01\x00\x00\x00" * (capacity // 16)
    # The tag's byte 3 is the layout version written above (docs/format.md, "Type tags").
    mem.store(offset + O_TAG, tags.versioned("ch", LAYOUT_VERSION))


class Channel:
    """A channel of a segment: ``send`` on one side, ``recv`` on the other, in any mix of Python
    and Node processes. Messages arrive exactly once, in each producer's order.

    >>> ch = seg.channel("q", codec="utf8")
    >>> ch.send("hello")
    >>> ch.recv(timeout=1.0)
    'hello'
    """

    def __init__(self, mem, offset: int, length: int, identity, codec, key: str = "channel"):
        tag = mem.load(offset + O_TAG)
        version = mem.load(offset + O_VERSION)
        if tag not in tags.CHANNEL_TAGS:
            if tag & 0xFFFFFF == 0x686353:  # 'Sch' + a version byte: a layout this package predates
                raise ShmkitError("INCOMPATIBLE", f"channel {key!r} has layout version {tag >> 24 & 0xFF}")
            raise ShmkitError("CORRUPT", f"no Channel at the offset of {key!r}: found {tags.describe(tag)}")
        in_tag = tags.CHANNEL_TAGS[tag]
        if version not in VERSIONS or (in_tag is not None and in_tag != version):
            raise ShmkitError(
                "INCOMPATIBLE", f"channel {key!r} has layout version {version}; this shmkit reads {VERSIONS}"
            )
        self.key = key
        self._r = Ring(mem, offset, length)
        self._id = identity
        self._codec = resolve(codec)
        self._encode = self._codec.encode
        self._decode = self._codec.decode
        self._producer = None
        self._consumer = None
        self._spin = SPIN_MAX
        self._closed_i = O_CLOSED // 4

    @property
    def capacity(self) -> int:
        return self._r.capacity

    @property
    def max_message_size(self) -> int:
        """The largest encoded message this package sends: one frame (half the ring, less 16
        bytes); larger ones are TOO_LARGE. It receives larger ones (fragmented by a Node producer,
        layout v2) up to the channel's own limit."""
        return self._r.max_frame

    @property
    def closed(self) -> bool:
        """Whether close() was called, by any thread of any process. It can be late."""
        return self._r.words[self._closed_i] != 0

    # ---- sending ----

    def send(self, value, timeout: float | None = None) -> None:
        """Sends ``value``, blocking while the ring is full. CLOSED after close(); TOO_LARGE past
        max_message_size; TIMEOUT after ``timeout`` seconds. Copies the message into the ring;
        no system call unless a receiver sleeps."""
        if timeout is not None:
            timeout = validate_timeout(timeout)
        data = self._encode(value)
        if len(data) > self._r.max_frame:
            raise _too_large(len(data), self._r.max_frame)
        p = self._producer or self._producer_side()
        if self._r.words[self._closed_i]:
            raise _closed()
        if not p.try_send(data):
            self._wait_room(p, data, Deadline(timeout))

    def try_send(self, value) -> bool:
        """Sends ``value`` if the ring has room now; False when it is full."""
        data = self._encode(value)
        if len(data) > self._r.max_frame:
            raise _too_large(len(data), self._r.max_frame)
        p = self._producer or self._producer_side()
        if self._r.words[self._closed_i]:
            raise _closed()
        return p.try_send(data)

    # ---- receiving ----

    def recv(self, timeout: float | None = None):
        """Receives the next message, blocking while the ring is empty. CLOSED once closed and
        drained; PEER_DEAD once drained and every producer died; TIMEOUT after ``timeout`` s.
        Returns a value the caller owns (bytes, str, ...)."""
        if timeout is not None:
            timeout = validate_timeout(timeout)
        c = self._consumer or self._consumer_side()
        v = c.try_take(self._decode)
        if v is EMPTY:
            v = self._wait_frame(c, Deadline(timeout))
        return v

    def try_recv(self):
        """The next message if one is ready, else None. CLOSED once closed and drained."""
        c = self._consumer or self._consumer_side()
        v = c.try_take(self._decode)
        if v is EMPTY:
            if not self.closed:
                return None
            v = c.try_take(self._decode)
            if v is EMPTY:
                raise _closed()
        return v

    def __iter__(self):
        """Receives until the channel is closed and drained."""
        while True:
            try:
                yield self.recv()
            except ShmkitError as e:
                if e.code == "CLOSED":
                    return
                raise

    def close(self) -> None:
        """Closes the channel for everyone: senders get CLOSED, receivers drain then get CLOSED,
        every waiter wakes up. Idempotent."""
        r = self._r
        if r.at.exchange(r.base + O_CLOSED, 1) != 0:
            return
        r.at.add(r.a_data, 1)
        r.at.add(r.a_space, 1)
        futex.wake(r.abs_data)
        futex.wake(r.abs_space)

    def unregister(self) -> None:
        """Stops counting this thread as a producer (its exit is then no crash). Segment.close() calls it."""
        if self._producer is not None:
            liveness.unregister(self._r, self._id.self_token())
            self._producer = None

    # ---- internals ----

    def _producer_side(self):
        token = self._id.self_token()
        liveness.register(self._r, self._id)
        if self._r.many_producers:
            self._producer = MultiProducer(self._r, token, self._id)
        else:
            self._producer = SingleProducer(self._r, token)
        return self._producer

    def _consumer_side(self):
        self._consumer = (MultiConsumer if self._r.many_consumers else SingleConsumer)(self._r, self._id.self_token())
        return self._consumer

    def _wait_room(self, p, data, deadline: Deadline) -> None:
        r = self._r
        words = r.words
        until = time.perf_counter() + deadline.slice(self._spin)
        while time.perf_counter() < until:
            _yield()
            if words[self._closed_i]:
                raise _closed()
            if p.try_send(data):
                self._spin = min(SPIN_MAX, self._spin * 1.25)
                return
        self._spin = max(SPIN_MIN, self._spin / 2)
        space_i = O_SPACE_SIGNAL // 4
        while True:
            signal = words[space_i]
            if words[self._closed_i]:
                raise _closed()
            if p.try_send(data):
                return
            left = deadline.remaining()
            if left == 0:
                raise timeout_error("Channel send", deadline.timeout)
            r.at.add(r.base + O_SEND_SLEEPERS, 1)
            try:
                # Counted: a consumer that frees room from now on bumps the signal. Try once more.
                if p.try_send(data):
                    return
                res = futex.wait(r.abs_space, signal, deadline.slice(LIVENESS_SLICE))
                if res == futex.TIMED_OUT:
                    liveness.release_dead_claim(r, self._id)
                    recover_claim_lock(r, self._id)
            finally:
                r.at.add(r.base + O_SEND_SLEEPERS, -1)

    def _wait_frame(self, c, deadline: Deadline):
        r = self._r
        words = r.words
        until = time.perf_counter() + deadline.slice(self._spin)
        decode = self._decode
        while time.perf_counter() < until:
            # Yield while spinning: when the peer waits for this very core (more runnable
            # processes than cores), it runs now instead of at the end of our time slice.
            _yield()
            v = c.try_take(decode)
            if v is not EMPTY:
                self._spin = min(SPIN_MAX, self._spin * 1.25)
                return v
            if words[self._closed_i]:
                break
        self._spin = max(SPIN_MIN, self._spin / 2)
        data_i = O_DATA_SIGNAL // 4
        while True:
            signal = words[data_i]
            v = c.try_take(decode)
            if v is not EMPTY:
                return v
            if words[self._closed_i]:
                # Closed: everything sent before close() is visible now; drain it, then CLOSED.
                v = c.try_take(decode)
                if v is not EMPTY:
                    return v
                raise _closed()
            left = deadline.remaining()
            if left == 0:
                raise timeout_error("Channel recv", deadline.timeout)
            r.at.add(r.base + O_RECV_SLEEPERS, 1)
            try:
                v = c.try_take(decode)
                if v is not EMPTY:
                    return v
                res = futex.wait(r.abs_data, signal, deadline.slice(LIVENESS_SLICE))
            finally:
                r.at.add(r.base + O_RECV_SLEEPERS, -1)
            if res == futex.TIMED_OUT:
                v = self._check_peers(c)
                if v is not EMPTY:
                    return v

    def _check_peers(self, c):
        """After a quiet slice: repairs what dead peers left, and reports PEER_DEAD once the ring
        is drained and every registered producer died."""
        if recover_claim_lock(self._r, self._id):
            return EMPTY
        if liveness.skip_dead_claim(self._r, self._id):
            return EMPTY
        if self._consumer is not None and getattr(self._consumer, "partials", None):
            self._consumer.drop_dead(self._id)
        if liveness.release_dead_claim(self._r, self._id):
            return EMPTY
        if not liveness.producers_dead(self._r, self._id):
            return EMPTY
        v = c.try_take(self._decode)
        if v is not EMPTY:
            return v
        raise ShmkitError("PEER_DEAD", "every producer of this channel died without closing it, and it is drained")


def _closed() -> ShmkitError:
    return ShmkitError("CLOSED", "the channel is closed")


def _too_large(n: int, most: int) -> ShmkitError:
    return ShmkitError(
        "TOO_LARGE",
        f"a message of {n} bytes does not fit this channel (max {most}; use a capacity of at least twice the largest message)",
    )
