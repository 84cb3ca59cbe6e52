// Branch-free float math and the compile-time ISA dispatch macros.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

// Hot loops are compiled twice: for x86-64-v3 (AVX2 + FMA, Haswell / Zen and
// later) and a baseline; the loader picks one by CPU features at startup, so
// the addon never executes an instruction the CPU lacks. ("arch=haswell" would
// dispatch on the CPU model and pick the baseline on AMD.)
#define HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
// Helpers called from HOT loops must be inlined to get the clone's ISA.
#define INL inline __attribute__((always_inline))

namespace rlhf {

// ---- vectorisable float math (Cephes-style, ~1-2 ulp) ----------------------
// Written branch-free with integer bit tricks so the compiler can vectorise
// loops that call them; libm calls would keep those loops scalar.

INL float bitsToFloat(int32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
INL int32_t floatToBits(float f) {
  int32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

INL float expFast(float x0) {
  // n = round(x * log2 e) by the 1.5 * 2^23 trick, clamped so 2^n stays
  // representable in two factors; NaN maps to the clamp and is restored below.
  float n = (x0 * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  n = n >= -150.0f ? n : -150.0f;
  n = n <= 128.0f ? n : 128.0f;
  const float r = x0 - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500E-4f;
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  float y = p * r * r + r + 1.0f;
  const int32_t ni = static_cast<int32_t>(n);
  const int32_t n1 = ni >> 1;
  const int32_t n2 = ni - n1;
  y = y * bitsToFloat((n1 + 127) << 23) * bitsToFloat((n2 + 127) << 23);
  y = x0 > 88.72283935546875f ? std::numeric_limits<float>::infinity() : y;
  y = x0 < -103.97208f ? 0.0f : y;
  return x0 != x0 ? x0 : y;
}

INL float logFast(float x0) {
  // Scale denormals into the normal range first.
  bool tiny = x0 < 1.17549435e-38f;
  float x = tiny ? x0 * 8388608.0f : x0;
  int32_t bits = floatToBits(x);
  int32_t e = ((bits >> 23) & 0xff) - 126;
  float m = bitsToFloat((bits & 0x007fffff) | 0x3f000000);  // in [0.5, 1)
  bool small = m < 0.707106781186547524f;
  float ef = static_cast<float>(e) - (small ? 1.0f : 0.0f) - (tiny ? 23.0f : 0.0f);
  float t = small ? m + m - 1.0f : m - 1.0f;
  float z = t * t;
  float p = 7.0376836292E-2f;
  p = p * t - 1.1514610310E-1f;
  p = p * t + 1.1676998740E-1f;
  p = p * t - 1.2420140846E-1f;
  p = p * t + 1.4249322787E-1f;
  p = p * t - 1.6668057665E-1f;
  p = p * t + 2.0000714765E-1f;
  p = p * t - 2.4999993993E-1f;
  p = p * t + 3.3333331174E-1f;
  float y = p * t * z;
  y += -2.12194440e-4f * ef;
  y += -0.5f * z;
  float r = t + y;
  r += 0.693359375f * ef;
  r = x0 == std::numeric_limits<float>::infinity() ? x0 : r;
  r = x0 == 0.0f ? -std::numeric_limits<float>::infinity() : r;
  r = x0 < 0.0f ? std::numeric_limits<float>::quiet_NaN() : r;
  return x0 != x0 ? x0 : r;
}

/** tanh as a 13/6 rational polynomial on [-7.9988, 7.9988] (Eigen's float
 *  approximation, ~2 ulp); cheaper than going through exp. */
INL float tanhFast(float x) {
  const float c = 7.99881172180175781f;
  const float xc = x > c ? c : (x < -c ? -c : x);
  const float x2 = xc * xc;
  float p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  p = xc * p;
  float q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  const float r = p / q;
  const float ax = x < 0 ? -x : x;
  const float sat = x < 0 ? -1.0f : 1.0f;  // tanh rounds to +-1 in float beyond |x| = 9
  return ax < 0.0004f ? x : (ax >= 9.0f ? sat : r);  // NaN: both compares false, p/q is NaN
}

INL float sigmoidFast(float x) { return 1.0f / (1.0f + expFast(-x)); }

}  // namespace rlhf
