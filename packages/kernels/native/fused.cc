// Fused LayerNorm and tanh-GELU, forward and backward.
#include <vector>

#include "fused.h"

#include "common.h"
#include "parallel.h"

namespace rlhf {
namespace {

struct Moments {
  float mean;
  float rstd;
};

/** Sum of x[0..n) in 8 float lanes (vectorisable), combined in double. */
INL double laneSum(const float* x, int64_t n) {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; l++) s[l] += x[i + l];
  }
  double t = 0;
  for (int l = 0; l < 8; l++) t += s[l];
  for (; i < n; i++) t += x[i];
  return t;
}

/** Two-pass mean / biased variance over a row (as tf.moments computes it). */
INL Moments moments(const float* x, int64_t n, float eps) {
  const float mean = static_cast<float>(laneSum(x, n) / static_cast<double>(n));
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; l++) {
      const float d = x[i + l] - mean;
      s[l] += d * d;
    }
  }
  double v = 0;
  for (int l = 0; l < 8; l++) v += s[l];
  for (; i < n; i++) v += static_cast<double>(x[i] - mean) * (x[i] - mean);
  return {mean, static_cast<float>(1.0 / std::sqrt(v / static_cast<double>(n) + eps))};
}

}  // namespace

HOT void layerNormRows(const float* x, const float* g, const float* b, float* y, int64_t rows, int64_t cols,
                       float eps) {
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const Moments m = moments(xr, cols, eps);
    for (int64_t j = 0; j < cols; j++) yr[j] = (xr[j] - m.mean) * m.rstd * g[j] + b[j];
  }
}

namespace {

// dgamma / dbeta are summed in float over blocks of kBlock rows, then in double.
constexpr int64_t kBlock = 32;

HOT void layerNormGradRows(const float* dy, const float* x, const float* g, float* dx, double* dg, double* db,
                           float* dgBlock, float* dbBlock, float* xhat, int64_t rows, int64_t cols, float eps) {
  const float invN = 1.0f / static_cast<float>(cols);
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock) {
    const int64_t r1 = r0 + kBlock < rows ? r0 + kBlock : rows;
    for (int64_t j = 0; j < cols; j++) dgBlock[j] = dbBlock[j] = 0.0f;
    for (int64_t r = r0; r < r1; r++) {
      const float* xr = x + r * cols;
      const float* dyr = dy + r * cols;
      float* dxr = dx + r * cols;
      const Moments m = moments(xr, cols, eps);
      float s1[8] = {0, 0, 0, 0, 0, 0, 0, 0}, s2[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      int64_t j = 0;
      for (; j + 8 <= cols; j += 8) {
        for (int l = 0; l < 8; l++) {
          const float h = (xr[j + l] - m.mean) * m.rstd;
          const float gj = dyr[j + l] * g[j + l];
          xhat[j + l] = h;
          s1[l] += gj;
          s2[l] += gj * h;
        }
      }
      float a = 0, c = 0;
      for (int l = 0; l < 8; l++) a += s1[l], c += s2[l];
      for (; j < cols; j++) {
        const float h = (xr[j] - m.mean) * m.rstd;
        const float gj = dyr[j] * g[j];
        xhat[j] = h;
        a += gj;
        c += gj * h;
      }
      a *= invN;
      c *= invN;
      for (int64_t k = 0; k < cols; k++) {
        dxr[k] = m.rstd * (dyr[k] * g[k] - a - xhat[k] * c);
        dgBlock[k] += dyr[k] * xhat[k];
        dbBlock[k] += dyr[k];
      }
    }
    for (int64_t k = 0; k < cols; k++) {
      dg[k] += dgBlock[k];
      db[k] += dbBlock[k];
    }
  }
}

constexpr float kGeluC = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kGeluA = 0.044715f;

}  // namespace

HOT void geluLoop(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    y[i] = 0.5f * v * (1.0f + tanhFast(kGeluC * (v + kGeluA * v * v * v)));
  }
}

namespace {

HOT void geluGradLoop(const float* __restrict dy, const float* __restrict x, float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    const float t = tanhFast(kGeluC * (v + kGeluA * v * v * v));
    const float du = kGeluC * (1.0f + 3.0f * kGeluA * v * v);
    dx[i] = dy[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du);
  }
}

// layerNorm(x, gamma, beta, y, rows, cols, eps)
Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  const int64_t rows = num(info, 4), cols = num(info, 5), n = rows * cols;
  const float eps = static_cast<float>(dbl(info, 6));
  const float *x = f32(info, 0, n), *g = f32(info, 1, cols), *b = f32(info, 2, cols);
  float* y = f32(info, 3, n);
  Parallel::get().run(rows, n, [&](int64_t r0, int64_t r1, int) { layerNormRows(x + r0 * cols, g, b, y + r0 * cols, r1 - r0, cols, eps); }, 1);
  return info.Env().Undefined();
}

// layerNormGrad(dy, x, gamma, dx, dgamma, dbeta, rows, cols, eps)
Napi::Value LayerNormGrad(const Napi::CallbackInfo& info) {
  const int64_t rows = num(info, 6), cols = num(info, 7), n = rows * cols;
  const float eps = static_cast<float>(dbl(info, 8));
  float* dgOut = f32(info, 4, cols);
  float* dbOut = f32(info, 5, cols);
  const float *dy = f32(info, 0, n), *x = f32(info, 1, n), *g = f32(info, 2, cols);
  float* dx = f32(info, 3, n);
  // Per-thread partial dgamma / dbeta, summed in a fixed order afterwards.
  const int parts = Parallel::get().threads();
  std::vector<double> dg(parts * cols, 0.0), db(parts * cols, 0.0);
  Parallel::get().run(rows, n, [&](int64_t r0, int64_t r1, int part) {
    std::vector<float> scratch(3 * cols);
    layerNormGradRows(dy + r0 * cols, x + r0 * cols, g, dx + r0 * cols, dg.data() + part * cols, db.data() + part * cols,
                      scratch.data(), scratch.data() + cols, scratch.data() + 2 * cols, r1 - r0, cols, eps);
  }, 1);
  for (int64_t j = 0; j < cols; j++) {
    double sg = 0, sb = 0;
    for (int p = 0; p < parts; p++) sg += dg[p * cols + j], sb += db[p * cols + j];
    dgOut[j] = static_cast<float>(sg);
    dbOut[j] = static_cast<float>(sb);
  }
  return info.Env().Undefined();
}

// gelu(x, y, n)
Napi::Value Gelu(const Napi::CallbackInfo& info) {
  const int64_t n = num(info, 2);
  const float* x = f32(info, 0, n);
  float* y = f32(info, 1, n);
  Parallel::get().run(n, n, [&](int64_t b, int64_t e, int) { geluLoop(x + b, y + b, e - b); });
  return info.Env().Undefined();
}

// geluGrad(dy, x, dx, n)
Napi::Value GeluGrad(const Napi::CallbackInfo& info) {
  const int64_t n = num(info, 3);
  const float *dy = f32(info, 0, n), *x = f32(info, 1, n);
  float* dx = f32(info, 2, n);
  Parallel::get().run(n, n, [&](int64_t b, int64_t e, int) { geluGradLoop(dy + b, x + b, dx + b, e - b); });
  return info.Env().Undefined();
}
}  // namespace

void registerFused(Napi::Env env, Napi::Object exports) {
  exports.Set("layerNorm", Napi::Function::New(env, LayerNorm));
  exports.Set("layerNormGrad", Napi::Function::New(env, LayerNormGrad));
  exports.Set("gelu", Napi::Function::New(env, Gelu));
  exports.Set("geluGrad", Napi::Function::New(env, GeluGrad));
}
}  // namespace rlhf
