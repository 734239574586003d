// Asynchronous futex waits: each pending wait sleeps in the kernel on a dedicated waiter thread of
// this addon, and its result comes back to the JS thread through a thread-safe function.
//
// Why dedicated threads and not the libuv thread pool (napi_async_work): a pool thread blocked in
// FUTEX_WAIT is taken from fs, dns, zlib and crypto; with the default four threads, four pending
// lockAsync() calls stall every fs call of the process for as long as the locks are held
// (measured: seconds). Waiter threads are started on demand, one per pending wait, and kept idle a
// few seconds for reuse; they run with every signal blocked and a small stack.
#pragma once

#include <node_api.h>

#include <cstdint>
#include <memory>
#include <unordered_map>

namespace shmkit {

struct Job;
struct Mailbox;

// The async waits of one addon instance, i.e. of one JS thread (main thread or a Worker).
// Every method runs on that JS thread.
class AsyncWaits {
 public:
  AsyncWaits();
  AsyncWaits(const AsyncWaits&) = delete;
  AsyncWaits& operator=(const AsyncWaits&) = delete;

  // Installs the JS function that receives (id, code) when a wait settles. Once per instance.
  void SetHandler(napi_env env, napi_value handler);
  // Starts waiting on `addr` (a word of `array`, which is kept alive meanwhile) while it holds
  // `expected`, for `timeout_ms` (NaN/Infinity: no limit). Returns the wait's id; throws on error.
  uint32_t Start(napi_env env, napi_value array, int32_t* addr, int32_t expected, double timeout_ms);
  // Abandons a pending wait: it will not be reported, and its thread stops waiting promptly.
  // Returns false when the wait is unknown or already reported.
  bool Cancel(napi_env env, uint32_t id);
  // Waits started and neither reported nor cancelled (these keep the event loop alive).
  uint32_t Live() const { return live_; }
  // Environment teardown (a Worker exits, or the process): cancel everything, stop reporting.
  void Teardown();

 private:
  static void CallJs(napi_env env, napi_value handler, void* context, void* data);
  void LiveDone(napi_env env);

  std::shared_ptr<Mailbox> mailbox_;
  napi_async_context async_context_ = nullptr;
  std::unordered_map<uint32_t, Job*> jobs_;  // started and not yet reported back to this thread
  uint32_t next_id_ = 1;
  uint32_t live_ = 0;
};

}  // namespace shmkit
