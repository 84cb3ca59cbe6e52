// Shared helpers for the native kernels: argument decoding, shapes, vector math.
#pragma once
#include <napi.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "fastmath.h"

namespace rlhf {

constexpr int kMaxRank = 8;

/** A small shape (rank <= kMaxRank) read from a JS array of numbers. */
struct Dims {
  int64_t d[kMaxRank];
  int rank = 0;
  int64_t size() const {
    int64_t s = 1;
    for (int i = 0; i < rank; i++) s *= d[i];
    return s;
  }
};

/** Raw view of a JS TypedArray: pointer, element count, element type. */
struct Raw {
  void* data;
  size_t length;
  napi_typedarray_type type;
  size_t elemSize() const {
    switch (type) {
      case napi_int8_array:
      case napi_uint8_array:
      case napi_uint8_clamped_array: return 1;
      case napi_int16_array:
      case napi_uint16_array: return 2;
      case napi_float64_array:
      case napi_bigint64_array:
      case napi_biguint64_array: return 8;
      default: return 4;
    }
  }
};

/** The TypedArray `value`; `what` names it in the error when it is not one. */
inline Raw raw(napi_env env, napi_value value, const std::string& what) {
  Raw r;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, value, &r.type, &r.length, &r.data, &ab, &off) != napi_ok) {
    throw Napi::TypeError::New(env, what + " must be a TypedArray");
  }
  return r;
}

inline Raw raw(const Napi::CallbackInfo& info, size_t i) { return raw(info.Env(), info[i], "argument " + std::to_string(i)); }

/** A Float32Array argument with at least `need` elements. */
inline float* f32(const Napi::CallbackInfo& info, size_t i, int64_t need) {
  Raw r = raw(info, i);
  if (r.type != napi_float32_array) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a Float32Array");
  if (static_cast<int64_t>(r.length) < need) throw Napi::RangeError::New(info.Env(), "argument " + std::to_string(i) + " is too short");
  return static_cast<float*>(r.data);
}

/** An Int32Array argument with at least `need` elements. */
inline int32_t* i32(const Napi::CallbackInfo& info, size_t i, int64_t need) {
  Raw r = raw(info, i);
  if (r.type != napi_int32_array) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be an Int32Array");
  if (static_cast<int64_t>(r.length) < need) throw Napi::RangeError::New(info.Env(), "argument " + std::to_string(i) + " is too short");
  return static_cast<int32_t*>(r.data);
}

/** Any TypedArray argument whose byte length is at least `needBytes`. */
inline void* bytes(const Napi::CallbackInfo& info, size_t i, int64_t needBytes, size_t elemSize) {
  Raw r = raw(info, i);
  if (r.elemSize() != elemSize) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " has the wrong element size");
  if (static_cast<int64_t>(r.length * elemSize) < needBytes) throw Napi::RangeError::New(info.Env(), "argument " + std::to_string(i) + " is too short");
  return r.data;
}

/** A non-negative integer argument (sizes and counts). */
inline int64_t num(const Napi::CallbackInfo& info, size_t i) {
  const int64_t v = static_cast<int64_t>(info[i].As<Napi::Number>().DoubleValue());
  if (v < 0) throw Napi::RangeError::New(info.Env(), "argument " + std::to_string(i) + " must not be negative");
  return v;
}
inline double dbl(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().DoubleValue(); }
inline bool flag(const Napi::CallbackInfo& info, size_t i) { return info[i].ToBoolean().Value(); }

inline Dims dims(const Napi::CallbackInfo& info, size_t i) {
  Napi::Array a = info[i].As<Napi::Array>();
  Dims out;
  out.rank = static_cast<int>(a.Length());
  if (out.rank > kMaxRank) throw Napi::RangeError::New(info.Env(), "rank above 8 is not supported natively");
  for (int k = 0; k < out.rank; k++) {
    out.d[k] = static_cast<int64_t>(a.Get(static_cast<uint32_t>(k)).As<Napi::Number>().DoubleValue());
    // Shapes, axes, permutations, offsets, paddings and reps are never negative
    // here (the TS side normalises them); a negative one would index outside buffers.
    if (out.d[k] < 0) throw Napi::RangeError::New(info.Env(), "argument " + std::to_string(i) + " has a negative entry");
  }
  return out;
}

}  // namespace rlhf
