// The Linux futex calls behind @shmkit/segment's waiter: plain system calls returning -errno.
//
// Why no FUTEX_PRIVATE_FLAG: a private futex is keyed by (this process's mm, virtual address), so
// only threads of one process can meet on it. The words we wait on live in MAP_SHARED mappings
// that other processes map at other addresses; a shared futex is keyed by (inode, page offset)
// instead, so every process that maps the file meets on the same key. Shared futexes also work on
// private memory (keyed by mm + address), which is what a heap SharedArrayBuffer is.
//
// Memory ordering: FUTEX_WAIT reads the word and queues the caller atomically with respect to
// FUTEX_WAKE on the same key (the kernel takes the hash-bucket lock and issues full barriers), so a
// writer that stores the new value (Atomics.store, seq_cst) and then calls wake either finds the
// waiter queued or makes its compare fail with EAGAIN ("not-equal"): no wake-up is lost.
#pragma once

#include <cstdint>
#include <ctime>

namespace shmkit {

// Results shared with src/futex-waiter.ts (index into its RESULTS table).
// kGone and kWaitReleased are not futex results: the addon reports them when the word's mapping was
// broken by a peer truncating the file, or released by this process (platform/bus_guard.h).
enum WaitCode : int32_t { kOk = 0, kNotEqual = 1, kTimedOut = 2, kGone = 3, kWaitReleased = 4 };

// Blocking waits wait with this bitset. FUTEX_WAKE wakes every bitset, so notify() reaches
// everyone; the fallback cancellation of async waits (async_wait.cc) wakes only bits 0..30, so it
// never disturbs a blocking waiter that uses this library.
constexpr uint32_t kBlockingBitset = 0x80000000u;

// An absolute CLOCK_MONOTONIC time, or none. Absolute deadlines make EINTR retries exact: the
// retry waits until the same instant instead of restarting a relative timeout.
struct Deadline {
  bool infinite = true;
  timespec at{};
};

// `ms` from now. NaN and +Infinity (and anything beyond ~30,000 years) mean no deadline, as for
// Atomics.wait; negative means now.
Deadline DeadlineAfterMs(double ms);
// The earlier of `d` and `ms` from now.
Deadline EarlierOf(const Deadline& d, double ms);
bool Passed(const Deadline& d);

// Sleeps while *addr == expected, until woken or the deadline. Retries on EINTR.
// Returns a WaitCode, or -errno for an unexpected failure (EFAULT, EINVAL, ENOSYS).
int FutexWaitUntil(int32_t* addr, int32_t expected, const Deadline& d, uint32_t bitset);
// Wakes up to `count` waiters of any bitset; returns how many woke, or -errno.
int FutexWake(int32_t* addr, int count);
// Wakes up to `count` waiters whose bitset intersects `bitset`; returns how many, or -errno.
int FutexWakeBitset(int32_t* addr, int count, uint32_t bitset);
// Wakes a waiter of a word in this process's private memory.
int FutexWakePrivate(uint32_t* addr, int count);

// Whether futex_waitv (Linux 5.16+) can be used: present, not blocked by seccomp, and not turned
// off with SHMKIT_FUTEX_WAITV=0 (used by the tests to exercise the fallback).
bool FutexWaitvUsable();

// One futex_waitv entry. Its `val` is compared with the 32-bit word zero-extended to 64 bits.
struct WaitvEntry {
  uint64_t val;
  uint64_t uaddr;
  uint32_t flags;
  uint32_t reserved;
};
// futex_waitv(2): sleeps until any of the words is woken or differs from its `val`. Returns the
// index of the word that was woken, or -errno (EAGAIN: some word differed; ETIMEDOUT; EINTR).
long FutexWaitv(WaitvEntry* entries, unsigned count, const Deadline& d);

}  // namespace shmkit
