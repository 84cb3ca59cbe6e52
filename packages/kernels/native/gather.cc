// Index kernels: gather (embedding lookup), its gradient (segment sum), one-hot.
#include <vector>

#include "common.h"

namespace rlhf {
namespace {

// gather(x, indices: Int32Array, out, outer, dimSize, inner, nIdx)
// out[o, i, :] = x[o, indices[i], :]. Returns -1, or the position of the first
// index outside [0, dimSize) (nothing is written then).
Napi::Value Gather(const Napi::CallbackInfo& info) {
  const int64_t outer = num(info, 3), dim = num(info, 4), inner = num(info, 5), nIdx = num(info, 6);
  const int32_t* idx = i32(info, 1, nIdx);
  for (int64_t i = 0; i < nIdx; i++) {
    if (idx[i] < 0 || idx[i] >= dim) return Napi::Number::New(info.Env(), static_cast<double>(i));
  }
  const size_t es = raw(info, 0).elemSize();
  const uint8_t* x = static_cast<const uint8_t*>(bytes(info, 0, outer * dim * inner * es, es));
  uint8_t* o = static_cast<uint8_t*>(bytes(info, 2, outer * nIdx * inner * es, es));
  const int64_t row = inner * static_cast<int64_t>(es);
  for (int64_t a = 0; a < outer; a++) {
    const uint8_t* xa = x + a * dim * row;
    uint8_t* oa = o + a * nIdx * row;
    for (int64_t i = 0; i < nIdx; i++) std::memcpy(oa + i * row, xa + idx[i] * row, row);
  }
  return Napi::Number::New(info.Env(), -1);
}

HOT void addRow(double* __restrict acc, const float* __restrict x, int64_t n) {
  for (int64_t j = 0; j < n; j++) acc[j] += x[j];
}

// segmentSum(x, ids: Int32Array, out, n, inner, numSegments)
// out[s, :] = sum of x[i, :] over i with ids[i] == s; ids outside the range are dropped.
Napi::Value SegmentSum(const Napi::CallbackInfo& info) {
  const int64_t n = num(info, 3), inner = num(info, 4), segs = num(info, 5);
  const float* x = f32(info, 0, n * inner);
  const int32_t* ids = i32(info, 1, n);
  float* o = f32(info, 2, segs * inner);
  // Double accumulation: a frequent token may collect thousands of rows.
  std::vector<double> acc(segs * inner, 0.0);
  for (int64_t i = 0; i < n; i++) {
    const int32_t s = ids[i];
    if (s < 0 || s >= segs) continue;
    addRow(acc.data() + s * inner, x + i * inner, inner);
  }
  for (int64_t k = 0; k < segs * inner; k++) o[k] = static_cast<float>(acc[k]);
  return info.Env().Undefined();
}

// oneHot(indices: Int32Array, out: Float32Array | Int32Array, n, depth, on, off)
Napi::Value OneHot(const Napi::CallbackInfo& info) {
  const int64_t n = num(info, 2), depth = num(info, 3);
  const double on = dbl(info, 4), off = dbl(info, 5);
  const int32_t* idx = i32(info, 0, n);
  Raw o = raw(info, 1);
  if (static_cast<int64_t>(o.length) < n * depth) throw Napi::RangeError::New(info.Env(), "oneHot: output too short");
  auto fill = [&](auto* out, auto onV, auto offV) {
    for (int64_t i = 0; i < n * depth; i++) out[i] = offV;
    for (int64_t i = 0; i < n; i++) {
      if (idx[i] >= 0 && idx[i] < depth) out[i * depth + idx[i]] = onV;
    }
  };
  if (o.type == napi_float32_array) fill(static_cast<float*>(o.data), static_cast<float>(on), static_cast<float>(off));
  else if (o.type == napi_int32_array) fill(static_cast<int32_t*>(o.data), static_cast<int32_t>(on), static_cast<int32_t>(off));
  else throw Napi::TypeError::New(info.Env(), "oneHot: output must be Float32Array or Int32Array");
  return info.Env().Undefined();
}
}  // namespace

void registerGather(Napi::Env env, Napi::Object exports) {
  exports.Set("gather", Napi::Function::New(env, Gather));
  exports.Set("segmentSum", Napi::Function::New(env, SegmentSum));
  exports.Set("oneHot", Napi::Function::New(env, OneHot));
}
}  // namespace rlhf
