// Data-movement kernels: transpose, concat/pack, pad, slice, tile.
#include <vector>

#include "common.h"

namespace rlhf {
namespace {

/** Calls f(byteSize) with a trivially-copyable type of that size. */
template <class F>
void bySize(const Napi::CallbackInfo& info, size_t size, F f) {
  switch (size) {
    case 1: return f(uint8_t{});
    case 2: return f(uint16_t{});
    case 4: return f(uint32_t{});
    case 8: return f(uint64_t{});
    default: throw Napi::TypeError::New(info.Env(), "unsupported element size");
  }
}

// ---- transpose --------------------------------------------------------------

struct TPlan {
  int rank = 0;
  int64_t size[kMaxRank];   // output dims (row-major, contiguous output)
  int64_t inSt[kMaxRank];   // input stride of each output dim
  int64_t outSt[kMaxRank];
};

TPlan makeTPlan(const Dims& s, const Dims& perm) {
  int64_t st[kMaxRank];
  int64_t acc = 1;
  for (int i = s.rank - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= s.d[i];
  }
  TPlan p;
  for (int i = 0; i < perm.rank; i++) {
    const int64_t n = s.d[perm.d[i]], is = st[perm.d[i]];
    if (n == 1) continue;
    // Merge with the previous output dim when the pair is contiguous in the input.
    if (p.rank > 0 && p.inSt[p.rank - 1] == is * n) {
      p.size[p.rank - 1] *= n;
      p.inSt[p.rank - 1] = is;
    } else {
      p.size[p.rank] = n;
      p.inSt[p.rank] = is;
      p.rank++;
    }
  }
  if (p.rank == 0) {
    p.rank = 1;
    p.size[0] = 1;
    p.inSt[0] = 1;
  }
  acc = 1;
  for (int i = p.rank - 1; i >= 0; i--) {
    p.outSt[i] = acc;
    acc *= p.size[i];
  }
  return p;
}

/** Odometer over all dims except `skipA` and `skipB`, calling f(inOffset, outOffset). */
template <class F>
INL void odometer(const TPlan& p, int skipA, int skipB, F f) {
  int64_t idx[kMaxRank] = {0};
  int64_t total = 1;
  for (int d = 0; d < p.rank; d++) {
    if (d != skipA && d != skipB) total *= p.size[d];
  }
  int64_t inOff = 0, outOff = 0;
  for (int64_t it = 0; it < total; it++) {
    f(inOff, outOff);
    for (int d = p.rank - 1; d >= 0; d--) {
      if (d == skipA || d == skipB) continue;
      idx[d]++;
      inOff += p.inSt[d];
      outOff += p.outSt[d];
      if (idx[d] < p.size[d]) break;
      inOff -= p.inSt[d] * p.size[d];
      outOff -= p.outSt[d] * p.size[d];
      idx[d] = 0;
    }
  }
}

template <class T>
void transposeT(const T* x, T* o, const TPlan& p) {
  const int last = p.rank - 1;
  if (p.inSt[last] == 1) {  // innermost run is contiguous on both sides
    const int64_t n = p.size[last];
    odometer(p, last, last, [&](int64_t i, int64_t j) { std::memcpy(o + j, x + i, sizeof(T) * n); });
    return;
  }
  int q = 0;  // the output dim that walks the input contiguously
  for (int d = 0; d < p.rank; d++) {
    if (p.inSt[d] == 1) q = d;
  }
  const int64_t nq = p.size[q], nl = p.size[last], sl = p.inSt[last], oq = p.outSt[q];
  constexpr int64_t kTile = 16;  // 16 strided input rows stay within L1 associativity better than 32
  odometer(p, q, last, [&](int64_t ib, int64_t ob) {
    for (int64_t i0 = 0; i0 < nq; i0 += kTile) {
      const int64_t i1 = i0 + kTile < nq ? i0 + kTile : nq;
      for (int64_t j0 = 0; j0 < nl; j0 += kTile) {
        const int64_t j1 = j0 + kTile < nl ? j0 + kTile : nl;
        for (int64_t i = i0; i < i1; i++) {
          T* orow = o + ob + i * oq;
          const T* xcol = x + ib + i;
          for (int64_t j = j0; j < j1; j++) orow[j] = xcol[j * sl];
        }
      }
    }
  });
}

// transpose(x, shape, perm, out)
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  Dims s = dims(info, 1), perm = dims(info, 2);
  if (perm.rank != s.rank) throw Napi::RangeError::New(info.Env(), "transpose: perm rank mismatch");
  bool seen[kMaxRank] = {false};
  for (int i = 0; i < perm.rank; i++) {
    if (perm.d[i] < 0 || perm.d[i] >= s.rank || seen[perm.d[i]]) throw Napi::RangeError::New(info.Env(), "transpose: bad perm");
    seen[perm.d[i]] = true;
  }
  const size_t es = raw(info, 0).elemSize();
  const int64_t n = s.size();
  void* x = bytes(info, 0, n * es, es);
  void* o = bytes(info, 3, n * es, es);
  if (n == 0) return info.Env().Undefined();
  TPlan p = makeTPlan(s, perm);
  bySize(info, es, [&](auto tag) {
    using T = decltype(tag);
    transposeT(static_cast<const T*>(x), static_cast<T*>(o), p);
  });
  return info.Env().Undefined();
}

// ---- concat / pack --------------------------------------------------------------

// concat(inputs[], innerSizes[], outer, out): out row = concatenation of input rows.
Napi::Value Concat(const Napi::CallbackInfo& info) {
  Napi::Array list = info[0].As<Napi::Array>();
  Napi::Array inners = info[1].As<Napi::Array>();
  const int64_t outer = num(info, 2);
  const uint32_t count = list.Length();
  const size_t es = raw(info, 3).elemSize();
  std::vector<const uint8_t*> src(count);
  std::vector<int64_t> rowBytes(count);
  int64_t outRow = 0;
  for (uint32_t i = 0; i < count; i++) {
    const int64_t inner = static_cast<int64_t>(inners.Get(i).As<Napi::Number>().DoubleValue());
    Raw r;
    napi_value ab;
    size_t off;
    if (napi_get_typedarray_info(info.Env(), list.Get(i), &r.type, &r.length, &r.data, &ab, &off) != napi_ok ||
        r.elemSize() != es || static_cast<int64_t>(r.length) < inner * outer) {
      throw Napi::TypeError::New(info.Env(), "concat: inputs must be typed arrays of the declared sizes");
    }
    src[i] = static_cast<const uint8_t*>(r.data);
    rowBytes[i] = inner * static_cast<int64_t>(es);
    outRow += rowBytes[i];
  }
  uint8_t* o = static_cast<uint8_t*>(bytes(info, 3, outRow * outer, es));
  for (int64_t a = 0; a < outer; a++) {
    uint8_t* dst = o + a * outRow;
    for (uint32_t i = 0; i < count; i++) {
      std::memcpy(dst, src[i] + a * rowBytes[i], rowBytes[i]);
      dst += rowBytes[i];
    }
  }
  return info.Env().Undefined();
}

// ---- pad / slice / tile -------------------------------------------------------

/** Copies every innermost row of an n-d box: src box `size` at `srcStart` in a
 *  tensor of `srcShape` into `dstShape` at `dstStart`. */
template <class T>
void copyBox(const T* src, const Dims& srcShape, const int64_t* srcStart, T* dst, const Dims& dstShape,
             const int64_t* dstStart, const int64_t* size) {
  const int r = srcShape.rank;
  int64_t ss[kMaxRank], ds[kMaxRank];
  int64_t a = 1, b = 1;
  for (int i = r - 1; i >= 0; i--) {
    ss[i] = a;
    ds[i] = b;
    a *= srcShape.d[i];
    b *= dstShape.d[i];
  }
  int64_t rows = 1;
  for (int i = 0; i < r - 1; i++) rows *= size[i];
  for (int i = 0; i < r; i++) {
    if (size[i] == 0) return;
  }
  const int64_t n = r == 0 ? 1 : size[r - 1];
  int64_t idx[kMaxRank] = {0};
  for (int64_t it = 0; it < rows; it++) {
    int64_t so = 0, dof = 0;
    for (int i = 0; i < r; i++) {
      const int64_t k = i == r - 1 ? 0 : idx[i];
      so += (srcStart[i] + k) * ss[i];
      dof += (dstStart[i] + k) * ds[i];
    }
    std::memcpy(dst + dof, src + so, sizeof(T) * n);
    for (int d = r - 2; d >= 0; d--) {
      if (++idx[d] < size[d]) break;
      idx[d] = 0;
    }
  }
}

// pad(x, shape, before[], after[], fill (1-element typed array of x's type), out)
Napi::Value Pad(const Napi::CallbackInfo& info) {
  Dims s = dims(info, 1), before = dims(info, 2), after = dims(info, 3);
  if (before.rank != s.rank || after.rank != s.rank) throw Napi::RangeError::New(info.Env(), "pad: paddings rank mismatch");
  Dims os = s;
  for (int i = 0; i < s.rank; i++) os.d[i] = s.d[i] + before.d[i] + after.d[i];
  const size_t es = raw(info, 0).elemSize();
  const void* x = bytes(info, 0, s.size() * es, es);
  const void* fill = bytes(info, 4, es, es);
  void* o = bytes(info, 5, os.size() * es, es);
  int64_t zero[kMaxRank] = {0};
  bySize(info, es, [&](auto tag) {
    using T = decltype(tag);
    T* out = static_cast<T*>(o);
    const T v = *static_cast<const T*>(fill);
    const int64_t total = os.size();
    for (int64_t i = 0; i < total; i++) out[i] = v;
    copyBox(static_cast<const T*>(x), s, zero, out, os, before.d, s.d);
  });
  return info.Env().Undefined();
}

// slice(x, shape, begin[], size[], out)
Napi::Value Slice(const Napi::CallbackInfo& info) {
  Dims s = dims(info, 1), begin = dims(info, 2), size = dims(info, 3);
  if (begin.rank != s.rank || size.rank != s.rank) throw Napi::RangeError::New(info.Env(), "slice: rank mismatch");
  for (int i = 0; i < s.rank; i++) {
    if (begin.d[i] < 0 || size.d[i] < 0 || begin.d[i] + size.d[i] > s.d[i]) throw Napi::RangeError::New(info.Env(), "slice: out of bounds");
  }
  const size_t es = raw(info, 0).elemSize();
  const void* x = bytes(info, 0, s.size() * es, es);
  void* o = bytes(info, 4, size.size() * es, es);
  int64_t zero[kMaxRank] = {0};
  bySize(info, es, [&](auto tag) {
    using T = decltype(tag);
    copyBox(static_cast<const T*>(x), s, begin.d, static_cast<T*>(o), size, zero, size.d);
  });
  return info.Env().Undefined();
}

/** Replicates `block` elements at dst into `times` consecutive copies (doubling memcpy). */
template <class T>
void replicate(T* dst, int64_t block, int64_t times) {
  int64_t done = 1;
  while (done < times) {
    const int64_t n = done * 2 <= times ? done : times - done;
    std::memcpy(dst + done * block, dst, sizeof(T) * block * n);
    done += n;
  }
}

/** Writes the tile of dims [d, rank) whose input starts at src into dst. */
template <class T>
void tileDim(const T* src, T* dst, const Dims& s, const Dims& reps, const int64_t* inSt, const int64_t* outSt, int d) {
  const int r = s.rank;
  if (d == r - 1) {
    const int64_t n = s.d[d];
    if (n == 1) {
      for (int64_t k = 0; k < reps.d[d]; k++) dst[k] = src[0];
    } else {
      std::memcpy(dst, src, sizeof(T) * n);
      replicate(dst, n, reps.d[d]);
    }
    return;
  }
  // The first s.d[d] rows of this dim, then copies of that block for the repetitions.
  for (int64_t i = 0; i < s.d[d]; i++) tileDim(src + i * inSt[d], dst + i * outSt[d], s, reps, inSt, outSt, d + 1);
  replicate(dst, s.d[d] * outSt[d], reps.d[d]);
}

// tile(x, shape, reps[], out)
Napi::Value Tile(const Napi::CallbackInfo& info) {
  Dims s = dims(info, 1), reps = dims(info, 2);
  if (reps.rank != s.rank) throw Napi::RangeError::New(info.Env(), "tile: reps rank mismatch");
  Dims os = s;
  for (int i = 0; i < s.rank; i++) os.d[i] = s.d[i] * reps.d[i];
  const size_t es = raw(info, 0).elemSize();
  const void* x = bytes(info, 0, s.size() * es, es);
  void* o = bytes(info, 3, os.size() * es, es);
  if (os.size() == 0) return info.Env().Undefined();
  int64_t inSt[kMaxRank], outSt[kMaxRank];
  int64_t a = 1, b = 1;
  for (int i = s.rank - 1; i >= 0; i--) {
    inSt[i] = a;
    outSt[i] = b;
    a *= s.d[i];
    b *= os.d[i];
  }
  bySize(info, es, [&](auto tag) {
    using T = decltype(tag);
    const T* src = static_cast<const T*>(x);
    T* dst = static_cast<T*>(o);
    if (s.rank == 0) dst[0] = src[0];
    else tileDim(src, dst, s, reps, inSt, outSt, 0);
  });
  return info.Env().Undefined();
}
}  // namespace

void registerLayout(Napi::Env env, Napi::Object exports) {
  exports.Set("transpose", Napi::Function::New(env, Transpose));
  exports.Set("concat", Napi::Function::New(env, Concat));
  exports.Set("pad", Napi::Function::New(env, Pad));
  exports.Set("slice", Napi::Function::New(env, Slice));
  exports.Set("tile", Napi::Function::New(env, Tile));
}
}  // namespace rlhf
