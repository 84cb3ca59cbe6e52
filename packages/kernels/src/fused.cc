// Fused LayerNorm and tanh-GELU, forward and backward.
#include <vector>

#include "common.h"

namespace rlhf {
namespace {

struct Moments {
  float mean;
  float rstd;
};

/** Two-pass mean / variance (as tf.moments computes it), double accumulation. */
INL Moments moments(const float* x, int64_t n, float eps) {
  double s = 0;
  for (int64_t j = 0; j < n; j++) s += x[j];
  const double mean = s / static_cast<double>(n);
  double v = 0;
  for (int64_t j = 0; j < n; j++) {
    const double d = x[j] - mean;
    v += d * d;
  }
  const double var = v / static_cast<double>(n);
  return {static_cast<float>(mean), static_cast<float>(1.0 / std::sqrt(var + eps))};
}

HOT void layerNormRows(const float* x, const float* g, const float* b, float* y, int64_t rows, int64_t cols,
                       float eps) {
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const Moments m = moments(xr, cols, eps);
    for (int64_t j = 0; j < cols; j++) yr[j] = (xr[j] - m.mean) * m.rstd * g[j] + b[j];
  }
}

HOT void layerNormGradRows(const float* dy, const float* x, const float* g, float* dx, double* dg, double* db,
                           int64_t rows, int64_t cols, float eps) {
  const double invN = 1.0 / static_cast<double>(cols);
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    const float* dyr = dy + r * cols;
    float* dxr = dx + r * cols;
    const Moments m = moments(xr, cols, eps);
    double s1 = 0, s2 = 0;
    for (int64_t j = 0; j < cols; j++) {
      const float xhat = (xr[j] - m.mean) * m.rstd;
      const float gj = dyr[j] * g[j];
      s1 += gj;
      s2 += gj * xhat;
      dg[j] += dyr[j] * xhat;
      db[j] += dyr[j];
    }
    const float a = static_cast<float>(s1 * invN), c = static_cast<float>(s2 * invN);
    for (int64_t j = 0; j < cols; j++) {
      const float xhat = (xr[j] - m.mean) * m.rstd;
      dxr[j] = m.rstd * (dyr[j] * g[j] - a - xhat * c);
    }
  }
}

constexpr float kGeluC = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kGeluA = 0.044715f;

HOT void geluLoop(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    y[i] = 0.5f * v * (1.0f + tanhFast(kGeluC * (v + kGeluA * v * v * v)));
  }
}

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
  layerNormRows(f32(info, 0, n), f32(info, 1, cols), f32(info, 2, cols), f32(info, 3, n), rows, cols, eps);
  return info.Env().Undefined();
}

// layerNormGrad(dy, x, gamma, dx, dgamma, dbeta, rows, cols, eps)
Napi::Value LayerNormGrad(const Napi::CallbackInfo& info) {
  const int64_t rows = num(info, 6), cols = num(info, 7), n = rows * cols;
  const float eps = static_cast<float>(dbl(info, 8));
  float* dgOut = f32(info, 4, cols);
  float* dbOut = f32(info, 5, cols);
  std::vector<double> dg(cols, 0.0), db(cols, 0.0);
  layerNormGradRows(f32(info, 0, n), f32(info, 1, n), f32(info, 2, cols), f32(info, 3, n), dg.data(), db.data(), rows,
                    cols, eps);
  for (int64_t j = 0; j < cols; j++) {
    dgOut[j] = static_cast<float>(dg[j]);
    dbOut[j] = static_cast<float>(db[j]);
  }
  return info.Env().Undefined();
}

// gelu(x, y, n)
Napi::Value Gelu(const Napi::CallbackInfo& info) {
  const int64_t n = num(info, 2);
  geluLoop(f32(info, 0, n), f32(info, 1, n), n);
  return info.Env().Undefined();
}

// geluGrad(dy, x, dx, n)
Napi::Value GeluGrad(const Napi::CallbackInfo& info) {
  const int64_t n = num(info, 3);
  geluGradLoop(f32(info, 0, n), f32(info, 1, n), f32(info, 2, n), n);
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
