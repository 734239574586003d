// Shared helpers of the Node-API bindings: errors that name the failing system call and its errno, and
// argument validation. Every system call's result is checked; a failure becomes a JS Error whose
// `code` is the errno name ("ENOSPC"), `syscall` the call and `path` the file, which
// src/mapping.ts turns into a ShmkitError.
#pragma once

#include <napi.h>
#include <uv.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "platform/bus_guard.h"
#include "platform/futex.h"

namespace shmkit {

// "ENOSPC". libuv's UV_E* codes are the negated errno values on Unix, so its name table covers
// every errno Node itself reports, in the same spelling as Node's own fs errors.
inline const char* ErrnoName(int err) { return uv_err_name(-err); }

// An Error for a failed system call: "posix_fallocate /dev/shm/x: ENOSPC (No space left on device)".
inline Napi::Error SyscallError(Napi::Env env, int err, const char* syscall, const std::string& path = "") {
  std::string msg = std::string(syscall);
  if (!path.empty()) msg += " " + path;
  msg += std::string(": ") + ErrnoName(err) + " (" + std::strerror(err) + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, ErrnoName(err)));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) e.Set("path", Napi::String::New(env, path));
  return e;
}

inline Napi::TypeError ArgError(Napi::Env env, const std::string& msg) {
  Napi::TypeError e = Napi::TypeError::New(env, msg);
  e.Set("code", Napi::String::New(env, "EINVAL"));
  return e;
}

// kGone when the mapping under `word` was broken (its file shrank), kReleased when this process
// released it (kWaitReleased), else kOk.
inline int32_t GoneCode(const void* word) {
  MappingState s = StateOf(word);
  if (s == kBroken) return kGone;
  return s == kReleased ? kWaitReleased : kOk;
}

// A finite integral JS number in [lo, hi], or a TypeError naming the argument.
inline double IntegerArg(const Napi::CallbackInfo& info, size_t i, const char* name, double lo, double hi) {
  if (!info[i].IsNumber()) throw ArgError(info.Env(), std::string(name) + " must be a number");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= lo && v <= hi) || v != static_cast<double>(static_cast<int64_t>(v))) {
    throw ArgError(info.Env(), std::string(name) + " must be an integer in [" + std::to_string(int64_t(lo)) +
                                   ", " + std::to_string(int64_t(hi)) + "]");
  }
  return v;
}

// The address of word `index` of an Int32Array argument, after checking the type, the bounds and
// 4-byte alignment (the futex syscalls fail with EINVAL on a misaligned word; Int32Array offsets
// are multiples of 4 and mappings page-aligned, so this only guards against a broken caller).
inline int32_t* WordArg(const Napi::CallbackInfo& info, size_t array_i, size_t index_i) {
  Napi::Env env = info.Env();
  if (!info[array_i].IsTypedArray()) throw ArgError(env, "expected an Int32Array");
  Napi::Int32Array a = info[array_i].As<Napi::Int32Array>();  // one napi_get_typedarray_info call
  if (a.TypedArrayType() != napi_int32_array) throw ArgError(env, "expected an Int32Array");
  double index = IntegerArg(info, index_i, "index", 0, 4294967295.0);
  if (index >= static_cast<double>(a.ElementLength())) {
    throw ArgError(env, "index " + std::to_string(int64_t(index)) + " is outside an Int32Array of length " +
                            std::to_string(a.ElementLength()));
  }
  int32_t* p = a.Data() + static_cast<size_t>(index);
  if (p == nullptr || reinterpret_cast<uintptr_t>(p) % 4 != 0) throw ArgError(env, "the word is not 4-byte aligned");
  return p;
}

}  // namespace shmkit
