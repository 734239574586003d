#pragma once

#include <napi.h>

namespace shmkit {

Napi::Value Create(const Napi::CallbackInfo& info);
Napi::Value Open(const Napi::CallbackInfo& info);
Napi::Value Unlink(const Napi::CallbackInfo& info);
Napi::Value Flush(const Napi::CallbackInfo& info);

}  // namespace shmkit
