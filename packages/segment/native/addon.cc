// The native addon of @shmkit/segment. Node-API through node-addon-api, except the few raw V8
// calls that create a SharedArrayBuffer over a mapping (mapping.cc): Node-API cannot do that.
//
// Exports (wrapped by src/native.ts, src/mapping.ts and src/futex-waiter.ts):
//   abi                                  NODE_MODULE_VERSION of the headers it was compiled with
//                                        (binding.gyp passes it: node_version.h would redefine
//                                        NAPI_VERSION)
//   futexWaitv                           whether async waits use futex_waitv (else the fallback)
//   create(path, size, mode, exclusive)  -> { buffer, size, uid, gid, mode, dev, ino, created }
//   open(path)                           -> the same (buffer null while the file is empty)
//   unlink(path) -> boolean; flush(u8)
//   wait(i32, index, expected, ms) -> 0 ok | 1 not-equal | 2 timed-out    (blocks this thread)
//   wake(i32, index, count) -> number woken
//   setWaitHandler(fn(id, code)); waitAsync(i32, index, expected, ms) -> id; cancelWait(id) -> bool
//   pendingWaits() -> number; errnoName(code) -> "ENOSPC"
#include <climits>

#include "async_wait.h"
#include "common.h"
#include "futex.h"
#include "mapping.h"

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
  int r = FutexWaitUntil(word, expected, deadline, kBlockingBitset);
  if (r < 0) throw SyscallError(info.Env(), -r, "futex(FUTEX_WAIT_BITSET)");
  return Napi::Number::New(info.Env(), r);
}

Napi::Value Wake(const Napi::CallbackInfo& info) {
  int32_t* word = WordArg(info, 0, 1);
  int count = static_cast<int>(IntegerArg(info, 2, "count", 0, INT_MAX));
  int r = FutexWake(word, count);
  if (r < 0) throw SyscallError(info.Env(), -r, "futex(FUTEX_WAKE)");
  return Napi::Number::New(info.Env(), r);
}

Napi::Value ErrnoNameOf(const Napi::CallbackInfo& info) {
  int code = static_cast<int>(IntegerArg(info, 0, "code", INT_MIN + 1, INT_MAX));
  return Napi::String::New(info.Env(), ErrnoName(code < 0 ? -code : code));
}

class SegmentAddon : public Napi::Addon<SegmentAddon> {
 public:
  SegmentAddon(Napi::Env env, Napi::Object exports) {
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
