#include "files.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "bus_guard.h"

namespace shmkit {

namespace {

// A file descriptor closed on every path out of a function: the mapping does not need it.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);  // nothing useful to do on failure
  }
};

void Fill(MappedFile* out, const struct stat& st) {
  out->size = static_cast<uint64_t>(st.st_size);
  out->uid = st.st_uid;
  out->gid = st.st_gid;
  out->mode = st.st_mode & 07777;
  out->dev = static_cast<uint64_t>(st.st_dev);
  out->ino = static_cast<uint64_t>(st.st_ino);
}

// Maps `length` bytes of `fd` and puts the range under the SIGBUS guard (bus_guard.h), so that a
// peer truncating the file cannot kill this process.
SysResult Map(int fd, size_t length, MappedFile* out) {
  void* addr = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (addr == MAP_FAILED) return Fail(errno, "mmap");
  GuardMapping(addr, length);
  out->addr = addr;
  out->length = length;
  return Ok();
}

SysResult OpenFd(const std::string& path, size_t map_limit, int fd, MappedFile* out) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return Fail(errno, "fstat");
  // A FIFO, socket, directory or device planted under a segment's name is not a segment.
  if (!S_ISREG(st.st_mode)) return Fail(EINVAL, "S_ISREG");
  Fill(out, st);
  out->created = false;
  if (st.st_size == 0) return Ok();  // a creator between open and posix_fallocate: the caller retries
  size_t size = static_cast<size_t>(st.st_size);
  (void)path;
  return Map(fd, map_limit > 0 && map_limit < size ? map_limit : size, out);
}

// Removes the file we created after a later step failed, unless it was replaced meanwhile.
void RemoveCreated(const std::string& path, const struct stat& ours) {
  struct stat now {};
  if (lstat(path.c_str(), &now) == 0 && now.st_dev == ours.st_dev && now.st_ino == ours.st_ino) {
    unlink(path.c_str());  // best effort: the original error is the one to report
  }
}

}  // namespace

SysResult OpenSegmentFile(const std::string& path, size_t map_limit, MappedFile* out) {
  Fd f;
  // O_NONBLOCK: opening a FIFO or device must not block; it is refused just after.
  f.fd = open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (f.fd < 0) return Fail(errno, "open");
  return OpenFd(path, map_limit, f.fd, out);
}

SysResult CreateSegmentFile(const std::string& path, size_t size, mode_t mode, bool exclusive, MappedFile* out) {
  for (int attempt = 0;; attempt++) {
    Fd f;
    f.fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (f.fd < 0) {
      int err = errno;
      // Get-or-create: open the existing file. If it vanished in between (unlinked by another
      // process), try creating again; a few rounds settle any such race.
      if (err == EEXIST && !exclusive) {
        SysResult r = OpenSegmentFile(path, 0, out);
        if (r.err == ENOENT && attempt < 8) continue;
        return r;
      }
      return Fail(err, "open");
    }
    struct stat st {};
    if (fstat(f.fd, &st) != 0) {
      int err = errno;
      unlink(path.c_str());
      return Fail(err, "fstat");
    }
    SysResult r = [&]() -> SysResult {
      // open() applied the umask; the caller asked for exactly `mode` (0600 by default).
      if (fchmod(f.fd, mode) != 0) return Fail(errno, "fchmod");
      // Reserve every page now: tmpfs allocates lazily, and a store into a page that cannot be
      // allocated later kills the process with SIGBUS. posix_fallocate makes a full /dev/shm an
      // ENOSPC here, at create time. (It returns the error number instead of setting errno.)
      int err = posix_fallocate(f.fd, 0, static_cast<off_t>(size));
      if (err != 0) return Fail(err, "posix_fallocate");
      // posix_fallocate already extended the new file to `size`; ftruncate pins the exact size
      // even where it was emulated.
      if (ftruncate(f.fd, static_cast<off_t>(size)) != 0) return Fail(errno, "ftruncate");
      if (fstat(f.fd, &st) != 0) return Fail(errno, "fstat");
      Fill(out, st);
      out->created = true;
      return Map(f.fd, size, out);
    }();
    if (!r.ok()) RemoveCreated(path, st);
    return r;
  }
}

SysResult UnlinkFile(const std::string& path, bool* removed) {
  *removed = false;
  if (unlink(path.c_str()) == 0) {
    *removed = true;
    return Ok();
  }
  if (errno == ENOENT) return Ok();
  return Fail(errno, "unlink");
}

SysResult SyncRange(const void* addr, size_t length) {
  if (length == 0) return Ok();
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  uintptr_t start = reinterpret_cast<uintptr_t>(addr) & ~(page - 1);
  uintptr_t end = reinterpret_cast<uintptr_t>(addr) + length;
  if (msync(reinterpret_cast<void*>(start), end - start, MS_SYNC) != 0) return Fail(errno, "msync");
  return Ok();
}

}  // namespace shmkit
