// Raw V8, kept to this file. Node 20 has no V8 sandbox, so external backing stores are allowed;
// the ABI checks in src/native.ts (NODE_MODULE_VERSION before and after loading) pin the Node
// version these calls were compiled against.
#include "v8_buffer.h"

#include <sys/mman.h>
#include <v8.h>

#include <memory>

#include "platform/bus_guard.h"

namespace shmkit {

napi_value NewMappedSharedArrayBuffer(napi_env env, void* addr, size_t length) {
  (void)env;
  // The deleter runs exactly once, after the last holder is gone, possibly on a non-JS thread.
  // V8 accounts the backing store's length as external memory of the isolate that made it, which
  // is what makes a major GC come sooner when many segments are churned (see docs/segment.md);
  // Segment.close({ unmap: true }) drops the file's pages without waiting for it.
  std::unique_ptr<v8::BackingStore> store = v8::SharedArrayBuffer::NewBackingStore(
      addr, length,
      [](void* data, size_t len, void*) {
        UnguardMapping(data);
        munmap(data, len);  // cannot fail for a range we mapped; nobody could be told anyway
      },
      nullptr);
  v8::Local<v8::SharedArrayBuffer> sab =
      v8::SharedArrayBuffer::New(v8::Isolate::GetCurrent(), std::shared_ptr<v8::BackingStore>(std::move(store)));
  // A napi_value is a v8::Local's slot pointer (v8impl::JsValueFromV8LocalValue in node_api.cc).
  static_assert(sizeof(v8::Local<v8::Value>) == sizeof(napi_value), "napi_value is a v8::Local");
  v8::Local<v8::Value> value = sab;
  return reinterpret_cast<napi_value>(*value);
}

}  // namespace shmkit
