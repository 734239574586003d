// Raw V8, kept to this file. Node 20 has no V8 sandbox, so external backing stores are allowed;
// the ABI checks in src/native.ts (NODE_MODULE_VERSION before and after loading) pin the Node
// version these calls were compiled against.
#include "v8_buffer.h"

#include <sys/mman.h>
#include <v8.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "platform/bus_guard.h"

namespace shmkit {

namespace {

// External memory this JS thread's isolate was told about. A mapping's pages are not on V8's
// heap, so V8 would not collect many small SharedArrayBuffers over big, unlinked segments
// before their memory runs out (measured: 1,500 churned 1 MiB segments held 1.4 GiB). Each new
// mapping adds its length (AdjustAmountOfExternalAllocatedMemory, which may start a GC); the
// deleter, which can run on any thread and after the isolate is gone, cannot call the isolate, so
// it adds the length to `freed`, and the next mapping made on this thread subtracts it.
struct Accounting {
  std::atomic<int64_t> freed{0};
};

std::shared_ptr<Accounting>& ThisThread() {
  // One isolate per thread in Node (the main thread, each Worker).
  thread_local std::shared_ptr<Accounting> acc = std::make_shared<Accounting>();
  return acc;
}

struct DeleterData {
  std::shared_ptr<Accounting> acc;
};

}  // namespace

napi_value NewMappedSharedArrayBuffer(napi_env env, void* addr, size_t length) {
  (void)env;
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  std::shared_ptr<Accounting>& acc = ThisThread();
  int64_t freed = acc->freed.exchange(0);
  isolate->AdjustAmountOfExternalAllocatedMemory(static_cast<int64_t>(length) - freed);
  // The deleter runs exactly once, after the last holder is gone, possibly on a non-JS thread.
  // Segment.close({ unmap: true }) drops the file's pages without waiting for it.
  std::unique_ptr<v8::BackingStore> store = v8::SharedArrayBuffer::NewBackingStore(
      addr, length,
      [](void* data, size_t len, void* deleter_data) {
        UnguardMapping(data);
        munmap(data, len);  // cannot fail for a range we mapped; nobody could be told anyway
        auto* d = static_cast<DeleterData*>(deleter_data);
        d->acc->freed.fetch_add(static_cast<int64_t>(len));
        delete d;
      },
      new DeleterData{acc});
  v8::Local<v8::SharedArrayBuffer> sab =
      v8::SharedArrayBuffer::New(isolate, std::shared_ptr<v8::BackingStore>(std::move(store)));
  // A napi_value is a v8::Local's slot pointer (v8impl::JsValueFromV8LocalValue in node_api.cc).
  static_assert(sizeof(v8::Local<v8::Value>) == sizeof(napi_value), "napi_value is a v8::Local");
  v8::Local<v8::Value> value = sab;
  return reinterpret_cast<napi_value>(*value);
}

}  // namespace shmkit
