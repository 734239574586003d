// The one place with raw V8 calls (everything else in the addon is Node-API): a
// SharedArrayBuffer over memory the addon mapped. Node-API has no call that creates one.
#pragma once

#include <node_api.h>

#include <cstddef>

namespace shmkit {

// A SharedArrayBuffer over [addr, addr + length), which V8 then owns: when the last
// SharedArrayBuffer over it (in any thread of this process it was posted to) is collected, the
// mapping is taken off the SIGBUS guard and unmapped.
napi_value NewMappedSharedArrayBuffer(napi_env env, void* addr, size_t length);

}  // namespace shmkit
