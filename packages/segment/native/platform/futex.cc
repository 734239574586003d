#include "futex.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449  // the same number on every architecture (asm-generic and x86-64)
#endif
#ifndef FUTEX_32
#define FUTEX_32 2
#endif

namespace shmkit {

static_assert(sizeof(WaitvEntry) == 24, "struct futex_waitv is 24 bytes");

namespace {

constexpr long kNsPerSec = 1000000000L;
// ~31,700 years: beyond this a timeout is treated as infinite (and tv_sec cannot overflow).
constexpr double kMaxFiniteMs = 1e15;

timespec Now() {
  timespec t{};
  // CLOCK_MONOTONIC cannot fail with a valid pointer; FUTEX_WAIT_BITSET and futex_waitv measure
  // their absolute timeouts on this clock, so wall-clock changes do not stretch or cut a wait.
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t;
}

timespec AddMs(timespec t, double ms) {
  double whole = std::floor(ms / 1000.0);
  long long sec = static_cast<long long>(whole);
  long long ns = static_cast<long long>((ms - whole * 1000.0) * 1e6);
  t.tv_sec += static_cast<time_t>(sec);
  t.tv_nsec += static_cast<long>(ns);
  while (t.tv_nsec >= kNsPerSec) {
    t.tv_nsec -= kNsPerSec;
    t.tv_sec += 1;
  }
  return t;
}

bool Before(const timespec& a, const timespec& b) {
  return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

long Futex(void* addr, int op, uint32_t val, const timespec* timeout, uint32_t val3) {
  return syscall(SYS_futex, addr, op, val, timeout, nullptr, val3);
}

}  // namespace

Deadline DeadlineAfterMs(double ms) {
  Deadline d;
  if (std::isnan(ms) || ms > kMaxFiniteMs) return d;
  d.infinite = false;
  d.at = AddMs(Now(), ms > 0 ? ms : 0);
  return d;
}

Deadline EarlierOf(const Deadline& d, double ms) {
  Deadline slice = DeadlineAfterMs(ms);
  if (d.infinite) return slice;
  return Before(slice.at, d.at) ? slice : d;
}

bool Passed(const Deadline& d) { return !d.infinite && !Before(Now(), d.at); }

int FutexWaitUntil(int32_t* addr, int32_t expected, const Deadline& d, uint32_t bitset) {
  for (;;) {
    // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC timeout (FUTEX_WAIT's is relative).
    long r = Futex(addr, FUTEX_WAIT_BITSET, static_cast<uint32_t>(expected), d.infinite ? nullptr : &d.at, bitset);
    if (r == 0) return kOk;
    switch (errno) {
      case EAGAIN:
        return kNotEqual;
      case ETIMEDOUT:
        return kTimedOut;
      case EINTR:
        // A signal handler ran (one installed without SA_RESTART). Wait again until the same
        // absolute deadline; the kernel re-compares the word, so a change meanwhile is not missed.
        continue;
      default:
        return -errno;
    }
  }
}

int FutexWake(int32_t* addr, int count) {
  long r = Futex(addr, FUTEX_WAKE, static_cast<uint32_t>(count), nullptr, 0);
  return r < 0 ? -errno : static_cast<int>(r);
}

int FutexWakeBitset(int32_t* addr, int count, uint32_t bitset) {
  long r = Futex(addr, FUTEX_WAKE_BITSET, static_cast<uint32_t>(count), nullptr, bitset);
  return r < 0 ? -errno : static_cast<int>(r);
}

int FutexWakePrivate(uint32_t* addr, int count) {
  long r = Futex(addr, FUTEX_WAKE_PRIVATE, static_cast<uint32_t>(count), nullptr, 0);
  return r < 0 ? -errno : static_cast<int>(r);
}

long FutexWaitv(WaitvEntry* entries, unsigned count, const Deadline& d) {
  long r = syscall(SYS_futex_waitv, entries, count, 0, d.infinite ? nullptr : &d.at, CLOCK_MONOTONIC);
  return r < 0 ? -errno : r;
}

bool FutexWaitvUsable() {
  static const bool usable = [] {
    const char* env = std::getenv("SHMKIT_FUTEX_WAITV");
    if (env != nullptr && std::strcmp(env, "0") == 0) return false;
    // Zero entries is invalid: a kernel that has the call says EINVAL, an old one ENOSYS, and a
    // seccomp profile that does not know it (older container runtimes) EPERM or ENOSYS.
    long r = syscall(SYS_futex_waitv, nullptr, 0, 0, nullptr, CLOCK_MONOTONIC);
    return r < 0 && errno == EINVAL;
  }();
  return usable;
}

}  // namespace shmkit
