// The OpenBLAS entry points the kernels call, declared here rather than via <cblas.h>:
// distributions ship several cblas.h variants behind alternatives; these symbols are stable
// OpenBLAS exports.
#pragma once

extern "C" {
void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, const float* a, int lda,
                 const float* b, int ldb, float beta, float* c, int ldc);
void openblas_set_num_threads(int n);
int openblas_get_num_threads(void);
}

namespace rlhf {
// CBLAS enum values (CblasRowMajor, CblasNoTrans, CblasTrans).
constexpr int kRowMajor = 101;
constexpr int kNoTrans = 111;
constexpr int kTrans = 112;
}  // namespace rlhf
