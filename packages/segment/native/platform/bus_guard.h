// The SIGBUS guard: a process that maps a segment survives another process truncating its file.
//
// A store or load in a MAP_SHARED page past the end of its file raises SIGBUS, whose default
// action kills the process. Any process with write access to a segment file can ftruncate it, so
// without a guard one hostile or buggy peer kills every process that has the segment mapped.
//
// The guard: every mapping the addon makes is recorded in a fixed, lock-free table. A SIGBUS
// handler (installed once per process, chained to whatever handler was there before) looks the
// faulting address up; inside one of our mappings it maps anonymous zero pages over the lost part
// (from the faulting page to the end of the mapping, MAP_FIXED), marks the mapping broken and
// returns, so the faulting instruction runs again on the zero page. The process keeps running on
// memory no other process sees; operations that can tell (waits, every Segment method) then fail
// with CORRUPT. A fault outside our mappings goes to the previous handler, or kills the process as
// before.
//
// Why not memfd + F_SEAL_SHRINK: seals exist only for memfd files created with MFD_ALLOW_SEALING,
// which have no name in /dev/shm or a disk directory; a segment must be opened by name, and a file
// opened by name cannot be sealed (tmpfs files opened with open(2) carry F_SEAL_SEAL).
//
// The same replacement serves an explicit unmap (ReleaseMapping): the file's pages are dropped at
// once (unlinked shm is freed without waiting for V8 to collect the SharedArrayBuffer), and views
// that are still alive read zeros instead of faulting.
//
// Everything the handler touches is a lock-free atomic or a system call (mmap, sigaction), as a
// signal handler requires.
#pragma once

#include <cstddef>
#include <cstdint>

#include "files.h"

namespace shmkit {

// What became of the mapping around an address.
enum MappingState : int32_t {
  kNotOurs = 0,   // not a mapping the addon made (heap memory), or the table was full
  kIntact = 1,    // mapped from its file
  kBroken = 2,    // the file shrank under it; the lost part reads zeros
  kReleased = 3,  // ReleaseMapping replaced it with zero pages
};

// Installs the SIGBUS handler (once per process; later calls return the first result).
SysResult InstallBusGuard();
// Records [addr, addr + length) as a guarded mapping. When the table is full the mapping works
// but is not guarded (GuardedMappings() stops growing; the table holds 65,536 live mappings).
void GuardMapping(void* addr, size_t length);
// Forgets the mapping that starts at `addr` (before it is unmapped).
void UnguardMapping(void* addr);
// The state of the mapping that holds `addr`.
MappingState StateOf(const void* addr);
// Replaces the whole mapping that starts at `addr` with private zero pages, dropping the file's
// pages now; it stays reserved until UnguardMapping + munmap. EINVAL when `addr` is not the start
// of a guarded mapping.
SysResult ReleaseMapping(void* addr);
// Faults the handler repaired, since the process started.
uint64_t RepairedFaults();
// Live guarded mappings.
uint64_t GuardedMappings();

}  // namespace shmkit
