#include "bus_guard.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>

namespace shmkit {

namespace {

constexpr size_t kMaxRanges = 65536;

// One guarded mapping. Written by GuardMapping (a claim of a free entry by CAS on `start`), read
// by the handler and by StateOf without locks. `end` is stored after `start` and cleared before
// it, so a reader that sees a non-zero `end` sees the range it belongs to.
struct Range {
  std::atomic<uintptr_t> start{0};
  std::atomic<uintptr_t> end{0};
  std::atomic<int32_t> state{kNotOurs};
};

Range g_ranges[kMaxRanges];
// Entries [0, g_high) may be in use: scans stop there.
std::atomic<size_t> g_high{0};
std::atomic<uint64_t> g_live{0};
// Mappings ever broken or released: while 0, StateOf needs no scan (the common case).
std::atomic<uint64_t> g_damaged{0};
std::atomic<uint64_t> g_repaired{0};
uintptr_t g_page = 4096;
struct sigaction g_previous {};

// The entry whose range holds `a`, or null. Lock-free: safe in the signal handler.
Range* Find(uintptr_t a) {
  size_t high = g_high.load(std::memory_order_acquire);
  for (size_t i = 0; i < high; i++) {
    uintptr_t end = g_ranges[i].end.load(std::memory_order_acquire);
    if (end == 0) continue;
    uintptr_t start = g_ranges[i].start.load(std::memory_order_relaxed);
    if (a >= start && a < end) return &g_ranges[i];
  }
  return nullptr;
}

// Anonymous private zero pages over [from, to): MAP_FIXED replaces the file's pages atomically.
bool ZeroPages(uintptr_t from, uintptr_t to) {
  void* r = mmap(reinterpret_cast<void*>(from), to - from, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
  return r != MAP_FAILED;
}

void PassOn(int sig, siginfo_t* info, void* context) {
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction != nullptr) {
      g_previous.sa_sigaction(sig, info, context);
      return;
    }
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(sig);
    return;
  }
  // No handler before ours: restore the default action. A fault re-runs the faulting instruction
  // on return and dies of SIGBUS as it would have without us; a SIGBUS sent with kill(2) is sent
  // again (it stays pending until this handler returns).
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGBUS, &dfl, nullptr);
  if (info == nullptr || info->si_code <= 0) raise(SIGBUS);
}

void OnBus(int sig, siginfo_t* info, void* context) {
  int saved = errno;
  // Only a fault (si_code > 0: BUS_ADRERR) has a meaningful si_addr.
  if (info != nullptr && info->si_code > 0) {
    uintptr_t a = reinterpret_cast<uintptr_t>(info->si_addr);
    Range* r = Find(a);
    if (r != nullptr) {
      uintptr_t end = r->end.load(std::memory_order_acquire);
      uintptr_t from = a & ~(g_page - 1);
      // A shrink cuts the file's tail, so everything from the faulting page on is gone.
      if (end > from && ZeroPages(from, end)) {
        if (r->state.exchange(kBroken) == kIntact) g_damaged.fetch_add(1);
        g_repaired.fetch_add(1);
        errno = saved;
        return;
      }
    }
  }
  errno = saved;
  PassOn(sig, info, context);
}

}  // namespace

SysResult InstallBusGuard() {
  static SysResult result;
  static std::once_flag once;
  std::call_once(once, [] {
    long page = sysconf(_SC_PAGESIZE);
    if (page > 0) g_page = static_cast<uintptr_t>(page);
    struct sigaction sa {};
    sa.sa_sigaction = OnBus;
    sigemptyset(&sa.sa_mask);
    // SA_ONSTACK: run on the alternate stack if the thread has one (a fault may come from deep
    // recursion). No SA_RESETHAND: the guard stays for every later fault.
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    if (sigaction(SIGBUS, &sa, &g_previous) != 0) result = Fail(errno, "sigaction");
  });
  return result;
}

void GuardMapping(void* addr, size_t length) {
  uintptr_t start = reinterpret_cast<uintptr_t>(addr);
  for (size_t i = 0; i < kMaxRanges; i++) {
    uintptr_t expected = 0;
    if (g_ranges[i].start.load(std::memory_order_relaxed) != 0) continue;
    if (!g_ranges[i].start.compare_exchange_strong(expected, start)) continue;
    g_ranges[i].state.store(kIntact);
    // release: publishes start and state to readers that load a non-zero end (Find).
    g_ranges[i].end.store(start + length, std::memory_order_release);
    size_t high = g_high.load();
    while (high < i + 1 && !g_high.compare_exchange_weak(high, i + 1)) {
    }
    g_live.fetch_add(1);
    return;
  }
}

void UnguardMapping(void* addr) {
  uintptr_t start = reinterpret_cast<uintptr_t>(addr);
  size_t high = g_high.load(std::memory_order_acquire);
  for (size_t i = 0; i < high; i++) {
    if (g_ranges[i].start.load() != start || g_ranges[i].end.load() == 0) continue;
    if (g_ranges[i].state.load() != kIntact) g_damaged.fetch_sub(1);
    g_ranges[i].end.store(0, std::memory_order_release);
    g_ranges[i].state.store(kNotOurs);
    g_ranges[i].start.store(0, std::memory_order_release);  // free for the next GuardMapping
    g_live.fetch_sub(1);
    return;
  }
}

MappingState StateOf(const void* addr) {
  if (g_damaged.load(std::memory_order_acquire) == 0) {
    // Nothing was ever broken or released: ours or not, the answer for every caller is "usable".
    return kIntact;
  }
  Range* r = Find(reinterpret_cast<uintptr_t>(addr));
  return r == nullptr ? kNotOurs : static_cast<MappingState>(r->state.load());
}

SysResult ReleaseMapping(void* addr) {
  uintptr_t start = reinterpret_cast<uintptr_t>(addr);
  Range* r = Find(start);
  if (r == nullptr || r->start.load() != start) return Fail(EINVAL, "release");
  if (!ZeroPages(start, r->end.load())) return Fail(errno, "mmap");
  int32_t before = r->state.exchange(kReleased);
  if (before == kIntact) g_damaged.fetch_add(1);
  return Ok();
}

uint64_t RepairedFaults() { return g_repaired.load(); }
uint64_t GuardedMappings() { return g_live.load(); }

}  // namespace shmkit
