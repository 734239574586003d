// Node-API bindings of the segment-file calls (platform/files.h) and of the SIGBUS guard
// (platform/bus_guard.h).
#pragma once

#include <napi.h>

namespace shmkit {

Napi::Value Create(const Napi::CallbackInfo& info);
Napi::Value Open(const Napi::CallbackInfo& info);
Napi::Value Unlink(const Napi::CallbackInfo& info);
Napi::Value Flush(const Napi::CallbackInfo& info);
Napi::Value MappingStateOf(const Napi::CallbackInfo& info);
Napi::Value Release(const Napi::CallbackInfo& info);
Napi::Value GuardStats(const Napi::CallbackInfo& info);

}  // namespace shmkit
