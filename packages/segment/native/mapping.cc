// Segment files: create/open a file, map it MAP_SHARED, and hand JS a real SharedArrayBuffer over
// the mapping, so Atomics (and the futex waiter) work on it across processes.
//
// The directory is the caller's choice (src/mapping.ts takes full paths): POSIX shared memory on
// Linux is just tmpfs at /dev/shm (what shm_open uses), and a disk directory makes a persistent
// memory-mapped file. Names are validated in TypeScript; here we only refuse to follow symlinks.
#include "mapping.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <v8.h>

#include <climits>
#include <memory>
#include <string>

#include "common.h"

namespace shmkit {

namespace {

// A file descriptor closed on every path out of a function.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);  // nothing useful to do on failure: the mapping does not need the fd
  }
};

std::string PathArg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsString()) throw ArgError(info.Env(), "path must be a string");
  std::string p = info[i].As<Napi::String>().Utf8Value();
  if (p.empty() || p[0] != '/') throw ArgError(info.Env(), "path must be absolute");
  if (p.find('\0') != std::string::npos) throw ArgError(info.Env(), "path must not contain NUL");
  return p;
}

// The one raw-V8 step: Node-API cannot create a SharedArrayBuffer over foreign memory. V8 owns the
// mapping from here on; the deleter runs exactly once, after the last SharedArrayBuffer using this
// backing store (in any thread of this process it was posted to) is collected, possibly on a
// non-JS thread. Node 20 has no V8 sandbox, so external backing stores are allowed.
napi_value WrapMapping(Napi::Env env, void* addr, size_t size) {
  std::unique_ptr<v8::BackingStore> store = v8::SharedArrayBuffer::NewBackingStore(
      addr, size,
      [](void* data, size_t length, void*) {
        munmap(data, length);  // cannot fail for a range we mapped; nobody could be told anyway
      },
      nullptr);
  v8::Local<v8::SharedArrayBuffer> sab =
      v8::SharedArrayBuffer::New(v8::Isolate::GetCurrent(), std::shared_ptr<v8::BackingStore>(std::move(store)));
  // A napi_value is a v8::Local's slot pointer (v8impl::JsValueFromV8LocalValue in node_api.cc);
  // the ABI check in src/native.ts pins the Node version this relies on.
  static_assert(sizeof(v8::Local<v8::Value>) == sizeof(napi_value), "napi_value is a v8::Local");
  v8::Local<v8::Value> value = sab;
  (void)env;
  return reinterpret_cast<napi_value>(*value);
}

// { buffer, size, uid, gid, mode, dev, ino, created }. `buffer` is null for an empty file (a
// creator between open and posix_fallocate): mmap cannot map 0 bytes, and the caller retries.
Napi::Object Describe(Napi::Env env, const struct stat& st, void* addr, size_t size, bool created) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("buffer", addr != nullptr ? Napi::Value(env, WrapMapping(env, addr, size)) : env.Null());
  o.Set("size", Napi::Number::New(env, static_cast<double>(st.st_size)));
  o.Set("uid", Napi::Number::New(env, st.st_uid));
  o.Set("gid", Napi::Number::New(env, st.st_gid));
  o.Set("mode", Napi::Number::New(env, st.st_mode & 07777));
  o.Set("dev", Napi::BigInt::New(env, static_cast<uint64_t>(st.st_dev)));
  o.Set("ino", Napi::BigInt::New(env, static_cast<uint64_t>(st.st_ino)));
  o.Set("created", Napi::Boolean::New(env, created));
  return o;
}

void* MapShared(Napi::Env env, int fd, size_t size, const std::string& path) {
  void* addr = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (addr == MAP_FAILED) throw SyscallError(env, errno, "mmap", path);
  return addr;
}

// Opens an existing segment file: O_NOFOLLOW so a symlink planted in a shared directory cannot
// redirect us; a regular file only (a FIFO or device in /dev/shm is not a segment).
Napi::Object OpenExisting(Napi::Env env, const std::string& path) {
  Fd f;
  f.fd = open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (f.fd < 0) throw SyscallError(env, errno, "open", path);
  struct stat st {};
  if (fstat(f.fd, &st) != 0) throw SyscallError(env, errno, "fstat", path);
  if (!S_ISREG(st.st_mode)) throw SyscallError(env, EINVAL, "open (not a regular file)", path);
  if (st.st_size == 0) return Describe(env, st, nullptr, 0, false);
  size_t size = static_cast<size_t>(st.st_size);
  void* addr = MapShared(env, f.fd, size, path);
  return Describe(env, st, addr, size, false);
}

// Removes the file we created after a later step failed, unless it was replaced meanwhile.
void RemoveCreated(const std::string& path, const struct stat& ours) {
  struct stat now {};
  if (lstat(path.c_str(), &now) == 0 && now.st_dev == ours.st_dev && now.st_ino == ours.st_ino) {
    unlink(path.c_str());  // best effort: the original error is the one to report
  }
}

}  // namespace

// create(path, size, mode, exclusive) -> Describe(...). Exclusive: EEXIST when the file exists.
// Not exclusive: an existing file is opened as it is (created: false) and the caller checks it.
Napi::Value Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = PathArg(info, 0);
  // 2^53 - 1: the largest exact JS integer (and far above any tmpfs).
  size_t size = static_cast<size_t>(IntegerArg(info, 1, "size", 1, 9007199254740991.0));
  mode_t mode = static_cast<mode_t>(IntegerArg(info, 2, "mode", 0, 0777));
  if (!info[3].IsBoolean()) throw ArgError(env, "exclusive must be a boolean");
  bool exclusive = info[3].As<Napi::Boolean>().Value();

  for (int attempt = 0;; attempt++) {
    Fd f;
    f.fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (f.fd < 0) {
      int err = errno;
      // Get-or-create: open the existing file. If it vanished in between (unlinked by another
      // process), try creating again; a few rounds settle any such race.
      if (err == EEXIST && !exclusive) {
        try {
          return OpenExisting(env, path);
        } catch (const Napi::Error& e) {
          if (attempt < 8 && e.Get("code").ToString().Utf8Value() == "ENOENT") continue;
          throw;
        }
      }
      throw SyscallError(env, err, "open", path);
    }
    struct stat st {};
    if (fstat(f.fd, &st) != 0) {
      int err = errno;
      unlink(path.c_str());
      throw SyscallError(env, err, "fstat", path);
    }
    try {
      // open() applied the umask; the caller asked for exactly `mode` (0600 by default).
      if (fchmod(f.fd, mode) != 0) throw SyscallError(env, errno, "fchmod", path);
      // Reserve every page now: tmpfs allocates lazily, and a store into a page that cannot be
      // allocated later kills the process with SIGBUS. posix_fallocate makes a full /dev/shm an
      // ENOSPC here, at create time. (It returns the error number instead of setting errno.)
      int err = posix_fallocate(f.fd, 0, static_cast<off_t>(size));
      if (err != 0) throw SyscallError(env, err, "posix_fallocate", path);
      // posix_fallocate already extended the new file to `size`; ftruncate pins the exact size
      // even where it was emulated.
      if (ftruncate(f.fd, static_cast<off_t>(size)) != 0) throw SyscallError(env, errno, "ftruncate", path);
      if (fstat(f.fd, &st) != 0) throw SyscallError(env, errno, "fstat", path);
      void* addr = MapShared(env, f.fd, size, path);
      return Describe(env, st, addr, size, true);
    } catch (...) {
      RemoveCreated(path, st);
      throw;
    }
  }
}

// open(path) -> Describe(...) of an existing file (buffer null when it is still empty).
Napi::Value Open(const Napi::CallbackInfo& info) { return OpenExisting(info.Env(), PathArg(info, 0)); }

// unlink(path) -> true when removed, false when it did not exist.
Napi::Value Unlink(const Napi::CallbackInfo& info) {
  std::string path = PathArg(info, 0);
  if (unlink(path.c_str()) == 0) return Napi::Boolean::New(info.Env(), true);
  if (errno == ENOENT) return Napi::Boolean::New(info.Env(), false);
  throw SyscallError(info.Env(), errno, "unlink", path);
}

// flush(view): msync(MS_SYNC) of the pages under a Uint8Array view of a mapping, for durability
// of file-backed segments (tmpfs has no disk behind it, where it is a cheap no-op).
Napi::Value Flush(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw ArgError(env, "flush needs a Uint8Array view of a mapping");
  }
  Napi::Uint8Array view = info[0].As<Napi::Uint8Array>();
  if (view.ByteLength() == 0) return env.Undefined();
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  uintptr_t start = reinterpret_cast<uintptr_t>(view.Data()) & ~(page - 1);
  uintptr_t end = reinterpret_cast<uintptr_t>(view.Data()) + view.ByteLength();
  if (msync(reinterpret_cast<void*>(start), end - start, MS_SYNC) != 0) throw SyscallError(env, errno, "msync");
  return env.Undefined();
}

}  // namespace shmkit
