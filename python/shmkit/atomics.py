"""Real CPU atomics on words of shared memory, for x86_64 Linux.

Python has no atomic operations on memory it shares with other processes, and a read-modify-write
written in Python (read, compute, write) loses updates under contention. The shared words of a
segment are the same words the Node side changes with ``Atomics.*``, so Python must use the very
same instructions. This module places ten tiny functions of x86_64 machine code in a page of their
own (mapped writable, filled, then flipped to read+execute: never writable and executable at once)
and calls them through ctypes:

=============  ===================================  =====================================
function       instruction                          what V8 emits for the Atomics call
=============  ===================================  =====================================
load32/64      ``mov``                              Atomics.load (seq_cst load = mov on x86)
store32/64     ``xchg``                             Atomics.store (seq_cst store = xchg)
exchange32/64  ``xchg`` (implicitly locked)          Atomics.exchange
cas32/64       ``lock cmpxchg``                     Atomics.compareExchange
add32/64       ``lock xadd``                        Atomics.add / Atomics.sub (negated)
=============  ===================================  =====================================

Every one of them is sequentially consistent, as every ``Atomics`` operation is. The calls are
made through ``ctypes.PYFUNCTYPE``: the interpreter lock is kept across the call (releasing it
would cost more than the instruction), which is fine since none of them blocks.

Loads on the hot paths also go through a ``memoryview`` cast to 32-bit words (see ``Words``): an
aligned 4-byte read is a single ``mov`` on x86_64, exactly what Atomics.load compiles to (x86-TSO
makes every plain load an acquire load, and a seq_cst load needs no fence when seq_cst stores are
``xchg``). Stores and read-modify-writes never take that route: a plain store could be reordered
after a later load (store-load reordering), which would break the "publish, then check for
sleepers" protocols of channels and mutexes.

Only x86_64 is supported; on any other machine importing this module raises ShmkitError
UNSUPPORTED.
"""

from __future__ import annotations

import ctypes
import mmap
import platform

from .errors import ShmkitError

if platform.machine().lower() not in ("x86_64", "amd64"):
    raise ShmkitError(
        "UNSUPPORTED",
        f"shmkit for Python needs an x86_64 CPU for its atomics (this is {platform.machine()})",
    )

# System V AMD64 calling convention: arguments in rdi, rsi, rdx; the result in rax/eax.
_CODE = {
    # mov eax, [rdi]; ret
    "load32": bytes([0x8B, 0x07, 0xC3]),
    # mov rax, [rdi]; ret
    "load64": bytes([0x48, 0x8B, 0x07, 0xC3]),
    # xchg [rdi], esi; ret              (xchg with memory is always locked: a full barrier)
    "store32": bytes([0x87, 0x37, 0xC3]),
    # xchg [rdi], rsi; ret
    "store64": bytes([0x48, 0x87, 0x37, 0xC3]),
    # xchg [rdi], esi; mov eax, esi; ret
    "exchange32": bytes([0x87, 0x37, 0x89, 0xF0, 0xC3]),
    # xchg [rdi], rsi; mov rax, rsi; ret
    "exchange64": bytes([0x48, 0x87, 0x37, 0x48, 0x89, 0xF0, 0xC3]),
    # mov eax, esi; lock cmpxchg [rdi], edx; ret   (returns the value found)
    "cas32": bytes([0x89, 0xF0, 0xF0, 0x0F, 0xB1, 0x17, 0xC3]),
    # mov rax, rsi; lock cmpxchg [rdi], rdx; ret
    "cas64": bytes([0x48, 0x89, 0xF0, 0xF0, 0x48, 0x0F, 0xB1, 0x17, 0xC3]),
    # lock xadd [rdi], esi; mov eax, esi; ret       (returns the value before the add)
    "add32": bytes([0xF0, 0x0F, 0xC1, 0x37, 0x89, 0xF0, 0xC3]),
    # lock xadd [rdi], rsi; mov rax, rsi; ret
    "add64": bytes([0xF0, 0x48, 0x0F, 0xC1, 0x37, 0x48, 0x89, 0xF0, 0xC3]),
}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]


def _load_code():
    page = mmap.PAGESIZE
    addr = _libc.mmap(None, page, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    if addr in (None, ctypes.c_void_p(-1).value):
        raise ShmkitError("UNSUPPORTED", f"cannot map a page for the atomics helper (errno {ctypes.get_errno()})")
    offsets = {}
    at = 0
    for name, code in _CODE.items():
        ctypes.memmove(addr + at, code, len(code))
        offsets[name] = at
        at += 16  # one function per 16 bytes
    # W^X: the page becomes executable only once it is no longer writable.
    if _libc.mprotect(addr, page, mmap.PROT_READ | mmap.PROT_EXEC) != 0:
        raise ShmkitError(
            "UNSUPPORTED",
            f"cannot make the atomics helper executable (errno {ctypes.get_errno()}): "
            "the system forbids executable memory (SELinux execmem, a hardened kernel)",
        )
    return addr, offsets


_ADDR, _OFFSETS = _load_code()
_P = ctypes.c_void_p
_I32 = ctypes.c_int32
_I64 = ctypes.c_int64


def _fn(name, restype, *argtypes):
    return ctypes.PYFUNCTYPE(restype, *argtypes)(_ADDR + _OFFSETS[name])


# ctypes masks integer arguments to the declared width, so callers may pass any Python int:
# 0xFFFFFFFF is stored as -1, exactly as an Int32Array store wraps it.
load32 = _fn("load32", _I32, _P)
load64 = _fn("load64", _I64, _P)
store32 = _fn("store32", None, _P, _I32)
store64 = _fn("store64", None, _P, _I64)
exchange32 = _fn("exchange32", _I32, _P, _I32)
exchange64 = _fn("exchange64", _I64, _P, _I64)
#: Compare-and-swap: ``cas32(addr, expected, desired)`` returns the value found (``expected`` when it swapped).
cas32 = _fn("cas32", _I32, _P, _I32, _I32)
cas64 = _fn("cas64", _I64, _P, _I64, _I64)
#: Atomic add, wrapping; returns the value before (Atomics.sub is an add of the negation).
add32 = _fn("add32", _I32, _P, _I32)
add64 = _fn("add64", _I64, _P, _I64)


# ---- Bound atomics: the mapping's base address compiled into the code ----
#
# Converting a pointer argument is most of the cost of a ctypes call (about 200 ns of the 250 ns
# of store32 here). So each mapping gets its own small page of functions with its base address
# baked in, taking a 32-bit offset (zero-extended: mappings up to 4 GiB) and plain C ints, called
# without argtypes: about 70 ns. Same instructions, same ordering as above.

_PAGE = mmap.PAGESIZE


def _movabs(reg_code: int, value: int) -> bytes:
    return bytes([0x48, 0xB8 + reg_code]) + value.to_bytes(8, "little")


_MOV_EDI_EDI = bytes([0x89, 0xFF])  # zero-extends the offset into rdi


def _bound_code(base: int) -> dict:
    rax = _movabs(0, base)
    rcx = _movabs(1, base)
    return {
        # mov eax, [rax+rdi]
        "load": rax + _MOV_EDI_EDI + bytes([0x8B, 0x04, 0x38, 0xC3]),
        # xchg [rax+rdi], esi
        "store": rax + _MOV_EDI_EDI + bytes([0x87, 0x34, 0x38, 0xC3]),
        # xchg [rax+rdi], esi; mov eax, esi
        "exchange": rax + _MOV_EDI_EDI + bytes([0x87, 0x34, 0x38, 0x89, 0xF0, 0xC3]),
        # mov eax, esi; lock cmpxchg [rcx+rdi], edx
        "cas": rcx + _MOV_EDI_EDI + bytes([0x89, 0xF0, 0xF0, 0x0F, 0xB1, 0x14, 0x39, 0xC3]),
        # lock xadd [rax+rdi], esi; mov eax, esi
        "add": rax + _MOV_EDI_EDI + bytes([0xF0, 0x0F, 0xC1, 0x34, 0x38, 0x89, 0xF0, 0xC3]),
    }


class Bound:
    """32-bit atomics on one mapping, by offset: ``b.store(off, v)``, ``b.load(off)``,
    ``b.cas(off, expected, desired)`` (returns the value found), ``b.add(off, v)`` (returns the
    value before), ``b.exchange(off, v)``. The caller guarantees ``0 <= off <= size - 4`` and
    ``off % 4 == 0``: these calls do no checking of their own."""

    __slots__ = ("load", "store", "exchange", "cas", "add", "_page")

    def __init__(self, base: int, size: int):
        if size <= 1 << 32:
            addr = _libc.mmap(None, _PAGE, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
            if addr in (None, ctypes.c_void_p(-1).value):
                raise ShmkitError("UNSUPPORTED", f"cannot map a page for the atomics helper (errno {ctypes.get_errno()})")
            at = 0
            for name, code in _bound_code(base).items():
                ctypes.memmove(addr + at, code, len(code))
                f = ctypes.PYFUNCTYPE(ctypes.c_int)(addr + at)  # no argtypes: ints pass as C int
                setattr(self, name, f)
                at += 32
            if _libc.mprotect(addr, _PAGE, mmap.PROT_READ | mmap.PROT_EXEC) != 0:
                raise ShmkitError("UNSUPPORTED", f"cannot make the atomics helper executable (errno {ctypes.get_errno()})")
            self._page = addr  # unmapped with this object (__del__)
        else:
            # Offsets past 4 GiB: the pointer-taking functions.
            self.load = lambda off: load32(base + off)
            self.store = lambda off, v: store32(base + off, v)
            self.exchange = lambda off, v: exchange32(base + off, v)
            self.cas = lambda off, e, d: cas32(base + off, e, d)
            self.add = lambda off, v: add32(base + off, v)
            self._page = None

    def __del__(self):
        # Invariant: the functions are only ever reached through this object (callers keep the
        # Bound, or an object holding it, alive as long as they call them), so when it goes the
        # page can go. A page per mapping, not per call.
        if getattr(self, "_page", None):
            _libc.munmap(ctypes.c_void_p(self._page), _PAGE)
            self._page = None
