// Segment files for JS: create/open a file, map it MAP_SHARED, and hand JS a real
// SharedArrayBuffer over the mapping (v8_buffer.cc), so Atomics (and the futex waiter) work on it
// across processes. The system calls are in platform/files.cc; this file converts arguments and
// results, and reports a failure as the call that failed with its errno (common.h SyscallError).
//
// The directory is the caller's choice (src/mapping.ts takes full paths): POSIX shared memory on
// Linux is just tmpfs at /dev/shm (what shm_open uses), and a disk directory makes a persistent
// memory-mapped file. Names are validated in TypeScript; here we only refuse to follow symlinks.
#include "files_binding.h"

#include <string>

#include "common.h"
#include "platform/bus_guard.h"
#include "platform/files.h"
#include "v8_buffer.h"

namespace shmkit {

namespace {

std::string PathArg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsString()) throw ArgError(info.Env(), "path must be a string");
  std::string p = info[i].As<Napi::String>().Utf8Value();
  if (p.empty() || p[0] != '/') throw ArgError(info.Env(), "path must be absolute");
  if (p.find('\0') != std::string::npos) throw ArgError(info.Env(), "path must not contain NUL");
  return p;
}

void Check(Napi::Env env, const SysResult& r, const std::string& path) {
  if (!r.ok()) throw SyscallError(env, r.err, r.call, path);
}

// { buffer, size, mapped, uid, gid, mode, dev, ino, created }. `buffer` is null for an empty file
// (a creator between open and posix_fallocate): mmap cannot map 0 bytes, and the caller retries.
// `mapped` is the buffer's length: the file's size, or less when the caller limited the mapping.
Napi::Object Describe(Napi::Env env, const MappedFile& m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("buffer",
        m.addr != nullptr ? Napi::Value(env, NewMappedSharedArrayBuffer(env, m.addr, m.length)) : env.Null());
  o.Set("size", Napi::Number::New(env, static_cast<double>(m.size)));
  o.Set("mapped", Napi::Number::New(env, static_cast<double>(m.length)));
  o.Set("uid", Napi::Number::New(env, m.uid));
  o.Set("gid", Napi::Number::New(env, m.gid));
  o.Set("mode", Napi::Number::New(env, m.mode));
  o.Set("dev", Napi::BigInt::New(env, m.dev));
  o.Set("ino", Napi::BigInt::New(env, m.ino));
  o.Set("created", Napi::Boolean::New(env, m.created));
  return o;
}

// The data pointer and length of a TypedArray argument (a view of a SharedArrayBuffer).
Napi::TypedArray ViewArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (!info[i].IsTypedArray()) throw ArgError(info.Env(), std::string(what) + " needs a typed array view");
  return info[i].As<Napi::TypedArray>();
}

uint8_t* DataOf(const Napi::TypedArray& view) {
  napi_value buffer;
  void* data = nullptr;
  size_t offset = 0;
  napi_status s = napi_get_typedarray_info(view.Env(), view, nullptr, nullptr, &data, &buffer, &offset);
  if (s != napi_ok) throw ArgError(view.Env(), "not a typed array");
  return static_cast<uint8_t*>(data);  // already at the view's byteOffset
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
  MappedFile m;
  Check(env, CreateSegmentFile(path, size, mode, exclusive, &m), path);
  return Describe(env, m);
}

// open(path, mapLimit = 0) -> Describe(...) of an existing file (buffer null while it is empty).
// mapLimit > 0 maps only the first mapLimit bytes (a probe of the header: a planted huge file
// costs no address space).
Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = PathArg(info, 0);
  size_t limit = info.Length() > 1 && !info[1].IsUndefined()
                     ? static_cast<size_t>(IntegerArg(info, 1, "mapLimit", 0, 9007199254740991.0))
                     : 0;
  MappedFile m;
  Check(env, OpenSegmentFile(path, limit, &m), path);
  return Describe(env, m);
}

// unlink(path) -> true when removed, false when it did not exist.
Napi::Value Unlink(const Napi::CallbackInfo& info) {
  std::string path = PathArg(info, 0);
  bool removed = false;
  Check(info.Env(), UnlinkFile(path, &removed), path);
  return Napi::Boolean::New(info.Env(), removed);
}

// flush(view): msync(MS_SYNC) of the pages under a Uint8Array view of a mapping, for durability
// of file-backed segments (tmpfs has no disk behind it, where it is a cheap no-op).
Napi::Value Flush(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw ArgError(env, "flush needs a Uint8Array view of a mapping");
  }
  Napi::Uint8Array view = info[0].As<Napi::Uint8Array>();
  if (MappingState s = StateOf(view.Data()); s == kBroken || s == kReleased) {
    throw SyscallError(env, s == kBroken ? EFAULT : EBADF, "msync", "");
  }
  Check(env, SyncRange(view.Data(), view.ByteLength()), "");
  return env.Undefined();
}

// mappingState(view) -> 0 not ours | 1 intact | 2 broken (its file shrank) | 3 released.
Napi::Value MappingStateOf(const Napi::CallbackInfo& info) {
  Napi::TypedArray view = ViewArg(info, 0, "mappingState");
  return Napi::Number::New(info.Env(), StateOf(DataOf(view)));
}

// release(view): view starts at the start of a mapping; replaces it with zero pages now.
Napi::Value Release(const Napi::CallbackInfo& info) {
  Napi::TypedArray view = ViewArg(info, 0, "release");
  Check(info.Env(), ReleaseMapping(DataOf(view)), "");
  return info.Env().Undefined();
}

// guardStats() -> { mappings, repairedFaults }.
Napi::Value GuardStats(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("mappings", Napi::Number::New(info.Env(), static_cast<double>(GuardedMappings())));
  o.Set("repairedFaults", Napi::Number::New(info.Env(), static_cast<double>(RepairedFaults())));
  return o;
}

}  // namespace shmkit
