// Segment files, as plain system calls: no Node, no V8. Every function returns a SysResult that
// names the call that failed and its errno, so the binding (files_binding.cc) reports exactly that
// call and src/mapping.ts maps the errno with that call's own table (ENOMEM after mmap is not
// ENOMEM after msync).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace shmkit {

// The outcome of a platform call: err 0 on success, else the errno of `call`.
struct SysResult {
  int err = 0;
  const char* call = "";
  bool ok() const { return err == 0; }
};

inline SysResult Ok() { return SysResult{}; }
inline SysResult Fail(int err, const char* call) { return SysResult{err, call}; }

// A segment file mapped MAP_SHARED, with what fstat said about it.
struct MappedFile {
  void* addr = nullptr;  // null when nothing was mapped (an empty file)
  size_t length = 0;     // bytes mapped: the file's size, or less when the caller limited it
  uint64_t size = 0;     // the file's size
  uint32_t uid = 0, gid = 0, mode = 0;
  uint64_t dev = 0, ino = 0;
  bool created = false;
};

// Creates `path` (O_CREAT|O_EXCL|O_NOFOLLOW, exactly `mode`), reserves `size` bytes and maps them.
// Not exclusive: an existing file is opened instead (created false), as OpenSegmentFile.
SysResult CreateSegmentFile(const std::string& path, size_t size, mode_t mode, bool exclusive, MappedFile* out);

// Opens an existing regular file (O_NOFOLLOW) and maps its first min(size, map_limit) bytes
// (map_limit 0: all of it). A file that is not regular is EINVAL from the pseudo-call "S_ISREG".
SysResult OpenSegmentFile(const std::string& path, size_t map_limit, MappedFile* out);

// unlink(2); *removed false when the file did not exist.
SysResult UnlinkFile(const std::string& path, bool* removed);

// msync(MS_SYNC) of the pages under [addr, addr + length).
SysResult SyncRange(const void* addr, size_t length);

}  // namespace shmkit
