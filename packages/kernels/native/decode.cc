// KV-cached GPT decoding in one call: the whole trunk (embeddings, every pre-LN block, final
// LayerNorm) over the next T tokens of each row, keys and values written in place into a
// preallocated cache, and the LM logits of each row's last token. Used by generation on the
// native backend, where the same step as ~40 tfjs ops per layer (plus a concat of the cache) was
// dominated by per-op JavaScript overhead at batch 16 x 1 token. The math is nn/src/Gpt.ts's forward:
//
//   x = wte[id] + wpe[pos]
//   per layer: h = LN1(x); q|k|v = h @ w_qkv + b_qkv; per head, softmax(q k^T / sqrt(hd)) over the
//              keys this token may see (causal, key mask 1) applied to v; x += att @ w_proj + b_proj;
//              x += gelu(LN2(x) @ w_fc + b_fc) @ w_out + b_out
//   logits = LN_f(x_last) @ wte^T
//
// LayerNorm and GELU are fused.cc's row kernels (the same code as RlhfLayerNorm / RlhfGelu), the
// softmax uses the same exp as the Softmax kernel, and the products are OpenBLAS sgemm, so results
// match the tfjs path on the native backend up to float32 summation order.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "common.h"
#include "blas.h"
#include "fused.h"

namespace rlhf {
namespace {
constexpr float kLayerNormEps = 1e-5f;  // ops.layerNorm's default, which Gpt uses

// Weight order of the `weights` argument: four model-level arrays, then twelve per layer.
const char* const kModelWeights[] = {"wte", "wpe", "ln_f.gamma", "ln_f.beta"};
const char* const kLayerWeights[] = {"ln1.gamma", "ln1.beta", "attn.w_qkv", "attn.b_qkv", "attn.w_proj", "attn.b_proj",
                                     "ln2.gamma", "ln2.beta", "mlp.w_fc",   "mlp.b_fc",   "mlp.w_proj",  "mlp.b_proj"};
constexpr uint32_t kModelCount = 4;
constexpr uint32_t kLayerCount = 12;

/**
 * Runs OpenBLAS single-threaded for its lifetime, then restores the thread count. A decode step's
 * GEMMs take tens of microseconds; OpenBLAS splits those above 2^18 multiply-adds over its
 * threads, which measured 1.5-3x slower per step on the shared 2-core VM (the second thread is
 * often descheduled), and after a threaded call (e.g. a long prompt) its workers spin in
 * sched_yield for ~0.1 s through the steps that follow. (The count is process-wide: a product
 * running concurrently on another worker_thread may run single-threaded meanwhile.)
 */
class OneBlasThread {
 public:
  OneBlasThread() : saved_(openblas_get_num_threads()) {
    if (saved_ > 1) openblas_set_num_threads(1);
  }
  ~OneBlasThread() {
    if (saved_ > 1) openblas_set_num_threads(saved_);
  }
  OneBlasThread(const OneBlasThread&) = delete;
  OneBlasThread& operator=(const OneBlasThread&) = delete;

 private:
  const int saved_;
};

struct Layer {
  const float *ln1g, *ln1b, *wqkv, *bqkv, *wproj, *bproj, *ln2g, *ln2b, *wfc, *bfc, *wout, *bout;
};

struct Shape {
  int64_t vocab, d, layers, heads, ctx, hd;
};

HOT void addRows(float* __restrict y, const float* __restrict bias, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; r++) {
    float* yr = y + r * n;
    for (int64_t j = 0; j < n; j++) yr[j] += bias[j];
  }
}

HOT void addInto(float* __restrict x, const float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; i++) x[i] += y[i];
}

// y[rows, n] = x[rows, k] @ w[k, n] + bias (matmul, then the bias added: the tfjs op order).
void linear(const float* x, const float* w, const float* bias, float* y, int64_t rows, int64_t k, int64_t n) {
  cblas_sgemm(kRowMajor, kNoTrans, kNoTrans, static_cast<int>(rows), static_cast<int>(n), static_cast<int>(k), 1.0f, x,
              static_cast<int>(k), w, static_cast<int>(n), 0.0f, y, static_cast<int>(n));
  addRows(y, bias, rows, n);
}

/** scores[j .. j + W) = q . k_j, keys transposed (kT[i * capacity + j]): W lanes kept in registers over i. */
template <int W>
INL void scoreBlock(const float* __restrict q, const float* __restrict kT, int64_t capacity, int64_t hd, int64_t j,
                    float* __restrict scores) {
  float acc[W] = {};
  for (int64_t i = 0; i < hd; i++) {
    const float qi = q[i];
    const float* kr = kT + i * capacity + j;
    for (int l = 0; l < W; l++) acc[l] += qi * kr[l];
  }
  for (int l = 0; l < W; l++) scores[j + l] = acc[l];
}

/** out[i .. i + W) = sum over k < n of p[k] * v[k * hd + i]. */
template <int W>
INL void mixBlock(const float* __restrict p, const float* __restrict v, int64_t n, int64_t hd, int64_t i,
                  float* __restrict out) {
  float acc[W] = {};
  for (int64_t k = 0; k < n; k++) {
    const float pk = p[k];
    const float* vk = v + k * hd + i;
    for (int l = 0; l < W; l++) acc[l] += pk * vk[l];
  }
  for (int l = 0; l < W; l++) out[i + l] = acc[l];
}

/** out[hd] = sum over k < n of p[k] v_k, in blocks of 32, 8 and 1 components. */
INL void mix(const float* p, const float* v, int64_t n, int64_t hd, float* out) {
  int64_t i = 0;
  for (; i + 32 <= hd; i += 32) mixBlock<32>(p, v, n, hd, i, out);
  for (; i + 8 <= hd; i += 8) mixBlock<8>(p, v, n, hd, i, out);
  for (; i < hd; i++) mixBlock<1>(p, v, n, hd, i, out);
}

/**
 * One query of one head: out[hd] = softmax over the visible keys of (q . k_j) * scale, applied to
 * v_j. Keys j < `causal` are candidates and visible where keyMask[j] != 0. Keys are stored
 * transposed (keysT[i * capacity + j]) so that scores come out 8 keys per vector without
 * horizontal sums; values as rows (values[j * hd + i]). With no visible key at all (a padding
 * query whose every earlier key is padding) every score in the tfjs path is the same -1e9, so it
 * averages all `total` keys of the call; done here likewise. (Scores of -inf from infinite inputs
 * count as not visible.)
 */
HOT void attendOne(const float* __restrict q, const float* __restrict keysT, int64_t capacity, const float* __restrict values,
                   const float* __restrict keyMask, int64_t causal, int64_t total, int64_t hd, float scale,
                   float* __restrict scores, float* __restrict out) {
  int64_t j = 0;
  for (; j + 32 <= causal; j += 32) scoreBlock<32>(q, keysT, capacity, hd, j, scores);
  for (; j + 8 <= causal; j += 8) scoreBlock<8>(q, keysT, capacity, hd, j, scores);
  for (; j < causal; j++) scoreBlock<1>(q, keysT, capacity, hd, j, scores);
  const float blocked = -std::numeric_limits<float>::infinity();
  for (j = 0; j < causal; j++) scores[j] = keyMask[j] != 0.0f ? scores[j] * scale : blocked;
  float lanes[8];
  for (int l = 0; l < 8; l++) lanes[l] = blocked;
  int64_t k = 0;
  for (; k + 8 <= causal; k += 8) {
    for (int l = 0; l < 8; l++) lanes[l] = scores[k + l] > lanes[l] ? scores[k + l] : lanes[l];
  }
  float m = blocked;
  for (int l = 0; l < 8; l++) m = lanes[l] > m ? lanes[l] : m;
  for (; k < causal; k++) m = scores[k] > m ? scores[k] : m;
  if (m == blocked) {
    const float p = static_cast<float>(1.0 / static_cast<double>(total));
    for (k = 0; k < total; k++) scores[k] = p;
    mix(scores, values, total, hd, out);
    return;
  }
  // exp(-inf - m) is exactly 0: blocked keys drop out, as the -1e9 scores do in the Softmax kernel.
  for (k = 0; k < causal; k++) scores[k] = expFast(scores[k] - m);
  for (int l = 0; l < 8; l++) lanes[l] = 0.0f;
  for (k = 0; k + 8 <= causal; k += 8) {
    for (int l = 0; l < 8; l++) lanes[l] += scores[k + l];
  }
  double sum = 0;
  for (int l = 0; l < 8; l++) sum += lanes[l];
  for (; k < causal; k++) sum += scores[k];
  const float inv = static_cast<float>(1.0 / sum);
  for (k = 0; k < causal; k++) scores[k] *= inv;
  mix(scores, values, causal, hd, out);
}

/** A Float32Array element of `list` with exactly `need` elements. */
const float* weight(Napi::Env env, Napi::Array list, uint32_t i, int64_t need, const std::string& name) {
  const std::string what = "gptForward: weight " + std::to_string(i) + " (" + name + ")";
  const Raw r = raw(env, list.Get(i), what);
  if (r.type != napi_float32_array) throw Napi::TypeError::New(env, what + " must be a Float32Array");
  if (static_cast<int64_t>(r.length) != need) {
    throw Napi::RangeError::New(env, what + " has " + std::to_string(r.length) + " elements, expected " + std::to_string(need));
  }
  return static_cast<const float*>(r.data);
}

// gptForward(weights, dims [vocab, d, layers, heads, ctx], kCache, vCache, capacity, ids, positions,
//            keyMask, batch, t, pastLen, logits)
//   weights: Float32Array[] in the order of kModelWeights then kLayerWeights per layer
//   kCache: [layers, batch, heads, d / heads, capacity] (keys transposed), vCache: [layers, batch,
//     heads, capacity, d / heads]; positions pastLen .. pastLen + t - 1 are written, 0 .. pastLen - 1
//     must hold the earlier tokens' keys / values
//   ids, positions: int32 [batch, t]; keyMask: [batch, capacity], 1 = real token (column j of row b)
//   logits: [batch, vocab], the LM logits of each row's last new token
Napi::Value GptForward(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const Dims dm = dims(info, 1);
  if (dm.rank != 5) throw Napi::RangeError::New(env, "gptForward: dims must be [vocab, dModel, layers, heads, contextLength]");
  Shape s{dm.d[0], dm.d[1], dm.d[2], dm.d[3], dm.d[4], 0};
  if (s.vocab < 1 || s.d < 1 || s.layers < 1 || s.heads < 1 || s.ctx < 1 || s.d % s.heads != 0) {
    throw Napi::RangeError::New(env, "gptForward: dims must be positive and dModel divisible by heads");
  }
  s.hd = s.d / s.heads;
  const int64_t capacity = num(info, 4), batch = num(info, 8), t = num(info, 9), past = num(info, 10);
  if (batch < 1 || t < 1) throw Napi::RangeError::New(env, "gptForward: batch and t must be at least 1");
  if (past + t > capacity) {
    throw Napi::RangeError::New(env, "gptForward: pastLen " + std::to_string(past) + " + t " + std::to_string(t) +
                                         " exceeds the cache capacity " + std::to_string(capacity));
  }
  const int64_t n = batch * t, d = s.d, cacheSize = s.layers * batch * s.heads * capacity * s.hd;
  if (!info[0].IsArray()) throw Napi::TypeError::New(env, "gptForward: weights must be an array of Float32Array");
  const Napi::Array list = info[0].As<Napi::Array>();
  if (list.Length() != kModelCount + kLayerCount * s.layers) {
    throw Napi::RangeError::New(env, "gptForward: expected " + std::to_string(kModelCount + kLayerCount * s.layers) +
                                         " weights for " + std::to_string(s.layers) + " layers, got " + std::to_string(list.Length()));
  }
  const int64_t modelSizes[] = {s.vocab * d, s.ctx * d, d, d};
  const float* model[kModelCount];
  for (uint32_t i = 0; i < kModelCount; i++) model[i] = weight(env, list, i, modelSizes[i], kModelWeights[i]);
  const int64_t layerSizes[] = {d, d, d * 3 * d, 3 * d, d * d, d, d, d, d * 4 * d, 4 * d, 4 * d * d, d};
  std::vector<Layer> layers(s.layers);
  for (int64_t l = 0; l < s.layers; l++) {
    const float* w[kLayerCount];
    for (uint32_t i = 0; i < kLayerCount; i++) {
      w[i] = weight(env, list, kModelCount + kLayerCount * l + i, layerSizes[i], "h." + std::to_string(l) + "." + kLayerWeights[i]);
    }
    layers[l] = {w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8], w[9], w[10], w[11]};
  }
  float* kCache = f32(info, 2, cacheSize);
  float* vCache = f32(info, 3, cacheSize);
  const int32_t* ids = i32(info, 5, n);
  const int32_t* positions = i32(info, 6, n);
  const float* keyMask = f32(info, 7, batch * capacity);
  float* logits = f32(info, 11, batch * s.vocab);
  for (int64_t r = 0; r < n; r++) {
    if (ids[r] < 0 || ids[r] >= s.vocab) {
      throw Napi::RangeError::New(env, "gptForward: token id " + std::to_string(ids[r]) + " at " + std::to_string(r) + " is outside the vocabulary");
    }
    if (positions[r] < 0 || positions[r] >= s.ctx) {
      throw Napi::RangeError::New(env, "gptForward: position " + std::to_string(positions[r]) + " at " + std::to_string(r) + " is outside the context");
    }
  }

  // Activations of this call; reused by later calls on the same thread (no page faults per step).
  thread_local std::vector<float> scratch;
  const size_t need = static_cast<size_t>(n * (d + d + 3 * d + d + d + 4 * d + 4 * d) + capacity + batch * d);
  if (scratch.size() < need) scratch.resize(need);
  float* x = scratch.data();
  float* h = x + n * d;
  float* qkv = h + n * d;
  float* att = qkv + n * 3 * d;
  float* tmp = att + n * d;
  float* fc = tmp + n * d;
  float* act = fc + n * 4 * d;
  float* scores = act + n * 4 * d;
  float* last = scores + capacity;

  const OneBlasThread oneThread;
  const float *wte = model[0], *wpe = model[1];
  for (int64_t r = 0; r < n; r++) {
    const float *te = wte + ids[r] * d, *pe = wpe + positions[r] * d;
    for (int64_t j = 0; j < d; j++) x[r * d + j] = te[j] + pe[j];
  }
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(s.hd)));
  for (int64_t l = 0; l < s.layers; l++) {
    const Layer& w = layers[l];
    layerNormRows(x, w.ln1g, w.ln1b, h, n, d, kLayerNormEps);
    linear(h, w.wqkv, w.bqkv, qkv, n, d, 3 * d);
    float* kl = kCache + l * batch * s.heads * capacity * s.hd;
    float* vl = vCache + l * batch * s.heads * capacity * s.hd;
    for (int64_t b = 0; b < batch; b++) {
      for (int64_t i = 0; i < t; i++) {
        const float* row = qkv + (b * t + i) * 3 * d;
        for (int64_t hh = 0; hh < s.heads; hh++) {
          const int64_t head = (b * s.heads + hh) * capacity * s.hd, pos = past + i;
          const float* k = row + d + hh * s.hd;
          for (int64_t e = 0; e < s.hd; e++) kl[head + e * capacity + pos] = k[e];  // keys transposed
          std::memcpy(vl + head + pos * s.hd, row + 2 * d + hh * s.hd, sizeof(float) * s.hd);
        }
      }
    }
    for (int64_t b = 0; b < batch; b++) {
      for (int64_t hh = 0; hh < s.heads; hh++) {
        const int64_t base = (b * s.heads + hh) * capacity * s.hd;
        for (int64_t i = 0; i < t; i++) {
          const int64_t r = b * t + i;
          attendOne(qkv + r * 3 * d + hh * s.hd, kl + base, capacity, vl + base, keyMask + b * capacity, past + i + 1, past + t,
                    s.hd, scale, scores, att + r * d + hh * s.hd);
        }
      }
    }
    linear(att, w.wproj, w.bproj, tmp, n, d, d);
    addInto(x, tmp, n * d);
    layerNormRows(x, w.ln2g, w.ln2b, h, n, d, kLayerNormEps);
    linear(h, w.wfc, w.bfc, fc, n, d, 4 * d);
    geluLoop(fc, act, n * 4 * d);
    linear(act, w.wout, w.bout, tmp, n, 4 * d, d);
    addInto(x, tmp, n * d);
  }
  for (int64_t b = 0; b < batch; b++) layerNormRows(x + (b * t + t - 1) * d, model[2], model[3], last + b * d, 1, d, kLayerNormEps);
  cblas_sgemm(kRowMajor, kNoTrans, kTrans, static_cast<int>(batch), static_cast<int>(s.vocab), static_cast<int>(d), 1.0f, last,
              static_cast<int>(d), wte, static_cast<int>(d), 0.0f, logits, static_cast<int>(s.vocab));
  return env.Undefined();
}

/**
 * Token ids of one row of logits from the most to the least likely, ties lowest id first: a
 * stable LSD radix sort (8-bit digits, a pass skipped where all keys share the digit) of 32-bit
 * keys that ascend as the float32 values descend, -0 keyed as +0. The same order as nn's
 * Sampling.ts computes in JavaScript, bit for bit (NaN included), about 10x faster.
 */
void rankRow(const float* x, int64_t n, int32_t* order, uint32_t* keys, uint32_t* keysB, int32_t* idsB) {
  if (n == 0) return;
  for (int64_t i = 0; i < n; i++) {
    int32_t b;
    std::memcpy(&b, x + i, 4);
    if (x[i] == 0.0f) b = 0;
    const int32_t orderable = b >= 0 ? b : b ^ 0x7fffffff;  // ascends with the float's value
    keys[i] = 0x7fffffffu - static_cast<uint32_t>(orderable);
    order[i] = static_cast<int32_t>(i);
  }
  uint32_t *k = keys, *kOut = keysB;
  int32_t *id = order, *idOut = idsB;
  int64_t counts[257];
  for (int shift = 0; shift < 32; shift += 8) {
    std::memset(counts, 0, sizeof(counts));
    for (int64_t i = 0; i < n; i++) counts[((k[i] >> shift) & 255) + 1]++;
    if (counts[((k[0] >> shift) & 255) + 1] == n) continue;
    for (int d = 1; d <= 256; d++) counts[d] += counts[d - 1];
    for (int64_t i = 0; i < n; i++) {
      const int64_t at = counts[(k[i] >> shift) & 255]++;
      kOut[at] = k[i];
      idOut[at] = id[i];
    }
    std::swap(k, kOut);
    std::swap(id, idOut);
  }
  if (id != order) std::memcpy(order, id, sizeof(int32_t) * n);
}

// rankDescending(x, rows, cols, order): order[r * cols + j] = the j-th most likely id of row r.
Napi::Value RankDescending(const Napi::CallbackInfo& info) {
  const int64_t rows = num(info, 1), cols = num(info, 2);
  const float* x = f32(info, 0, rows * cols);
  int32_t* order = i32(info, 3, rows * cols);
  std::vector<uint32_t> keys(2 * cols);
  std::vector<int32_t> ids(cols);
  for (int64_t r = 0; r < rows; r++) rankRow(x + r * cols, cols, order + r * cols, keys.data(), keys.data() + cols, ids.data());
  return info.Env().Undefined();
}
}  // namespace

void registerDecode(Napi::Env env, Napi::Object exports) {
  exports.Set("gptForward", Napi::Function::New(env, GptForward));
  exports.Set("rankDescending", Napi::Function::New(env, RankDescending));
}
}  // namespace rlhf
