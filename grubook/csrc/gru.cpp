// grubook/csrc/gru.cpp: the GRU's forward and hand-written backward through time in C++.
//
// The same loops as grubook/bptt.py, without Python between the operations: per step one
// matrix multiplication (ATen, which calls the BLAS) and one fused pass over the B x H units
// that computes every gate at once. Chapter 8, *Making it fast*, walks through this file.
// Built on first use by torch.utils.cpp_extension.load (grubook/_cpp.py).
//
// Layout (time-first, gate order r, z, n as in torch.nn.GRU):
//   gi     (T, B, 3H)  W_ih x_t + b_ih for every step, computed before the loop
//   gates  (T, B, 4H)  saved per step: r, z, n, and W_hn h + b_hn (reset_after) or r * h
//   hprev  (T, B, H)   the state each step started from
#include <torch/extension.h>

#include <cmath>
#include <cstdint>
#include <cstring>  // memcpy
#include <vector>

namespace {

// exp(x) from a polynomial (Cephes' expf), so that a loop calling it has no library call and
// the compiler can vectorize it (no floor, no fmin: those stop gcc's vectorizer); within 2 float
// ulps of std::exp. Doubles use std::exp.
inline float vexp(float x) {
  x = x < -87.3f ? -87.3f : x;
  x = x > 88.3f ? 88.3f : x;  // keep 2^k a normal float
  float k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round(x / ln 2)
  float f = x - k * 0.693359375f + k * 2.12194440e-4f;  // x = k ln 2 + f, |f| <= ln 2 / 2
  float p = 1.9875691500e-4f;
  p = p * f + 1.3981999507e-3f;
  p = p * f + 8.3334519073e-3f;
  p = p * f + 4.1665795894e-2f;
  p = p * f + 1.6666665459e-1f;
  p = p * f + 5.0000001201e-1f;
  p = p * f * f + f + 1.0f;
  int32_t bits = (static_cast<int32_t>(k) + 127) << 23;  // 2^k as a float's exponent field
  return p * __builtin_bit_cast(float, bits);
}
inline double vexp(double x) { return std::exp(x); }

template <typename T>
inline T sigmoid(T x) {
  return T(1) / (T(1) + vexp(-x));
}
template <typename T>
inline T tanh_(T x) {  // tanh x = 1 - 2 / (e^{2x} + 1)
  return T(1) - T(2) / (vexp(T(2) * x) + T(1));
}

// The fused passes are compiled once each (not inlined into their callers), with restrict
// pointers: then gcc vectorizes every one of them.
#define KERNEL __attribute__((noinline))
#define R __restrict

// Is step t inside sequence b? (lengths: (B,) int64, or null for full-length sequences)
inline bool active(const int64_t* lengths, int64_t t, int64_t b) {
  return lengths == nullptr || t < lengths[b];
}

// One step, reset_after = true: gh = W_hh h (B, 3H) is done; the rest in one pass.
template <typename T>
KERNEL void step_after(const T* R gi, const T* R gh, const T* R bias, T* R h, T* R out, T* R g, T* R hp,
                const int64_t* lengths, int64_t t, int64_t B, int64_t H) {
  for (int64_t b = 0; b < B; ++b) {
    const T* gib = gi + b * 3 * H;
    const T* ghb = gh + b * 3 * H;
    T* hb = h + b * H;
    T* gb = g + b * 4 * H;
    T* ob = out + b * H;
    if (hp) std::memcpy(hp + b * H, hb, H * sizeof(T));
    if (!active(lengths, t, b)) {  // past the end: output 0, state kept, gates 0 (finite)
      std::memset(gb, 0, 4 * H * sizeof(T));
      std::memset(ob, 0, H * sizeof(T));
      continue;
    }
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      T r = sigmoid(gib[j] + ghb[j] + bias[j]);
      T z = sigmoid(gib[H + j] + ghb[H + j] + bias[H + j]);
      T ghn = ghb[2 * H + j] + bias[2 * H + j];  // W_hn h + b_hn
      T n = tanh_(gib[2 * H + j] + r * ghn);
      T hn = n + z * (hb[j] - n);  // (1 - z) n + z h
      gb[j] = r, gb[H + j] = z, gb[2 * H + j] = n, gb[3 * H + j] = ghn;
      ob[j] = hb[j] = hn;
    }
  }
}

// One step, reset_after = false, part 1: r and z from gh = W_h(rz) h (B, 2H); rh = r * h.
template <typename T>
KERNEL void step_before_rz(const T* R gi, const T* R gh, const T* R bias, const T* R h, T* R g, T* R rh,
                    int64_t B, int64_t H) {
  for (int64_t b = 0; b < B; ++b) {
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      T r = sigmoid(gi[b * 3 * H + j] + gh[b * 2 * H + j] + bias[j]);
      T z = sigmoid(gi[b * 3 * H + H + j] + gh[b * 2 * H + H + j] + bias[H + j]);
      g[b * 4 * H + j] = r, g[b * 4 * H + H + j] = z;
      rh[b * H + j] = g[b * 4 * H + 3 * H + j] = r * h[b * H + j];
    }
  }
}

// Part 2: the candidate from ghn = W_hn (r * h) (B, H), then the new state.
template <typename T>
KERNEL void step_before_n(const T* R gi, const T* R ghn, const T* R bias, T* R h, T* R out, T* R g, T* R hp,
                   const int64_t* lengths, int64_t t, int64_t B, int64_t H) {
  for (int64_t b = 0; b < B; ++b) {
    T* hb = h + b * H;
    T* gb = g + b * 4 * H;
    if (hp) std::memcpy(hp + b * H, hb, H * sizeof(T));
    if (!active(lengths, t, b)) {
      std::memset(gb, 0, 4 * H * sizeof(T));
      std::memset(out + b * H, 0, H * sizeof(T));
      continue;
    }
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      T n = tanh_(gi[b * 3 * H + 2 * H + j] + ghn[b * H + j] + bias[2 * H + j]);
      T hn = n + gb[H + j] * (hb[j] - n);
      gb[2 * H + j] = n;
      out[b * H + j] = hb[j] = hn;
    }
  }
}

template <typename T>
const T* ptr(const c10::optional<at::Tensor>& t) {
  return t && t->defined() ? t->data_ptr<T>() : nullptr;
}

template <typename T>
void forward_loop(const at::Tensor& gi, at::Tensor& h, const at::Tensor& w_hh,
                  const at::Tensor& b_hh, const int64_t* lengths, bool reverse,
                  bool reset_after, at::Tensor& out, at::Tensor& gates, at::Tensor& hprev) {
  const int64_t T_ = gi.size(0), B = gi.size(1), H = h.size(1);
  const bool save = hprev.size(0) == T_;
  auto gh = at::empty({B, (reset_after ? 3 : 2) * H}, gi.options());
  auto rh = at::empty({B, H}, gi.options());
  auto ghn = at::empty({B, H}, gi.options());
  auto w_rz_t = w_hh.narrow(0, 0, 2 * H).t(), w_n_t = w_hh.narrow(0, 2 * H, H).t();
  for (int64_t s = 0; s < T_; ++s) {
    const int64_t t = reverse ? T_ - 1 - s : s;
    T* g = gates[save ? t : 0].data_ptr<T>();
    T* hp = save ? hprev[t].data_ptr<T>() : nullptr;
    const T* gi_t = gi[t].data_ptr<T>();
    if (reset_after) {
      at::mm_out(gh, h, w_hh.t());  // (B, 3H): one matmul for all three gates
      step_after<T>(gi_t, gh.data_ptr<T>(), b_hh.data_ptr<T>(), h.data_ptr<T>(),
                    out[t].data_ptr<T>(), g, hp, lengths, t, B, H);
    } else {
      at::mm_out(gh, h, w_rz_t);  // (B, 2H)
      step_before_rz<T>(gi_t, gh.data_ptr<T>(), b_hh.data_ptr<T>(), h.data_ptr<T>(), g,
                        rh.data_ptr<T>(), B, H);
      at::mm_out(ghn, rh, w_n_t);  // (B, H): W_hn (r * h)
      step_before_n<T>(gi_t, ghn.data_ptr<T>(), b_hh.data_ptr<T>(), h.data_ptr<T>(),
                       out[t].data_ptr<T>(), g, hp, lengths, t, B, H);
    }
  }
}

}  // namespace

// Forward through time. Returns {out (T, B, H), h_T (B, H), gates, hprev}; with save = false
// (inference) gates and hprev hold one step only.
std::vector<at::Tensor> forward(const at::Tensor& gi_in, const at::Tensor& h0,
                                const at::Tensor& w_hh, const c10::optional<at::Tensor>& b_hh,
                                const c10::optional<at::Tensor>& lengths, bool reverse,
                                bool reset_after, bool save) {
  auto gi = gi_in.contiguous();
  const int64_t T_ = gi.size(0), B = gi.size(1), H = h0.size(1);
  auto h = h0.contiguous().clone();
  auto out = at::empty({T_, B, H}, gi.options());
  auto gates = at::empty({save ? T_ : 1, B, 4 * H}, gi.options());
  auto hprev = at::empty({save ? T_ : 0, B, H}, gi.options());
  auto w = w_hh.contiguous();
  // no bias: zeros, so that the fused passes have no branch
  auto b = b_hh && b_hh->defined() ? b_hh->contiguous() : at::zeros({3 * H}, gi.options());
  const int64_t* len = lengths && lengths->defined() ? lengths->data_ptr<int64_t>() : nullptr;
  AT_DISPATCH_FLOATING_TYPES(gi.scalar_type(), "grubook_gru_forward", [&] {
    forward_loop<scalar_t>(gi, h, w, b, len, reverse, reset_after, out, gates, hprev);
  });
  return {out, h, gates, hprev};
}

namespace {

// Backward of one step, reset_after = true. u = dL/dh_t (carried + from the output);
// writes dL/d(gi_t) = (dr, dz, dn) pre-activation and dL/d(gh_t) = (dr, dz, dn * r), and
// dhz = u * z, the part of dL/dh_{t-1} that skips the matmul.
template <typename T>
KERNEL void back_after(const T* R dout, const T* R dh, const T* R g, const T* R hp, T* R dgi, T* R dgh, T* R dhz,
                const int64_t* lengths, int64_t t, int64_t B, int64_t H) {
  for (int64_t b = 0; b < B; ++b) {
    const T* gb = g + b * 4 * H;
    T* dgib = dgi + b * 3 * H;
    T* dghb = dgh + b * 3 * H;
    const T on = active(lengths, t, b) ? T(1) : T(0);
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      T r = gb[j], z = gb[H + j], n = gb[2 * H + j], ghn = gb[3 * H + j];
      T u = dh[b * H + j] + on * dout[b * H + j];
      T dn = on * u * (T(1) - z) * (T(1) - n * n);      // through tanh
      T dz = on * u * (hp[b * H + j] - n) * z * (T(1) - z);  // through sigmoid
      T dr = dn * ghn * r * (T(1) - r);
      dgib[j] = dghb[j] = dr;
      dgib[H + j] = dghb[H + j] = dz;
      dgib[2 * H + j] = dn;
      dghb[2 * H + j] = dn * r;
      dhz[b * H + j] = on * u * z + (T(1) - on) * dh[b * H + j];
    }
  }
}

// reset_after = false, part 1: dn and dz (into dgi), dhz = u * z.
template <typename T>
KERNEL void back_before_nz(const T* R dout, const T* R dh, const T* R g, const T* R hp, T* R dgi, T* R dhz,
                    const int64_t* lengths, int64_t t, int64_t B, int64_t H) {
  for (int64_t b = 0; b < B; ++b) {
    const T* gb = g + b * 4 * H;
    const T on = active(lengths, t, b) ? T(1) : T(0);
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      T z = gb[H + j], n = gb[2 * H + j];
      T u = dh[b * H + j] + on * dout[b * H + j];
      dgi[b * 3 * H + 2 * H + j] = on * u * (T(1) - z) * (T(1) - n * n);
      dgi[b * 3 * H + H + j] = on * u * (hp[b * H + j] - n) * z * (T(1) - z);
      dhz[b * H + j] = on * u * z + (T(1) - on) * dh[b * H + j];
    }
  }
}

// Part 2, from drh = dL/d(r * h) = dn W_hn: dr, and drh * r added to dhz.
template <typename T>
KERNEL void back_before_r(const T* R drh, const T* R g, const T* R hp, T* R dgi, T* R dhz, int64_t B, int64_t H) {
  for (int64_t b = 0; b < B; ++b) {
    const T* gb = g + b * 4 * H;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      T r = gb[j];
      dgi[b * 3 * H + j] = drh[b * H + j] * hp[b * H + j] * r * (T(1) - r);
      dhz[b * H + j] += drh[b * H + j] * r;
    }
  }
}

template <typename T>
void backward_loop(const at::Tensor& dout, at::Tensor& dh, const at::Tensor& gates,
                   const at::Tensor& hprev, const at::Tensor& w_hh, const int64_t* lengths,
                   bool reverse, bool reset_after, at::Tensor& dgi, at::Tensor& dgh) {
  const int64_t T_ = dout.size(0), B = dout.size(1), H = dh.size(1);
  auto dhz = at::empty({B, H}, dh.options());
  auto drh = at::empty({B, H}, dh.options());
  auto w_rz = w_hh.narrow(0, 0, 2 * H), w_n = w_hh.narrow(0, 2 * H, H);
  for (int64_t s = T_ - 1; s >= 0; --s) {  // the steps in the opposite order of the forward
    const int64_t t = reverse ? T_ - 1 - s : s;
    const T* g = gates[t].data_ptr<T>();
    const T* hp = hprev[t].data_ptr<T>();
    if (reset_after) {
      back_after<T>(dout[t].data_ptr<T>(), dh.data_ptr<T>(), g, hp, dgi[t].data_ptr<T>(),
                    dgh[t].data_ptr<T>(), dhz.data_ptr<T>(), lengths, t, B, H);
      at::addmm_out(dh, dhz, dgh[t], w_hh);  // dL/dh_{t-1} = u z + dgh W_hh
    } else {
      back_before_nz<T>(dout[t].data_ptr<T>(), dh.data_ptr<T>(), g, hp, dgi[t].data_ptr<T>(),
                        dhz.data_ptr<T>(), lengths, t, B, H);
      at::mm_out(drh, dgi[t].narrow(1, 2 * H, H), w_n);
      back_before_r<T>(drh.data_ptr<T>(), g, hp, dgi[t].data_ptr<T>(), dhz.data_ptr<T>(), B, H);
      at::addmm_out(dh, dhz, dgi[t].narrow(1, 0, 2 * H), w_rz);
    }
  }
}

}  // namespace

// Backward through time. Returns {dgi (T, B, 3H), dh0 (B, H), dW_hh (3H, H), db_hh (3H,)}:
// the weight gradients are one large matmul each, after the loop.
std::vector<at::Tensor> backward(const at::Tensor& dout_in, const at::Tensor& dh_last,
                                 const at::Tensor& gates, const at::Tensor& hprev,
                                 const at::Tensor& w_hh, const c10::optional<at::Tensor>& lengths,
                                 bool reverse, bool reset_after) {
  auto dout = dout_in.contiguous();
  const int64_t T_ = dout.size(0), B = dout.size(1), H = dout.size(2);
  auto dh = dh_last.contiguous().clone();
  auto dgi = at::empty({T_, B, 3 * H}, dout.options());
  auto dgh = reset_after ? at::empty({T_, B, 3 * H}, dout.options()) : dgi;
  auto w = w_hh.contiguous();
  const int64_t* len = lengths && lengths->defined() ? lengths->data_ptr<int64_t>() : nullptr;
  AT_DISPATCH_FLOATING_TYPES(dout.scalar_type(), "grubook_gru_backward", [&] {
    backward_loop<scalar_t>(dout, dh, gates, hprev, w, len, reverse, reset_after, dgi, dgh);
  });
  auto hp = hprev.reshape({T_ * B, H});
  auto dg = dgh.reshape({T_ * B, 3 * H});
  at::Tensor dw;
  if (reset_after) {
    dw = at::mm(dg.t(), hp);  // (3H, H) = sum_t dgh_t^T h_{t-1}
  } else {
    auto rh = gates.narrow(2, 3 * H, H).reshape({T_ * B, H});
    dw = at::cat({at::mm(dg.narrow(1, 0, 2 * H).t(), hp), at::mm(dg.narrow(1, 2 * H, H).t(), rh)});
  }
  return {dgi, dh, dw, dg.sum(0)};
}

namespace {

// y = W v + b for one (rows, cols) matrix and one vector: the batch-1 step's matrix-vector loop.
template <typename T>
void matvec(const T* W, const T* v, const T* bias, T* y, int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows; ++i) {
    T acc = bias ? bias[i] : T(0);
#pragma omp simd reduction(+ : acc)
    for (int64_t k = 0; k < cols; ++k) acc += W[i * cols + k] * v[k];
    y[i] = acc;
  }
}

template <typename T>
void cell_one(const T* x, const T* h, const T* w_ih, const T* w_hh, const T* b_ih,
              const T* b_hh, bool reset_after, T* gi, T* gh, T* g, T* h_new, int64_t I,
              int64_t H) {
  matvec(w_ih, x, b_ih, gi, 3 * H, I);
  if (reset_after) {
    matvec(w_hh, h, (const T*)nullptr, gh, 3 * H, H);
    std::memcpy(h_new, h, H * sizeof(T));
    step_after<T>(gi, gh, b_hh, h_new, g + 4 * H, g, nullptr, nullptr, 0, 1, H);
  } else {
    matvec(w_hh, h, (const T*)nullptr, gh, 2 * H, H);
    step_before_rz<T>(gi, gh, b_hh, h, g, gh + 2 * H, 1, H);  // r * h into gh's tail
    matvec(w_hh + 2 * H * H, gh + 2 * H, (const T*)nullptr, gh, H, H);
    std::memcpy(h_new, h, H * sizeof(T));
    step_before_n<T>(gi, gh, b_hh, h_new, g + 4 * H, g, nullptr, nullptr, 0, 1, H);
  }
}

}  // namespace

// One GRUCell step without autograd (inference): x (B, I), h (B, H) -> h' (B, H). B = 1 runs
// its own matrix-vector loops; larger batches use the matmul and the forward's fused pass.
at::Tensor cell_step(const at::Tensor& x_in, const at::Tensor& h_in, const at::Tensor& w_ih,
                     const at::Tensor& w_hh, const c10::optional<at::Tensor>& b_ih,
                     const c10::optional<at::Tensor>& b_hh, bool reset_after) {
  auto x = x_in.contiguous(), h = h_in.contiguous();
  const int64_t B = x.size(0), I = x.size(1), H = h.size(1);
  if (B != 1) {
    auto gi = b_ih && b_ih->defined() ? at::addmm(*b_ih, x, w_ih.t()) : at::mm(x, w_ih.t());
    return forward(gi.unsqueeze(0), h, w_hh, b_hh, c10::nullopt, false, reset_after, false)[1];
  }
  auto wi = w_ih.contiguous(), wh = w_hh.contiguous();
  auto bh = b_hh && b_hh->defined() ? b_hh->contiguous() : at::zeros({3 * H}, x.options());
  auto h_new = at::empty({1, H}, x.options());
  auto work = at::empty({3 * H + 3 * H + 5 * H}, x.options());  // gi, gh, gates, out
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "grubook_gru_cell_step", [&] {
    scalar_t* w = work.data_ptr<scalar_t>();
    cell_one<scalar_t>(x.data_ptr<scalar_t>(), h.data_ptr<scalar_t>(), wi.data_ptr<scalar_t>(),
                       wh.data_ptr<scalar_t>(), ptr<scalar_t>(b_ih), bh.data_ptr<scalar_t>(),
                       reset_after, w, w + 3 * H, w + 6 * H, h_new.data_ptr<scalar_t>(), I, H);
  });
  return h_new;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &forward, "GRU forward through time (saves what backward needs)");
  m.def("backward", &backward, "GRU backward through time");
  m.def("cell_step", &cell_step, "one GRUCell step without autograd");
}
