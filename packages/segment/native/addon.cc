// The native addon of @shmkit/segment, in three layers:
//   platform/      plain system calls returning errno: segment files (files.cc), futexes
//                  (futex.cc), the SIGBUS guard (bus_guard.cc). No Node, no V8.
//   *_binding.cc,  Node-API (node-addon-api): argument checks, results, errors naming the failed
//   addon.cc,      call and its errno; async waits on dedicated threads (async_wait.cc).
//   async_wait.cc
//   v8_buffer.cc   the one file with raw V8 calls: a SharedArrayBuffer over a mapping, which
//                  Node-API cannot create.
//
// Exports (wrapped by src/native.ts, src/mapping.ts and src/futex-waiter.ts):
//   abi                                  NODE_MODULE_VERSION of the headers it was compiled with
//                                        (binding.gyp passes it: node_version.h would redefine
//                                        NAPI_VERSION)
//   futexWaitv                           whether async waits use futex_waitv (else the fallback)
//   create(path, size, mode, exclusive)  -> { buffer, size, mapped, uid, gid, mode, dev, ino, created }
//   open(path, mapLimit?)                -> the same (buffer null while the file is empty)
//   unlink(path) -> boolean; flush(u8)
//   mappingState(view) -> 0 not ours | 1 intact | 2 broken | 3 released; release(view)
//   guardStats() -> { mappings, repairedFaults }
//   wait(i32, index, expected, ms) -> 0 ok | 1 not-equal | 2 timed-out | 3 gone (file shrank)
//                                     | 4 released                        (blocks this thread)
//   wake(i32, index, count) -> number woken
//   setWaitHandler(fn(id, code)); waitAsync(i32, index, expected, ms) -> id; cancelWait(id) -> bool
//   pendingWaits() -> number; errnoName(code) -> "ENOSPC"
#include <climits>

#include "async_wait.h"
#include "common.h"
#include "files_binding.h"
#include "platform/bus_guard.h"
#include "platform/futex.h"

namespace shmkit {
namespace {

int32_t ExpectedArg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) throw ArgError(info.Env(), "expected must be a number");
  // ToInt32, as Atomics.wait does: 0xC0000001 and -1073741823 name the same word value.
  return info[i].As<Napi::Number>().Int32Value();
}

double TimeoutArg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) throw ArgError(info.Env(), "timeout must be a number of milliseconds");
  return info[i].As<Napi::Number>().DoubleValue();
}

// Blocks the calling JS thread, like Atomics.wait. The waited-on array stays referenced by this
// call's handle scope, so its memory stays mapped while we sleep.
Napi::Value Wait(const Napi::CallbackInfo& info) {
  int32_t* word = WordArg(info, 0, 1);
  int32_t expected = ExpectedArg(info, 2);
  Deadline deadline = DeadlineAfterMs(TimeoutArg(info, 3));
  // A word whose page no longer comes from the segment file (a peer truncated it, or this
  // process released the mapping): nobody can wake it, so say so instead of sleeping.
  if (int32_t gone = GoneCode(word); gone != kOk) return Napi::Number::New(info.Env(), gone);
  int r = FutexWaitUntil(word, expected, deadline, kBlockingBitset);
  if (r < 0) throw SyscallError(info.Env(), -r, "futex");
  if (r == kTimedOut || r == kOk) {
    if (int32_t gone = GoneCode(word); gone != kOk) r = gone;  // it broke while we slept
  }
  return Napi::Number::New(info.Env(), r);
}

Napi::Value Wake(const Napi::CallbackInfo& info) {
  int32_t* word = WordArg(info, 0, 1);
  int count = static_cast<int>(IntegerArg(info, 2, "count", 0, INT_MAX));
  int r = FutexWake(word, count);
  if (r < 0) throw SyscallError(info.Env(), -r, "futex");
  return Napi::Number::New(info.Env(), r);
}

Napi::Value ErrnoNameOf(const Napi::CallbackInfo& info) {
  int code = static_cast<int>(IntegerArg(info, 0, "code", INT_MIN + 1, INT_MAX));
  return Napi::String::New(info.Env(), ErrnoName(code < 0 ? -code : code));
}

class SegmentAddon : public Napi::Addon<SegmentAddon> {
 public:
  SegmentAddon(Napi::Env env, Napi::Object exports) {
    // Before the first mapping: from here on a peer shrinking a segment file cannot kill us.
    SysResult guard = InstallBusGuard();
    if (!guard.ok()) throw SyscallError(env, guard.err, guard.call);
    DefineAddon(exports, {
                             InstanceMethod("setWaitHandler", &SegmentAddon::SetWaitHandler),
                             InstanceMethod("waitAsync", &SegmentAddon::WaitAsync),
                             InstanceMethod("cancelWait", &SegmentAddon::CancelWait),
                             InstanceMethod("pendingWaits", &SegmentAddon::PendingWaits),
                         });
    exports.Set("abi", Napi::Number::New(env, SHMKIT_NODE_MODULE_VERSION));
    exports.Set("futexWaitv", Napi::Boolean::New(env, FutexWaitvUsable()));
    exports.Set("create", Napi::Function::New(env, Create, "create"));
    exports.Set("open", Napi::Function::New(env, Open, "open"));
    exports.Set("unlink", Napi::Function::New(env, Unlink, "unlink"));
    exports.Set("flush", Napi::Function::New(env, Flush, "flush"));
    exports.Set("mappingState", Napi::Function::New(env, MappingStateOf, "mappingState"));
    exports.Set("release", Napi::Function::New(env, Release, "release"));
    exports.Set("guardStats", Napi::Function::New(env, GuardStats, "guardStats"));
    exports.Set("wait", Napi::Function::New(env, Wait, "wait"));
    exports.Set("wake", Napi::Function::New(env, Wake, "wake"));
    exports.Set("errnoName", Napi::Function::New(env, ErrnoNameOf, "errnoName"));
  }

 private:
  Napi::Value SetWaitHandler(const Napi::CallbackInfo& info) {
    if (!info[0].IsFunction()) throw ArgError(info.Env(), "setWaitHandler needs a function");
    waits_.SetHandler(info.Env(), info[0]);
    // Registered after the thread-safe function, so it runs before Node's own clean-up of it
    // (environment clean-up hooks run last-in, first-out): waiter threads stop using the
    // function before Node deletes it.
    info.Env().AddCleanupHook([this] { waits_.Teardown(); });
    return info.Env().Undefined();
  }

  Napi::Value WaitAsync(const Napi::CallbackInfo& info) {
    int32_t* word = WordArg(info, 0, 1);
    uint32_t id = waits_.Start(info.Env(), info[0], word, ExpectedArg(info, 2), TimeoutArg(info, 3));
    return Napi::Number::New(info.Env(), id);
  }

  Napi::Value CancelWait(const Napi::CallbackInfo& info) {
    uint32_t id = static_cast<uint32_t>(IntegerArg(info, 0, "id", 0, 4294967295.0));
    return Napi::Boolean::New(info.Env(), waits_.Cancel(info.Env(), id));
  }

  Napi::Value PendingWaits(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), waits_.Live()); }

  AsyncWaits waits_;
};

}  // namespace
}  // namespace shmkit

using shmkit::SegmentAddon;
NODE_API_ADDON(SegmentAddon)
