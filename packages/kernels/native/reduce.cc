// Reductions over any set of axes with strided loops (no transpose copy).
#include <vector>

#include "common.h"

namespace rlhf {
namespace {

enum ReduceOp { kSum = 0, kMean, kMax, kMin, kProd };

/** Dims after dropping size-1 axes and merging neighbours with the same role. */
struct Plan {
  int rank = 0;
  int64_t shape[kMaxRank];
  bool reduced[kMaxRank];
  int64_t outStride[kMaxRank];  // 0 on reduced dims
};

Plan makePlan(const Dims& s, const bool* red) {
  Plan p;
  for (int i = 0; i < s.rank; i++) {
    if (s.d[i] == 1) continue;
    if (p.rank > 0 && p.reduced[p.rank - 1] == red[i]) {
      p.shape[p.rank - 1] *= s.d[i];
    } else {
      p.shape[p.rank] = s.d[i];
      p.reduced[p.rank] = red[i];
      p.rank++;
    }
  }
  if (p.rank == 0) {
    p.rank = 1;
    p.shape[0] = 1;
    p.reduced[0] = true;
  }
  int64_t st = 1;
  for (int i = p.rank - 1; i >= 0; i--) {
    p.outStride[i] = p.reduced[i] ? 0 : st;
    if (!p.reduced[i]) st *= p.shape[i];
  }
  return p;
}

INL double sumRange(const float* x, int64_t n) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; l++) s[l] += x[i + l];
  }
  double t = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; i < n; i++) t += x[i];
  return t;
}

template <class Acc, class Row, class Col>
INL void walk(const float* x, Acc* acc, const Plan& p, Row rowOp, Col colOp) {
  const int r = p.rank;
  const int64_t n = p.shape[r - 1];
  const bool innerReduced = p.reduced[r - 1];
  int64_t outer = 1;
  for (int i = 0; i < r - 1; i++) outer *= p.shape[i];
  int64_t idx[kMaxRank] = {0};
  int64_t off = 0;
  for (int64_t it = 0; it < outer; it++) {
    const float* row = x + it * n;
    if (innerReduced) rowOp(acc + off, row, n);
    else colOp(acc + off, row, n);
    for (int d = r - 2; d >= 0; d--) {
      idx[d]++;
      off += p.outStride[d];
      if (idx[d] < p.shape[d]) break;
      off -= p.outStride[d] * p.shape[d];
      idx[d] = 0;
    }
  }
}

HOT void reduceSum(const float* x, double* acc, const Plan& p) {
  walk(
      x, acc, p, [](double* a, const float* row, int64_t n) { *a += sumRange(row, n); },
      [](double* __restrict a, const float* __restrict row, int64_t n) {
        for (int64_t j = 0; j < n; j++) a[j] += row[j];
      });
}

HOT void reduceProd(const float* x, double* acc, const Plan& p) {
  walk(
      x, acc, p,
      [](double* a, const float* row, int64_t n) {
        double v = *a;
        for (int64_t j = 0; j < n; j++) v *= row[j];
        *a = v;
      },
      [](double* __restrict a, const float* __restrict row, int64_t n) {
        for (int64_t j = 0; j < n; j++) a[j] *= row[j];
      });
}

// NaN-propagating like tfjs: a NaN anywhere makes the result NaN.
INL float pickMax(float m, float v) { return (v != v || v > m) ? v : m; }
INL float pickMin(float m, float v) { return (v != v || v < m) ? v : m; }

template <bool kIsMax>
INL void reduceExtreme(const float* x, float* acc, const Plan& p) {
  walk(
      x, acc, p,
      [](float* a, const float* row, int64_t n) {
        float m = *a;
        for (int64_t j = 0; j < n; j++) m = kIsMax ? pickMax(m, row[j]) : pickMin(m, row[j]);
        *a = m;
      },
      [](float* __restrict a, const float* __restrict row, int64_t n) {
        for (int64_t j = 0; j < n; j++) a[j] = kIsMax ? pickMax(a[j], row[j]) : pickMin(a[j], row[j]);
      });
}

HOT void reduceMax(const float* x, float* acc, const Plan& p) { reduceExtreme<true>(x, acc, p); }
HOT void reduceMin(const float* x, float* acc, const Plan& p) { reduceExtreme<false>(x, acc, p); }

// reduce(op, x, shape, axes, out)
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  const int op = static_cast<int>(num(info, 0));
  if (op > kProd) throw Napi::RangeError::New(info.Env(), "reduce: unknown op code");
  Dims s = dims(info, 2), axes = dims(info, 3);
  bool red[kMaxRank] = {false};
  int64_t reduceSize = 1;
  for (int i = 0; i < axes.rank; i++) {
    if (axes.d[i] < 0 || axes.d[i] >= s.rank) throw Napi::RangeError::New(info.Env(), "reduce: axis out of range");
    if (!red[axes.d[i]]) reduceSize *= s.d[axes.d[i]];
    red[axes.d[i]] = true;
  }
  const int64_t total = s.size();
  const int64_t outSize = reduceSize == 0 ? 0 : total / reduceSize;
  const float* x = f32(info, 1, total);
  float* o = f32(info, 4, outSize);
  if (outSize == 0) return info.Env().Undefined();
  if (total == 0) {  // empty reduction: identity element
    float v = op == kMax ? -std::numeric_limits<float>::infinity()
                         : op == kMin ? std::numeric_limits<float>::infinity()
                                      : op == kProd ? 1.0f : op == kMean ? std::numeric_limits<float>::quiet_NaN() : 0.0f;
    for (int64_t i = 0; i < outSize; i++) o[i] = v;
    return info.Env().Undefined();
  }
  Plan p = makePlan(s, red);
  if (op == kMax || op == kMin) {
    const float init = op == kMax ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < outSize; i++) o[i] = init;
    if (op == kMax) reduceMax(x, o, p);
    else reduceMin(x, o, p);
    return info.Env().Undefined();
  }
  std::vector<double> acc(outSize, op == kProd ? 1.0 : 0.0);
  if (op == kProd) reduceProd(x, acc.data(), p);
  else reduceSum(x, acc.data(), p);
  const double scale = op == kMean ? 1.0 / static_cast<double>(reduceSize) : 1.0;
  for (int64_t i = 0; i < outSize; i++) o[i] = static_cast<float>(acc[i] * scale);
  return info.Env().Undefined();
}

// argReduce(isMax, x, outer, n, inner, out: Int32Array): first index of the extreme along n.
Napi::Value ArgReduce(const Napi::CallbackInfo& info) {
  const bool isMax = flag(info, 0);
  const int64_t outer = num(info, 2), n = num(info, 3), innerN = num(info, 4);
  const float* x = f32(info, 1, outer * n * innerN);
  int32_t* o = i32(info, 5, outer * innerN);
  std::vector<float> best(innerN);
  for (int64_t a = 0; a < outer; a++) {
    const float* base = x + a * n * innerN;
    int32_t* out = o + a * innerN;
    for (int64_t c = 0; c < innerN; c++) {
      best[c] = base[c];
      out[c] = 0;
    }
    for (int64_t k = 1; k < n; k++) {
      const float* row = base + k * innerN;
      for (int64_t c = 0; c < innerN; c++) {
        bool better = isMax ? row[c] > best[c] : row[c] < best[c];
        if (better) {
          best[c] = row[c];
          out[c] = static_cast<int32_t>(k);
        }
      }
    }
  }
  return info.Env().Undefined();
}
}  // namespace

void registerReduce(Napi::Env env, Napi::Object exports) {
  exports.Set("reduce", Napi::Function::New(env, Reduce));
  exports.Set("argReduce", Napi::Function::New(env, ArgReduce));
}
}  // namespace rlhf
