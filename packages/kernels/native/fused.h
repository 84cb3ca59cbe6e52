// Row kernels of fused.cc shared with the decode kernel (decode.cc), so both compute LayerNorm
// and GELU with the same code as the RlhfLayerNorm / RlhfGelu tfjs kernels. (Declared without the
// target_clones attribute: callers go through the dispatcher symbol fused.cc defines.)
#pragma once
#include <cstdint>

namespace rlhf {
/** y = (x - mean) / sqrt(var + eps) * g + b over each of `rows` rows of `cols` (biased variance). */
void layerNormRows(const float* x, const float* g, const float* b, float* y, int64_t rows, int64_t cols, float eps);
/** y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) elementwise (x and y must not overlap). */
void geluLoop(const float* x, float* y, int64_t n);
}  // namespace rlhf
