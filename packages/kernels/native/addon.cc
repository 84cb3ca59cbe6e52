// Module entry: registers every kernel group on the exports object.
#include "common.h"

namespace rlhf {
void registerGemm(Napi::Env env, Napi::Object exports);
void registerElementwise(Napi::Env env, Napi::Object exports);
void registerReduce(Napi::Env env, Napi::Object exports);
void registerSoftmax(Napi::Env env, Napi::Object exports);
void registerLayout(Napi::Env env, Napi::Object exports);
void registerGather(Napi::Env env, Napi::Object exports);
void registerFused(Napi::Env env, Napi::Object exports);
void registerDecode(Napi::Env env, Napi::Object exports);

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  registerGemm(env, exports);
  registerElementwise(env, exports);
  registerReduce(env, exports);
  registerSoftmax(env, exports);
  registerLayout(env, exports);
  registerGather(env, exports);
  registerFused(env, exports);
  registerDecode(env, exports);
  return exports;
}
}  // namespace rlhf

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return rlhf::Init(env, exports); }

NODE_API_MODULE(rlhf_kernels, InitAddon)
