// Batched single-precision matrix multiply on OpenBLAS.
#include "common.h"
#include "blas.h"
#include "parallel.h"

namespace rlhf {
namespace {

// matmul(a, b, out, batch, batchA, batchB, m, n, k, transA, transB)
// a: [batchA, m, k] (or [batchA, k, m] when transA), b: [batchB, k, n] (or
// [batchB, n, k]), out: [batch, m, n]; batchA / batchB are 1 or batch.
Napi::Value MatMul(const Napi::CallbackInfo& info) {
  const int64_t batch = num(info, 3), batchA = num(info, 4), batchB = num(info, 5);
  const int64_t m = num(info, 6), n = num(info, 7), k = num(info, 8);
  const bool ta = flag(info, 9), tb = flag(info, 10);
  if ((batchA != 1 && batchA != batch) || (batchB != 1 && batchB != batch)) {
    throw Napi::RangeError::New(info.Env(), "matmul: batch sizes must be 1 or equal");
  }
  const float* a = f32(info, 0, batchA * m * k);
  const float* b = f32(info, 1, batchB * k * n);
  float* c = f32(info, 2, batch * m * n);
  if (m == 0 || n == 0) return info.Env().Undefined();
  if (k == 0) {
    std::memset(c, 0, sizeof(float) * batch * m * n);
    return info.Env().Undefined();
  }
  const int lda = static_cast<int>(ta ? m : k), ldb = static_cast<int>(tb ? k : n);
  if (batchB == 1 && batchA == batch && !ta) {
    // Shared right operand: fold the batch into the rows, one large GEMM.
    cblas_sgemm(kRowMajor, kNoTrans, tb ? kTrans : kNoTrans, static_cast<int>(batch * m), static_cast<int>(n),
                static_cast<int>(k), 1.0f, a, lda, b, ldb, 0.0f, c, static_cast<int>(n));
    return info.Env().Undefined();
  }
  for (int64_t i = 0; i < batch; i++) {
    const float* ai = a + (batchA == 1 ? 0 : i * m * k);
    const float* bi = b + (batchB == 1 ? 0 : i * k * n);
    cblas_sgemm(kRowMajor, ta ? kTrans : kNoTrans, tb ? kTrans : kNoTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), 1.0f, ai, lda, bi, ldb, 0.0f, c + i * m * n, static_cast<int>(n));
  }
  return info.Env().Undefined();
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  const int n = static_cast<int>(num(info, 0));
  openblas_set_num_threads(n);
  Parallel::get().setThreads(n);
  return info.Env().Undefined();
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), openblas_get_num_threads());
}
}  // namespace

void registerGemm(Napi::Env env, Napi::Object exports) {
  // Elementwise kernels start with as many threads as OpenBLAS chose.
  Parallel::get().setThreads(openblas_get_num_threads());
  exports.Set("matmul", Napi::Function::New(env, MatMul));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads));
}
}  // namespace rlhf
