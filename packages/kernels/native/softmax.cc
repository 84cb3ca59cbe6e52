// Softmax, log-softmax, their gradients and softmax cross-entropy along the last axis.
#include <vector>

#include "common.h"
#include "parallel.h"

namespace rlhf {
namespace {

INL float rowMax(const float* x, int64_t n) {
  float m[8];
  for (int l = 0; l < 8; l++) m[l] = -std::numeric_limits<float>::infinity();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; l++) m[l] = x[i + l] > m[l] ? x[i + l] : m[l];
  }
  float r = m[0];
  for (int l = 1; l < 8; l++) r = m[l] > r ? m[l] : r;
  for (; i < n; i++) r = x[i] > r ? x[i] : r;
  return r;
}

/** o[j] = exp(x[j] - shift); returns the sum (8 float lanes, then double). */
INL double expShiftSum(const float* __restrict x, float* __restrict o, int64_t n, float shift) {
  for (int64_t j = 0; j < n; j++) o[j] = expFast(x[j] - shift);
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; l++) s[l] += o[i + l];
  }
  double t = 0;
  for (int l = 0; l < 8; l++) t += s[l];
  for (; i < n; i++) t += o[i];
  return t;
}

HOT void softmaxRows(const float* x, float* o, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float* orow = o + r * cols;
    const float m = rowMax(xr, cols);
    const float inv = static_cast<float>(1.0 / expShiftSum(xr, orow, cols, m));
    for (int64_t j = 0; j < cols; j++) orow[j] *= inv;
  }
}

HOT void logSoftmaxRows(const float* x, float* o, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float* orow = o + r * cols;
    const float m = rowMax(xr, cols);
    const float lse = m + static_cast<float>(std::log(expShiftSum(xr, orow, cols, m)));
    for (int64_t j = 0; j < cols; j++) orow[j] = xr[j] - lse;
  }
}

// dx = y * (dy - sum(dy * y)) per row.
HOT void softmaxGradRows(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    const float* yr = y + r * cols;
    const float* dyr = dy + r * cols;
    float* dxr = dx + r * cols;
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= cols; i += 8) {
      for (int l = 0; l < 8; l++) s[l] += yr[i + l] * dyr[i + l];
    }
    float dot = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; i < cols; i++) dot += yr[i] * dyr[i];
    for (int64_t j = 0; j < cols; j++) dxr[j] = yr[j] * (dyr[j] - dot);
  }
}

// logSoftmaxGrad: dx = dy - exp(logp) * sum(dy) per row.
HOT void logSoftmaxGradRows(const float* logp, const float* dy, float* dx, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    const float* lr = logp + r * cols;
    const float* dyr = dy + r * cols;
    float* dxr = dx + r * cols;
    double s = 0;
    for (int64_t j = 0; j < cols; j++) s += dyr[j];
    const float sf = static_cast<float>(s);
    for (int64_t j = 0; j < cols; j++) dxr[j] = dyr[j] - expFast(lr[j]) * sf;
  }
}

// loss[r] = logsumexp(x[r, :]) - x[r, label[r]] (a label outside [0, cols) picks nothing).
HOT void xentRows(const float* x, const int32_t* labels, float* loss, float* scratch, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    const float m = rowMax(xr, cols);
    const double lse = m + std::log(expShiftSum(xr, scratch, cols, m));
    const int32_t y = labels[r];
    const double picked = (y >= 0 && y < cols) ? xr[y] : 0.0;
    loss[r] = static_cast<float>(lse - picked);
  }
}

// dx[r, :] = (softmax(x[r, :]) - onehot(label[r])) * dy[r]
HOT void xentGradRows(const float* x, const int32_t* labels, const float* dy, float* dx, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float* dxr = dx + r * cols;
    const float m = rowMax(xr, cols);
    const float scale = static_cast<float>(dy[r] / expShiftSum(xr, dxr, cols, m));
    for (int64_t j = 0; j < cols; j++) dxr[j] *= scale;
    const int32_t y = labels[r];
    if (y >= 0 && y < cols) dxr[y] -= dy[r];
  }
}

/** Runs a row kernel over row ranges in parallel. */
template <class F>
void byRows(int64_t rows, int64_t cols, F f) {
  Parallel::get().run(rows, rows * cols, [&](int64_t b, int64_t e, int) { f(b, e - b); }, 1);
}

Napi::Value Softmax(const Napi::CallbackInfo& info) {
  const int64_t rows = num(info, 2), cols = num(info, 3);
  const float* x = f32(info, 0, rows * cols);
  float* o = f32(info, 1, rows * cols);
  byRows(rows, cols, [&](int64_t r, int64_t n) { softmaxRows(x + r * cols, o + r * cols, n, cols); });
  return info.Env().Undefined();
}

Napi::Value LogSoftmax(const Napi::CallbackInfo& info) {
  const int64_t rows = num(info, 2), cols = num(info, 3);
  const float* x = f32(info, 0, rows * cols);
  float* o = f32(info, 1, rows * cols);
  byRows(rows, cols, [&](int64_t r, int64_t n) { logSoftmaxRows(x + r * cols, o + r * cols, n, cols); });
  return info.Env().Undefined();
}

// softmaxGrad(y, dy, dx, rows, cols)
Napi::Value SoftmaxGrad(const Napi::CallbackInfo& info) {
  const int64_t rows = num(info, 3), cols = num(info, 4), n = rows * cols;
  const float *y = f32(info, 0, n), *dy = f32(info, 1, n);
  float* dx = f32(info, 2, n);
  byRows(rows, cols, [&](int64_t r, int64_t k) { softmaxGradRows(y + r * cols, dy + r * cols, dx + r * cols, k, cols); });
  return info.Env().Undefined();
}

// logSoftmaxGrad(logp, dy, dx, rows, cols)
Napi::Value LogSoftmaxGrad(const Napi::CallbackInfo& info) {
  const int64_t rows = num(info, 3), cols = num(info, 4), n = rows * cols;
  const float *lp = f32(info, 0, n), *dy = f32(info, 1, n);
  float* dx = f32(info, 2, n);
  byRows(rows, cols, [&](int64_t r, int64_t k) { logSoftmaxGradRows(lp + r * cols, dy + r * cols, dx + r * cols, k, cols); });
  return info.Env().Undefined();
}
// softmaxXent(logits, labels: Int32Array, loss, rows, cols)
Napi::Value SoftmaxXent(const Napi::CallbackInfo& info) {
  const int64_t rows = num(info, 3), cols = num(info, 4);
  const float* x = f32(info, 0, rows * cols);
  const int32_t* labels = i32(info, 1, rows);
  float* loss = f32(info, 2, rows);
  byRows(rows, cols, [&](int64_t r, int64_t k) {
    std::vector<float> scratch(cols > 0 ? cols : 1);
    xentRows(x + r * cols, labels + r, loss + r, scratch.data(), k, cols);
  });
  return info.Env().Undefined();
}

// softmaxXentGrad(logits, labels, dy, dx, rows, cols)
Napi::Value SoftmaxXentGrad(const Napi::CallbackInfo& info) {
  const int64_t rows = num(info, 4), cols = num(info, 5), n = rows * cols;
  const float* x = f32(info, 0, n);
  const int32_t* labels = i32(info, 1, rows);
  const float* dy = f32(info, 2, rows);
  float* dx = f32(info, 3, n);
  byRows(rows, cols, [&](int64_t r, int64_t k) { xentGradRows(x + r * cols, labels + r, dy + r, dx + r * cols, k, cols); });
  return info.Env().Undefined();
}
}  // namespace

void registerSoftmax(Napi::Env env, Napi::Object exports) {
  exports.Set("softmax", Napi::Function::New(env, Softmax));
  exports.Set("logSoftmax", Napi::Function::New(env, LogSoftmax));
  exports.Set("softmaxGrad", Napi::Function::New(env, SoftmaxGrad));
  exports.Set("logSoftmaxGrad", Napi::Function::New(env, LogSoftmaxGrad));
  exports.Set("softmaxXent", Napi::Function::New(env, SoftmaxXent));
  exports.Set("softmaxXentGrad", Napi::Function::New(env, SoftmaxXentGrad));
}
}  // namespace rlhf
