// Elementwise kernels: broadcasting binary ops, unary ops, cast, select, addN.
#include "common.h"
#include "parallel.h"

namespace rlhf {
namespace {

// ---- broadcasting -----------------------------------------------------------

/** Output shape plus per-operand strides (0 on broadcast dims), collapsed. */
struct Bcast {
  int rank = 0;
  int64_t shape[kMaxRank];
  int64_t sa[kMaxRank];
  int64_t sb[kMaxRank];
};

void alignedStrides(const Dims& in, const Dims& out, int64_t* strides) {
  int64_t s = 1;
  for (int i = out.rank - 1; i >= 0; i--) {
    int j = i - (out.rank - in.rank);
    int64_t d = j >= 0 ? in.d[j] : 1;
    strides[i] = d == 1 ? 0 : s;
    s *= d;
  }
}

Bcast makeBcast(const Dims& a, const Dims& b, const Dims& out) {
  int64_t sa[kMaxRank], sb[kMaxRank];
  alignedStrides(a, out, sa);
  alignedStrides(b, out, sb);
  Bcast bc;
  for (int i = 0; i < out.rank; i++) {
    if (out.d[i] == 1) continue;  // size-1 dims never move an index
    int p = bc.rank - 1;
    // Merge into the previous dim when both operands step through it contiguously.
    if (p >= 0 && bc.sa[p] == sa[i] * out.d[i] && bc.sb[p] == sb[i] * out.d[i]) {
      bc.shape[p] *= out.d[i];
      bc.sa[p] = sa[i];
      bc.sb[p] = sb[i];
    } else {
      bc.shape[bc.rank] = out.d[i];
      bc.sa[bc.rank] = sa[i];
      bc.sb[bc.rank] = sb[i];
      bc.rank++;
    }
  }
  if (bc.rank == 0) {
    bc.rank = 1;
    bc.shape[0] = 1;
    bc.sa[0] = 0;
    bc.sb[0] = 0;
  }
  return bc;
}

template <class Out, class F>
INL void inner(Out* __restrict o, const float* __restrict a, const float* __restrict b, int64_t n, int64_t ia,
                  int64_t ib, F f) {
  // Four specialised loops so each one vectorises.
  if (ia == 1 && ib == 1) {
    for (int64_t i = 0; i < n; i++) o[i] = f(a[i], b[i]);
  } else if (ia == 1) {
    const float bv = b[0];
    for (int64_t i = 0; i < n; i++) o[i] = f(a[i], bv);
  } else if (ib == 1) {
    const float av = a[0];
    for (int64_t i = 0; i < n; i++) o[i] = f(av, b[i]);
  } else {
    const Out v = f(a[0], b[0]);
    for (int64_t i = 0; i < n; i++) o[i] = v;
  }
}

/** Rows [it0, it1) of the broadcast iteration (a row = the collapsed innermost dim). */
template <class Out, class F>
INL void broadcastLoop(const float* a, const float* b, Out* o, const Bcast& bc, F f, int64_t it0, int64_t it1) {
  const int r = bc.rank;
  const int64_t n = bc.shape[r - 1];
  int64_t idx[kMaxRank] = {0};
  int64_t offA = 0, offB = 0;
  int64_t rem = it0;  // odometer state of row it0 (mixed radix, last outer dim fastest)
  for (int d = r - 2; d >= 0; d--) {
    idx[d] = rem % bc.shape[d];
    rem /= bc.shape[d];
    offA += idx[d] * bc.sa[d];
    offB += idx[d] * bc.sb[d];
  }
  for (int64_t it = it0; it < it1; it++) {
    inner(o + it * n, a + offA, b + offB, n, bc.sa[r - 1], bc.sb[r - 1], f);
    for (int d = r - 2; d >= 0; d--) {  // odometer over the outer dims
      idx[d]++;
      offA += bc.sa[d];
      offB += bc.sb[d];
      if (idx[d] < bc.shape[d]) break;
      offA -= bc.sa[d] * bc.shape[d];
      offB -= bc.sb[d] * bc.shape[d];
      idx[d] = 0;
    }
  }
}

INL float nanMax(float x, float y) { return x != x ? x : (y != y ? y : (x > y ? x : y)); }
INL float nanMin(float x, float y) { return x != x ? x : (y != y ? y : (x < y ? x : y)); }

enum BinaryOp { kAdd = 0, kSub, kMul, kDiv, kMax, kMin, kSqDiff, kPow, kFloorDiv };
enum CompareOp { kGreater = 0, kGreaterEqual, kLess, kLessEqual, kEqual, kNotEqual };

HOT void binaryArith(int op, const float* a, const float* b, float* o, const Bcast& bc, int64_t it0, int64_t it1) {
  switch (op) {
    case kAdd: return broadcastLoop(a, b, o, bc, [](float x, float y) { return x + y; }, it0, it1);
    case kSub: return broadcastLoop(a, b, o, bc, [](float x, float y) { return x - y; }, it0, it1);
    case kMul: return broadcastLoop(a, b, o, bc, [](float x, float y) { return x * y; }, it0, it1);
    case kDiv: return broadcastLoop(a, b, o, bc, [](float x, float y) { return x / y; }, it0, it1);
    case kMax: return broadcastLoop(a, b, o, bc, [](float x, float y) { return nanMax(x, y); }, it0, it1);
    case kMin: return broadcastLoop(a, b, o, bc, [](float x, float y) { return nanMin(x, y); }, it0, it1);
    case kSqDiff: return broadcastLoop(a, b, o, bc, [](float x, float y) { return (x - y) * (x - y); }, it0, it1);
    case kPow: return broadcastLoop(a, b, o, bc, [](float x, float y) { return static_cast<float>(std::pow(static_cast<double>(x), static_cast<double>(y))); }, it0, it1);
    case kFloorDiv: return broadcastLoop(a, b, o, bc, [](float x, float y) { return static_cast<float>(std::floor(static_cast<double>(x) / y)); }, it0, it1);
  }
}

HOT void binaryCompare(int op, const float* a, const float* b, uint8_t* o, const Bcast& bc, int64_t it0, int64_t it1) {
  switch (op) {
    case kGreater: return broadcastLoop(a, b, o, bc, [](float x, float y) -> uint8_t { return x > y; }, it0, it1);
    case kGreaterEqual: return broadcastLoop(a, b, o, bc, [](float x, float y) -> uint8_t { return x >= y; }, it0, it1);
    case kLess: return broadcastLoop(a, b, o, bc, [](float x, float y) -> uint8_t { return x < y; }, it0, it1);
    case kLessEqual: return broadcastLoop(a, b, o, bc, [](float x, float y) -> uint8_t { return x <= y; }, it0, it1);
    case kEqual: return broadcastLoop(a, b, o, bc, [](float x, float y) -> uint8_t { return x == y; }, it0, it1);
    case kNotEqual: return broadcastLoop(a, b, o, bc, [](float x, float y) -> uint8_t { return x != y; }, it0, it1);
  }
}

/**
 * Splits a broadcast loop across threads: by rows when there are several,
 * else by re-expressing one long row as [parts, n / parts] chunks.
 * run(bc, it0, it1, shift) handles rows [it0, it1) of `bc` with every
 * pointer advanced by `shift` innermost steps (0 when splitting by rows).
 */
template <class Run>
void runBroadcast(const Bcast& bc, Run run) {
  const int r = bc.rank;
  int64_t outer = 1;
  for (int i = 0; i < r - 1; i++) outer *= bc.shape[i];
  const int64_t total = outer * bc.shape[r - 1];
  if (outer >= 2) {
    Parallel::get().run(outer, total, [&](int64_t b, int64_t e, int) { run(bc, b, e, 0); }, 1);
    return;
  }
  // One row: split it into contiguous pieces, each a one-row problem.
  Parallel::get().run(total, total, [&](int64_t b, int64_t e, int) {
    Bcast part;
    part.rank = 1;
    part.shape[0] = e - b;
    part.sa[0] = bc.sa[r - 1];
    part.sb[0] = bc.sb[r - 1];
    run(part, 0, 1, b);
  });
}

void checkBroadcast(const Napi::CallbackInfo& info, const Dims& a, const Dims& b, const Dims& out) {
  if (a.rank > out.rank || b.rank > out.rank) throw Napi::RangeError::New(info.Env(), "binary: operand rank exceeds output rank");
  for (int i = 0; i < out.rank; i++) {
    int ja = i - (out.rank - a.rank), jb = i - (out.rank - b.rank);
    int64_t da = ja >= 0 ? a.d[ja] : 1, db = jb >= 0 ? b.d[jb] : 1;
    if ((da != 1 && da != out.d[i]) || (db != 1 && db != out.d[i])) {
      throw Napi::RangeError::New(info.Env(), "binary: shapes do not broadcast to the output shape");
    }
  }
}

/** An op code in [0, count). */
int opCode(const Napi::CallbackInfo& info, int count) {
  const int64_t op = num(info, 0);
  if (op >= count) throw Napi::RangeError::New(info.Env(), "unknown op code " + std::to_string(op));
  return static_cast<int>(op);
}

// binary(op, a, aShape, b, bShape, out, outShape) with float32 output.
Napi::Value Binary(const Napi::CallbackInfo& info) {
  const int op = opCode(info, kFloorDiv + 1);
  Dims as = dims(info, 2), bs = dims(info, 4), os = dims(info, 6);
  checkBroadcast(info, as, bs, os);
  const float* a = f32(info, 1, as.size());
  const float* b = f32(info, 3, bs.size());
  float* o = f32(info, 5, os.size());
  if (os.size() == 0) return info.Env().Undefined();
  runBroadcast(makeBcast(as, bs, os), [&](const Bcast& bc, int64_t it0, int64_t it1, int64_t shift) {
    const int64_t l = bc.rank - 1;
    binaryArith(op, a + shift * bc.sa[l], b + shift * bc.sb[l], o + shift, bc, it0, it1);
  });
  return info.Env().Undefined();
}

// compare(op, a, aShape, b, bShape, out: Uint8Array, outShape).
Napi::Value Compare(const Napi::CallbackInfo& info) {
  const int op = opCode(info, kNotEqual + 1);
  Dims as = dims(info, 2), bs = dims(info, 4), os = dims(info, 6);
  checkBroadcast(info, as, bs, os);
  const float* a = f32(info, 1, as.size());
  const float* b = f32(info, 3, bs.size());
  uint8_t* o = static_cast<uint8_t*>(bytes(info, 5, os.size(), 1));
  if (os.size() == 0) return info.Env().Undefined();
  runBroadcast(makeBcast(as, bs, os), [&](const Bcast& bc, int64_t it0, int64_t it1, int64_t shift) {
    const int64_t l = bc.rank - 1;
    binaryCompare(op, a + shift * bc.sa[l], b + shift * bc.sb[l], o + shift, bc, it0, it1);
  });
  return info.Env().Undefined();
}

// ---- unary ------------------------------------------------------------------

enum UnaryOp {
  kExp = 0, kLog, kTanh, kSqrt, kRsqrt, kNeg, kSquare, kRelu, kSigmoid, kAbs, kReciprocal, kStep, kRelu6, kElu,
  kSoftplus, kFloor, kCeil, kSign, kLeakyRelu, kLog1p, kClip, kErf, kSin, kCos, kExpm1
};

template <class F>
INL void map(const float* __restrict x, float* __restrict o, int64_t n, F f) {
  for (int64_t i = 0; i < n; i++) o[i] = f(x[i]);
}

HOT void unary(int op, const float* x, float* o, int64_t n, float p, float q) {
  switch (op) {
    case kExp: return map(x, o, n, [](float v) { return expFast(v); });
    case kLog: return map(x, o, n, [](float v) { return logFast(v); });
    case kTanh: return map(x, o, n, [](float v) { return tanhFast(v); });
    case kSqrt: return map(x, o, n, [](float v) { return std::sqrt(v); });
    case kRsqrt: return map(x, o, n, [](float v) { return 1.0f / std::sqrt(v); });
    case kNeg: return map(x, o, n, [](float v) { return -v; });
    case kSquare: return map(x, o, n, [](float v) { return v * v; });
    case kRelu: return map(x, o, n, [](float v) { return v < 0.0f ? 0.0f : v; });
    case kSigmoid: return map(x, o, n, [](float v) { return sigmoidFast(v); });
    case kAbs: return map(x, o, n, [](float v) { return std::fabs(v); });
    case kReciprocal: return map(x, o, n, [](float v) { return 1.0f / v; });
    case kStep: return map(x, o, n, [p](float v) { return v != v ? v : (v > 0.0f ? 1.0f : p); });
    case kRelu6: return map(x, o, n, [](float v) { return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v); });
    case kElu: return map(x, o, n, [](float v) { return v >= 0.0f ? v : expFast(v) - 1.0f; });
    case kSoftplus:
      return map(x, o, n, [](float v) {
        // Same thresholds as tfjs: exp for very negative, identity for large.
        const float threshold = -13.942385152878742f;  // log(eps) + 2
        float e = expFast(v);
        float mid = logFast(1.0f + e);
        return v < threshold ? e : (v > -threshold ? v : mid);
      });
    case kFloor: return map(x, o, n, [](float v) { return std::floor(v); });
    case kCeil: return map(x, o, n, [](float v) { return std::ceil(v); });
    case kSign: return map(x, o, n, [](float v) { return v < 0.0f ? -1.0f : (v > 0.0f ? 1.0f : 0.0f); });
    case kLeakyRelu: return map(x, o, n, [p](float v) { return v < 0.0f ? p * v : v; });
    case kLog1p: for (int64_t i = 0; i < n; i++) o[i] = std::log1p(x[i]); return;
    case kClip: return map(x, o, n, [p, q](float v) { return v > q ? q : (v < p ? p : v); });
    case kErf: for (int64_t i = 0; i < n; i++) o[i] = std::erf(x[i]); return;
    case kSin: for (int64_t i = 0; i < n; i++) o[i] = std::sin(x[i]); return;
    case kCos: for (int64_t i = 0; i < n; i++) o[i] = std::cos(x[i]); return;
    case kExpm1: for (int64_t i = 0; i < n; i++) o[i] = std::expm1(x[i]); return;
  }
}

// unary(op, x, out, n, p, q)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  const int op = opCode(info, kExpm1 + 1);
  const int64_t n = num(info, 3);
  const float* x = f32(info, 1, n);
  float* o = f32(info, 2, n);
  const float p = static_cast<float>(dbl(info, 4)), q = static_cast<float>(dbl(info, 5));
  Parallel::get().run(n, n, [&](int64_t b, int64_t e, int) { unary(op, x + b, o + b, e - b, p, q); });
  return info.Env().Undefined();
}

// ---- cast / select / addN -----------------------------------------------------

template <class From, class To>
void castLoop(const From* x, To* o, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] = static_cast<To>(x[i]);
}

/** JS ToInt32 for the float32 -> int32 cast: truncate, NaN to 0, wrap mod 2^32. */
INL int32_t toInt32(float v) {
  if (!(std::fabs(v) < 2147483648.0f)) {
    if (v != v || std::isinf(v)) return 0;
    double m = std::fmod(std::trunc(static_cast<double>(v)), 4294967296.0);
    if (m < 0) m += 4294967296.0;
    return static_cast<int32_t>(static_cast<uint32_t>(m));
  }
  return static_cast<int32_t>(v);
}

HOT void castI32F32(const int32_t* x, float* o, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] = static_cast<float>(x[i]);
}
HOT void castU8F32(const uint8_t* x, float* o, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] = static_cast<float>(x[i]);
}
HOT void castF32I32(const float* x, int32_t* o, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] = toInt32(x[i]);
}

// cast(x, out) between float32 / int32 / bool(uint8) typed arrays.
Napi::Value Cast(const Napi::CallbackInfo& info) {
  Raw x = raw(info, 0), o = raw(info, 1);
  const int64_t n = static_cast<int64_t>(x.length);
  if (static_cast<int64_t>(o.length) < n) throw Napi::RangeError::New(info.Env(), "cast: output too short");
  auto isF = [](const Raw& r) { return r.type == napi_float32_array; };
  auto isI = [](const Raw& r) { return r.type == napi_int32_array; };
  auto isB = [](const Raw& r) { return r.type == napi_uint8_array; };
  const void* xs = x.data;
  void* os = o.data;
  auto par = [&](auto loop) { Parallel::get().run(n, n, [&](int64_t b, int64_t e, int) { loop(b, e); }); };
  if (isF(x) && isI(o)) {
    par([&](int64_t b, int64_t e) { castF32I32(static_cast<const float*>(xs) + b, static_cast<int32_t*>(os) + b, e - b); });
  } else if (isF(x) && isB(o)) {
    par([&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; i++) static_cast<uint8_t*>(os)[i] = static_cast<const float*>(xs)[i] != 0.0f;
    });
  } else if (isI(x) && isF(o)) {
    par([&](int64_t b, int64_t e) { castI32F32(static_cast<const int32_t*>(xs) + b, static_cast<float*>(os) + b, e - b); });
  } else if (isI(x) && isB(o)) {
    par([&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; i++) static_cast<uint8_t*>(os)[i] = static_cast<const int32_t*>(xs)[i] != 0;
    });
  } else if (isB(x) && isF(o)) {
    par([&](int64_t b, int64_t e) { castU8F32(static_cast<const uint8_t*>(xs) + b, static_cast<float*>(os) + b, e - b); });
  } else if (isB(x) && isI(o)) {
    castLoop(static_cast<const uint8_t*>(xs), static_cast<int32_t*>(os), n);
  } else {
    throw Napi::TypeError::New(info.Env(), "cast: unsupported typed array pair");
  }
  return info.Env().Undefined();
}

// select(cond: Uint8Array, t, e, out, condSize, inner): out row i = cond[i] ? t : e.
template <class T>
void selectLoop(const uint8_t* c, const T* t, const T* e, T* o, int64_t rows, int64_t inner) {
  for (int64_t i = 0; i < rows; i++) {
    const T* src = c[i] == 1 ? t : e;
    std::memcpy(o + i * inner, src + i * inner, sizeof(T) * inner);
  }
}

HOT void selectElems(const uint8_t* c, const uint32_t* t, const uint32_t* e, uint32_t* o, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] = c[i] == 1 ? t[i] : e[i];
}

Napi::Value Select(const Napi::CallbackInfo& info) {
  const int64_t rows = num(info, 4), innerN = num(info, 5), total = rows * innerN;
  const uint8_t* c = static_cast<const uint8_t*>(bytes(info, 0, rows, 1));
  const uint32_t* t = static_cast<const uint32_t*>(bytes(info, 1, total * 4, 4));
  const uint32_t* e = static_cast<const uint32_t*>(bytes(info, 2, total * 4, 4));
  uint32_t* o = static_cast<uint32_t*>(bytes(info, 3, total * 4, 4));
  Parallel::get().run(rows, total, [&](int64_t b, int64_t end, int) {
    if (innerN == 1) selectElems(c + b, t + b, e + b, o + b, end - b);
    else selectLoop(c + b, t + b * innerN, e + b * innerN, o + b * innerN, end - b, innerN);
  });
  return info.Env().Undefined();
}

HOT void accumulate(float* __restrict o, const float* __restrict x, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] += x[i];
}

// addN(list of Float32Array, out, n)
Napi::Value AddN(const Napi::CallbackInfo& info) {
  Napi::Array list = info[0].As<Napi::Array>();
  const int64_t n = num(info, 2);
  float* o = f32(info, 1, n);
  const uint32_t count = list.Length();
  std::memset(o, 0, sizeof(float) * n);
  for (uint32_t i = 0; i < count; i++) {
    Napi::Value v = list.Get(i);
    Raw r;
    napi_value ab;
    size_t off;
    if (napi_get_typedarray_info(info.Env(), v, &r.type, &r.length, &r.data, &ab, &off) != napi_ok ||
        r.type != napi_float32_array || static_cast<int64_t>(r.length) < n) {
      throw Napi::TypeError::New(info.Env(), "addN: inputs must be Float32Arrays of the output size");
    }
    accumulate(o, static_cast<const float*>(r.data), n);
  }
  return info.Env().Undefined();
}
}  // namespace

void registerElementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("compare", Napi::Function::New(env, Compare));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("cast", Napi::Function::New(env, Cast));
  exports.Set("select", Napi::Function::New(env, Select));
  exports.Set("addN", Napi::Function::New(env, AddN));
}
}  // namespace rlhf
