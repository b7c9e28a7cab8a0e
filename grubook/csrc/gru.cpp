// grubook/csrc/gru.cpp: the GRU's forward and hand-written backward through time in C++.
//
// The same loops as grubook/bptt.py, without Python between the operations, in two versions.
// The first loop (sections 2 and 5) makes per step one ATen matmul (PyTorch's own, so the
// same BLAS) and one fused pass over the B x H units that computes every gate at once. The
// fused step (sections 4 and 6, the default for reset_after = true) makes each step ONE pass
// on every thread at once: each thread owns a range of hidden units, multiplies h_{t-1} by
// the rows of W_hh that belong to its units, and turns the results into the gates and h_t
// while they are still in registers; the threads meet once per step. reset_after = false
// needs all of r before its second matmul, so it keeps the first loop. The batch-1 step of
// GRUCell (section 7) has its own matrix-vector loop. Chapter 8, *Making it fast*, walks
// through this file. Built on first use by torch.utils.cpp_extension.load (grubook/_cpp.py).
//
// Layout (time-first, gate order r, z, n as in torch.nn.GRU):
//   gi     (T, B, 3H)  W_ih x_t + b_ih for every step, computed before the loop
//   gates  (T, B, 4H)  saved per step: r, z, n, and W_hn h + b_hn (reset_after) or r * h
//   hprev  (T, B, H)   the state each step started from
#include <torch/extension.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>  // memcpy, memset
#include <thread>   // std::this_thread::yield
#include <vector>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

// ---------------------------------------------------------------------------------------------
// 1. Elementwise pieces

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

// The gates of one row (one sequence b) for nu units, from the hidden pre-activations
// a_r = W_hr h + b_hr, a_z, a_n (each nu numbers): h_new = (1 - z) n + z h. With SAVE it keeps
// r, z, n and a_n in g (4 blocks of `stride` numbers) for the backward.
template <typename T, bool SAVE>
inline void gates_after(const T* R gi, const T* R a_r, const T* R a_z, const T* R a_n,
                        const T* R h, T* R h_new, T* R out, T* R g, int64_t nu, int64_t stride) {
#pragma omp simd
  for (int64_t i = 0; i < nu; ++i) {
    const T r = sigmoid(gi[i] + a_r[i]);
    const T z = sigmoid(gi[stride + i] + a_z[i]);
    const T n = tanh_(gi[2 * stride + i] + r * a_n[i]);
    const T y = n + z * (h[i] - n);
    if (SAVE) g[i] = r, g[stride + i] = z, g[2 * stride + i] = n, g[3 * stride + i] = a_n[i];
    h_new[i] = out[i] = y;
  }
}

// ---------------------------------------------------------------------------------------------
// 2. The first loop: ATen's matmul, then one fused pass

// One step, reset_after = true: gh = W_hh h + b_hh (B, 3H) is done; the rest in one pass.
template <typename T, bool SAVE>
KERNEL void step_after(const T* R gi, const T* R gh, const T* R h, T* R h_new, T* R out,
                       T* R g, T* R hp, const int64_t* lengths, int64_t t, int64_t B,
                       int64_t H) {
  for (int64_t b = 0; b < B; ++b) {
    const T* ghb = gh + b * 3 * H;
    if (SAVE) std::memcpy(hp + b * H, h + b * H, H * sizeof(T));
    if (!active(lengths, t, b)) {  // past the end: output 0, state kept, gates 0 (finite)
      if (SAVE) std::memset(g + b * 4 * H, 0, 4 * H * sizeof(T));
      std::memset(out + b * H, 0, H * sizeof(T));
      std::memcpy(h_new + b * H, h + b * H, H * sizeof(T));
      continue;
    }
    gates_after<T, SAVE>(gi + b * 3 * H, ghb, ghb + H, ghb + 2 * H, h + b * H, h_new + b * H,
                         out + b * H, SAVE ? g + b * 4 * H : nullptr, H, H);
  }
}

// One step, reset_after = false, part 1: r and z from gh = W_h(rz) h (B, 2H); rh = r * h.
template <typename T>
KERNEL void step_before_rz(const T* R gi, const T* R gh, const T* R bias, const T* R h, T* R g,
                           T* R rh, int64_t B, int64_t H) {
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
KERNEL void step_before_n(const T* R gi, const T* R ghn, const T* R bias, T* R h, T* R out,
                          T* R g, T* R hp, const int64_t* lengths, int64_t t, int64_t B,
                          int64_t H) {
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
void forward_loop(const at::Tensor& gi, at::Tensor& h, const at::Tensor& w_hh,
                  const at::Tensor& b_hh, const int64_t* lengths, bool reverse,
                  bool reset_after, at::Tensor& out, at::Tensor& gates, at::Tensor& hprev) {
  const int64_t T_ = gi.size(0), B = gi.size(1), H = h.size(1);
  const bool save = hprev.size(0) == T_;
  auto gh = at::empty({B, (reset_after ? 3 : 2) * H}, gi.options());
  auto rh = at::empty({B, H}, gi.options());
  auto ghn = at::empty({B, H}, gi.options());
  auto h_other = at::empty_like(h);
  auto w_rz_t = w_hh.narrow(0, 0, 2 * H).t(), w_n_t = w_hh.narrow(0, 2 * H, H).t();
  for (int64_t s = 0; s < T_; ++s) {
    const int64_t t = reverse ? T_ - 1 - s : s;
    T* g = save ? gates[t].data_ptr<T>() : nullptr;
    T* hp = save ? hprev[t].data_ptr<T>() : nullptr;
    const T* gi_t = gi[t].data_ptr<T>();
    if (reset_after) {
      at::addmm_out(gh, b_hh, h, w_hh.t());  // (B, 3H): one matmul for all three gates
      auto step = save ? step_after<T, true> : step_after<T, false>;
      step(gi_t, gh.data_ptr<T>(), h.data_ptr<T>(), h_other.data_ptr<T>(), out[t].data_ptr<T>(),
           g, hp, lengths, t, B, H);
      std::swap(h, h_other);
    } else {
      T* g1 = save ? g : gates[0].data_ptr<T>();  // inference: one step's scratch
      at::mm_out(gh, h, w_rz_t);  // (B, 2H)
      step_before_rz<T>(gi_t, gh.data_ptr<T>(), b_hh.data_ptr<T>(), h.data_ptr<T>(), g1,
                        rh.data_ptr<T>(), B, H);
      at::mm_out(ghn, rh, w_n_t);  // (B, H): W_hn (r * h)
      step_before_n<T>(gi_t, ghn.data_ptr<T>(), b_hh.data_ptr<T>(), h.data_ptr<T>(),
                       out[t].data_ptr<T>(), g1, hp, lengths, t, B, H);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Vectors and threads

#if defined(__AVX512F__)
constexpr int64_t VBYTES = 64;  // one vector register: 16 floats or 8 doubles
constexpr int64_t MR = 8;       // rows per tile: 3 MR accumulators + 3 weight vectors <= 32
#else
constexpr int64_t VBYTES = 32;  // AVX2 (and, as two registers, NEON)
constexpr int64_t MR = 4;       // 3 MR + 3 <= 16 registers
#endif

// A vector register of T (GCC/Clang vector extension: any target, no intrinsics). The reduced
// alignment lets it load from and store to any element's address.
template <typename T>
struct Simd {
  static constexpr int64_t width = VBYTES / sizeof(T);
  typedef T vec __attribute__((vector_size(VBYTES), aligned(sizeof(T))));
};

template <typename T>
inline typename Simd<T>::vec load(const T* p) {
  return *reinterpret_cast<const typename Simd<T>::vec*>(p);
}
template <typename T>
inline void store(T* p, typename Simd<T>::vec v) {
  *reinterpret_cast<typename Simd<T>::vec*>(p) = v;
}

// How the threads share the steps. A step is `pieces` pieces of work (blocks of units); piece
// p of every step is first offered to its home thread, the thread whose equal share of the
// pieces holds p (so each thread keeps reusing the same weights, in its own cache). A thread
// takes the pieces of its share one by one, then any piece of another share not yet taken; a
// step begins when every piece of the step before is done. So a thread that the operating
// system has paused (the machine busy with other work) holds nothing up, unless it was paused
// in the middle of a piece: the others take its pieces. Counters only grow: piece k of a share
// of n belongs to step k / n.
struct Steps {
  static constexpr int kMaxThreads = 64;
  struct alignas(64) Counter {  // one cache line each: threads write them at once
    std::atomic<int64_t> n{0};
  };
  Counter taken[kMaxThreads];  // pieces taken from each share, over all steps
  Counter done;                // pieces finished, over all steps
  int64_t pieces;

  explicit Steps(int64_t pieces_) : pieces(pieces_) {}

  // Run piece(p) for each piece p of step s this thread takes; return when step s is done.
  template <typename Piece>
  void run(int64_t s, int me, int P, const Piece& piece) {
    for (int q = 0; q < P; ++q) {
      const int share = (me + q) % P;  // its own share first
      const int64_t lo = pieces * share / P, n = pieces * (share + 1) / P - lo;
      std::atomic<int64_t>& counter = taken[share].n;
      int64_t k = counter.load(std::memory_order_relaxed);
      while (k < (s + 1) * n) {  // pieces of step s left in this share: take one
        if (counter.compare_exchange_weak(k, k + 1, std::memory_order_relaxed)) {
          piece(lo + k - s * n);
          done.n.fetch_add(1, std::memory_order_release);
          k = counter.load(std::memory_order_relaxed);
        }
      }
    }
    // wait for the pieces the other threads are still computing: spin briefly, then yield
    for (int spins = 0; done.n.load(std::memory_order_acquire) < (s + 1) * pieces; ++spins) {
      if (spins < 256) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      } else {
        std::this_thread::yield();
      }
    }
  }
};

// Run body(me, P) on P threads: P = `threads`, or fewer where OpenMP gives fewer (one without
// OpenMP, or inside another parallel region). No thread waits for the others to start.
template <typename Body>
void on_threads(int threads, const Body& body) {
  threads = std::min(threads, Steps::kMaxThreads);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
#ifdef _OPENMP
    body(omp_get_thread_num(), omp_get_num_threads());
#else
    body(0, 1);
#endif
  }
}

// Threads for the fused loops: PyTorch's intra-op threads, but one where a step is too small
// for the threads' meeting per step to pay off, and no more than there are pieces per step.
int fused_threads(int64_t B, int64_t H, int64_t pieces) {
  if (2 * B * H * 3 * H < (int64_t(1) << 18)) return 1;
  return static_cast<int>(std::min<int64_t>(at::get_num_threads(), pieces));
}

// ---------------------------------------------------------------------------------------------
// 4. The fused step (reset_after = true)

// Pack W_hh (3H, H) and b_hh (3H,) by blocks of V units: for block u and each k, the weights
// W_hh[g H + u V + i, k] of its units for gate g = r, z, n side by side (zeros past unit H), so
// that a tile reads 3 V consecutive weights per k. Returns {panel (U, H, 3, V), bias (U, 3, V)}.
template <typename T>
std::vector<at::Tensor> pack_rzn(const at::Tensor& w, const at::Tensor& b, int64_t H) {
  constexpr int64_t V = Simd<T>::width;
  const int64_t U = (H + V - 1) / V;
  auto panel = at::zeros({U, H, 3, V}, w.options());
  auto bias = at::zeros({U, 3, V}, w.options());
  const T* W = w.data_ptr<T>();
  const T* Bh = b.data_ptr<T>();
  T* P = panel.data_ptr<T>();
  T* Pb = bias.data_ptr<T>();
  for (int64_t u = 0; u < U; ++u)
    for (int64_t g = 0; g < 3; ++g)
      for (int64_t i = 0; i < V && u * V + i < H; ++i) {
        const int64_t row = g * H + u * V + i;
        Pb[(u * 3 + g) * V + i] = Bh[row];
        for (int64_t k = 0; k < H; ++k) P[((u * H + k) * 3 + g) * V + i] = W[row * H + k];
      }
  return {panel, bias};
}

// acc (M, 3, V) = b_hh + h[b0 : b0 + M] W_hh^T for the r, z, n rows of one block of V units: per
// k, three vectors of weights, each multiplied by one number of h broadcast to every lane.
template <typename T, int64_t M>
inline void rzn_tile(const T* R h, int64_t K, const T* R panel, const T* R bias, T* R acc_out) {
  constexpr int64_t V = Simd<T>::width;
  typename Simd<T>::vec acc[M][3];
  for (int64_t m = 0; m < M; ++m)
    for (int64_t g = 0; g < 3; ++g) acc[m][g] = load(bias + g * V);
  for (int64_t k = 0; k < K; ++k) {
    const auto w0 = load(panel + k * 3 * V), w1 = load(panel + k * 3 * V + V),
               w2 = load(panel + k * 3 * V + 2 * V);
    for (int64_t m = 0; m < M; ++m) {
      const T a = h[m * K + k];
      acc[m][0] += a * w0;
      acc[m][1] += a * w1;
      acc[m][2] += a * w2;
    }
  }
  for (int64_t m = 0; m < M; ++m)
    for (int64_t g = 0; g < 3; ++g) store(acc_out + (m * 3 + g) * V, acc[m][g]);
}

// The gates of one tile, units j0 .. j0 + nu - 1 of rows b0 .. b0 + M - 1, from its
// accumulators; h_new is the other buffer of the state.
template <typename T, bool SAVE>
inline void rzn_gates(const T* R acc, const T* R gi, const T* R h, T* R h_new, T* R out, T* R g,
                      T* R hp, const int64_t* lengths, int64_t t, int64_t b0, int64_t M,
                      int64_t j0, int64_t nu, int64_t H) {
  constexpr int64_t V = Simd<T>::width;
  for (int64_t m = 0; m < M; ++m) {
    const int64_t b = b0 + m;
    const T* hb = h + b * H + j0;
    T* hn = h_new + b * H + j0;
    T* ob = out + b * H + j0;
    T* gb = SAVE ? g + b * 4 * H + j0 : nullptr;
    if (SAVE) std::memcpy(hp + b * H + j0, hb, nu * sizeof(T));
    if (!active(lengths, t, b)) {  // past the end: output 0, state kept, gates 0
      std::memcpy(hn, hb, nu * sizeof(T));
      std::memset(ob, 0, nu * sizeof(T));
      if (SAVE)
        for (int64_t q = 0; q < 4; ++q) std::memset(gb + q * H, 0, nu * sizeof(T));
      continue;
    }
    const T* a = acc + m * 3 * V;
    gates_after<T, SAVE>(gi + b * 3 * H + j0, a, a + V, a + 2 * V, hb, hn, ob, gb, nu, H);
  }
}

// The whole forward: h and h_other are two (B, H) buffers, h holding h_0; returns the one that
// holds h_T. Each thread runs its blocks of units through every step; out[t] is written once.
template <typename T, bool SAVE>
T* fused_forward(const T* gi, T* h, T* h_other, const T* panel, const T* bias,
                 const int64_t* lengths, bool reverse, int64_t T_, int64_t B, int64_t H, T* out,
                 T* gates, T* hprev) {
  constexpr int64_t V = Simd<T>::width;
  Steps steps((H + V - 1) / V);  // a piece: one block of V units, every row
  on_threads(fused_threads(B, H, steps.pieces), [&](int me, int P) {
    alignas(64) T acc[MR * 3 * V];
    for (int64_t s = 0; s < T_; ++s) {
      const int64_t t = reverse ? T_ - 1 - s : s;
      T* hc = s % 2 == 0 ? h : h_other;  // h_{t-1}, read by every thread
      T* hn = s % 2 == 0 ? h_other : h;  // h_t, each block written by one thread
      const T* gi_t = gi + t * B * 3 * H;
      T* out_t = out + t * B * H;
      T* g_t = SAVE ? gates + t * B * 4 * H : nullptr;
      T* hp_t = SAVE ? hprev + t * B * H : nullptr;
      steps.run(s, me, P, [&](int64_t u) {
        const T* pu = panel + u * H * 3 * V;
        const T* bu = bias + u * 3 * V;
        const int64_t j0 = u * V, nu = std::min(V, H - j0);
        for (int64_t b0 = 0; b0 < B; b0 += MR) {
          const int64_t M = std::min(MR, B - b0);
          if (M == MR) {
            rzn_tile<T, MR>(hc + b0 * H, H, pu, bu, acc);
          } else {  // the last rows, one at a time
            for (int64_t m = 0; m < M; ++m)
              rzn_tile<T, 1>(hc + (b0 + m) * H, H, pu, bu, acc + m * 3 * V);
          }
          rzn_gates<T, SAVE>(acc, gi_t, hc, hn, out_t, g_t, hp_t, lengths, t, b0, M, j0, nu, H);
        }
      });
    }
  });
  return T_ % 2 == 0 ? h : h_other;
}

}  // namespace

// Forward through time. Returns {out (T, B, H), h_T (B, H), gates, hprev}; with save = false
// (inference) gates and hprev hold one step at most. fused = false runs the first loop.
std::vector<at::Tensor> forward(const at::Tensor& gi_in, const at::Tensor& h0,
                                const at::Tensor& w_hh, const c10::optional<at::Tensor>& b_hh,
                                const c10::optional<at::Tensor>& lengths, bool reverse,
                                bool reset_after, bool save, bool fused) {
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
    using T = scalar_t;
    if (!reset_after || !fused) {
      forward_loop<T>(gi, h, w, b, len, reverse, reset_after, out, gates, hprev);
      return;
    }
    auto packed = pack_rzn<T>(w, b, H);
    auto h_other = at::empty_like(h);
    auto run = save ? fused_forward<T, true> : fused_forward<T, false>;
    T* last = run(gi.data_ptr<T>(), h.data_ptr<T>(), h_other.data_ptr<T>(),
                  packed[0].data_ptr<T>(), packed[1].data_ptr<T>(), len, reverse, T_, B, H,
                  out.data_ptr<T>(), save ? gates.data_ptr<T>() : nullptr,
                  save ? hprev.data_ptr<T>() : nullptr);
    if (last != h.data_ptr<T>()) h = h_other;
  });
  return {out, h, gates, hprev};
}

namespace {

// ---------------------------------------------------------------------------------------------
// 5. The backward's first loop: one fused pass, then ATen's matmul

// Backward of one step for units jlo .. jhi - 1. u = dL/dh_t (carried + from the output);
// writes dL/d(gi_t) = (dr, dz, dn) pre-activation and dL/d(gh_t) = (dr, dz, dn * r), and
// dhz = u * z, the part of dL/dh_{t-1} that skips the matmul.
template <typename T>
KERNEL void back_after(const T* R dout, const T* R dh, const T* R g, const T* R hp, T* R dgi,
                       T* R dgh, T* R dhz, const int64_t* lengths, int64_t t, int64_t B,
                       int64_t H, int64_t jlo, int64_t jhi) {
  for (int64_t b = 0; b < B; ++b) {
    const T* gb = g + b * 4 * H;
    T* dgib = dgi + b * 3 * H;
    T* dghb = dgh + b * 3 * H;
    const T on = active(lengths, t, b) ? T(1) : T(0);
#pragma omp simd
    for (int64_t j = jlo; j < jhi; ++j) {
      T r = gb[j], z = gb[H + j], n = gb[2 * H + j], ghn = gb[3 * H + j];
      T u = dh[b * H + j] + on * dout[b * H + j];
      T dn = on * u * (T(1) - z) * (T(1) - n * n);           // through tanh
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
KERNEL void back_before_nz(const T* R dout, const T* R dh, const T* R g, const T* R hp,
                           T* R dgi, T* R dhz, const int64_t* lengths, int64_t t, int64_t B,
                           int64_t H) {
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
KERNEL void back_before_r(const T* R drh, const T* R g, const T* R hp, T* R dgi, T* R dhz,
                          int64_t B, int64_t H) {
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
                    dgh[t].data_ptr<T>(), dhz.data_ptr<T>(), lengths, t, B, H, 0, H);
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

// ---------------------------------------------------------------------------------------------
// 6. The fused backward (reset_after = true)

// The backward's matmul multiplies by W_hh itself, not its transpose: pack it by blocks of V
// columns, Q[u, k, i] = W_hh[k, u V + i] (zeros past H).
template <typename T>
at::Tensor pack_cols(const at::Tensor& w, int64_t H) {
  constexpr int64_t V = Simd<T>::width;
  const int64_t U = (H + V - 1) / V, K = 3 * H;
  auto packed = at::zeros({U, K, V}, w.options());
  const T* W = w.data_ptr<T>();
  T* Q = packed.data_ptr<T>();
  for (int64_t u = 0; u < U; ++u)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t i = 0; i < V && u * V + i < H; ++i)
        Q[(u * K + k) * V + i] = W[k * H + u * V + i];
  return packed;
}

// dh[b0 : b0 + M, the units of blocks u .. u + NV - 1] = dhz + dgh_t[b0 : b0 + M] W_hh[:, units].
template <typename T, int64_t M, int64_t NV>
inline void dh_tile(const T* R dgh, const T* R Q, const T* R dhz, T* R dh, int64_t b0,
                    int64_t u, int64_t H) {
  constexpr int64_t V = Simd<T>::width;
  const int64_t K = 3 * H;
  typename Simd<T>::vec acc[M][NV];
  for (int64_t m = 0; m < M; ++m)
    for (int64_t v = 0; v < NV; ++v) acc[m][v] = typename Simd<T>::vec{};
  for (int64_t k = 0; k < K; ++k) {
    typename Simd<T>::vec w[NV];
    for (int64_t v = 0; v < NV; ++v) w[v] = load(Q + ((u + v) * K + k) * V);
    for (int64_t m = 0; m < M; ++m) {
      const T a = dgh[(b0 + m) * K + k];
      for (int64_t v = 0; v < NV; ++v) acc[m][v] += a * w[v];
    }
  }
  for (int64_t m = 0; m < M; ++m)
    for (int64_t v = 0; v < NV; ++v) {
      const int64_t j0 = (u + v) * V, nu = std::min(V, H - j0), at = (b0 + m) * H + j0;
      if (nu == V) {
        store(dh + at, load(dhz + at) + acc[m][v]);
      } else {  // the last block of units, cut at H
        alignas(64) T tail[V];
        store(tail, acc[m][v]);
        for (int64_t i = 0; i < nu; ++i) dh[at + i] = dhz[at + i] + tail[i];
      }
    }
}

// The whole backward loop: fills dgi and dgh (T, B, 3H), and leaves dL/dh_0 in dh. Each step
// has two phases of pieces (two blocks of units each): back_after over the piece's units (it
// needs only their dL/dh_t), then, once every piece of that is done (the matmul reads dgh_t of
// every unit), the piece's units of dL/dh_{t-1} = dhz + dgh_t W_hh.
template <typename T>
void fused_backward(const T* dout, T* dh, const T* gates, const T* hprev, const T* Q, T* dhz,
                    const int64_t* lengths, bool reverse, int64_t T_, int64_t B, int64_t H,
                    T* dgi, T* dgh) {
  constexpr int64_t V = Simd<T>::width;
  const int64_t U = (H + V - 1) / V;
  Steps steps((U + 1) / 2);
  on_threads(fused_threads(B, H, steps.pieces), [&](int me, int P) {
    for (int64_t s = T_ - 1; s >= 0; --s) {  // the steps in the opposite order of the forward
      const int64_t t = reverse ? T_ - 1 - s : s, phase = 2 * (T_ - 1 - s);
      T* dgh_t = dgh + t * B * 3 * H;
      steps.run(phase, me, P, [&](int64_t piece) {
        back_after<T>(dout + t * B * H, dh, gates + t * B * 4 * H, hprev + t * B * H,
                      dgi + t * B * 3 * H, dgh_t, dhz, lengths, t, B, H, 2 * piece * V,
                      std::min(2 * piece * V + 2 * V, H));
      });
      steps.run(phase + 1, me, P, [&](int64_t piece) {
        const int64_t u = 2 * piece;
        const bool two = u + 1 < U;
        int64_t b0 = 0;
        for (; b0 + MR <= B; b0 += MR) {
          if (two) {
            dh_tile<T, MR, 2>(dgh_t, Q, dhz, dh, b0, u, H);
          } else {
            dh_tile<T, MR, 1>(dgh_t, Q, dhz, dh, b0, u, H);
          }
        }
        for (; b0 < B; ++b0) {  // the last rows, one at a time
          dh_tile<T, 1, 1>(dgh_t, Q, dhz, dh, b0, u, H);
          if (two) dh_tile<T, 1, 1>(dgh_t, Q, dhz, dh, b0, u + 1, H);
        }
      });
    }
  });
}

}  // namespace

// Backward through time. Returns {dgi (T, B, 3H), dh0 (B, H), dW_hh (3H, H), db_hh (3H,)}:
// the weight gradients are one large matmul each, after the loop. fused = false: the first loop.
std::vector<at::Tensor> backward(const at::Tensor& dout_in, const at::Tensor& dh_last,
                                 const at::Tensor& gates, const at::Tensor& hprev,
                                 const at::Tensor& w_hh, const c10::optional<at::Tensor>& lengths,
                                 bool reverse, bool reset_after, bool fused) {
  auto dout = dout_in.contiguous();
  const int64_t T_ = dout.size(0), B = dout.size(1), H = dout.size(2);
  auto dh = dh_last.contiguous().clone();
  auto dgi = at::empty({T_, B, 3 * H}, dout.options());
  auto dgh = reset_after ? at::empty({T_, B, 3 * H}, dout.options()) : dgi;
  auto w = w_hh.contiguous();
  const int64_t* len = lengths && lengths->defined() ? lengths->data_ptr<int64_t>() : nullptr;
  AT_DISPATCH_FLOATING_TYPES(dout.scalar_type(), "grubook_gru_backward", [&] {
    using T = scalar_t;
    if (!reset_after || !fused) {
      backward_loop<T>(dout, dh, gates, hprev, w, len, reverse, reset_after, dgi, dgh);
      return;
    }
    auto Q = pack_cols<T>(w, H);
    auto dhz = at::empty_like(dh);
    fused_backward<T>(dout.data_ptr<T>(), dh.data_ptr<T>(), gates.data_ptr<T>(),
                      hprev.data_ptr<T>(), Q.data_ptr<T>(), dhz.data_ptr<T>(), len, reverse, T_,
                      B, H, dgi.data_ptr<T>(), dgh.data_ptr<T>());
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

// ---------------------------------------------------------------------------------------------
// 7. The batch-1 step (GRUCell without autograd)

// y = W v + b for one (rows, cols) matrix and one vector, eight rows at a time: each row keeps
// its own vector of partial sums. One row's sum alone is a chain of additions, each waiting
// for the one before; eight independent chains keep the multiply-add units busy.
template <typename T>
void matvec(const T* R W, const T* R v, const T* R bias, T* R y, int64_t rows, int64_t cols) {
  constexpr int64_t V = Simd<T>::width, RB = 8;
  const int64_t kv = cols - cols % V;  // the part of each row that fills whole vectors
  for (int64_t i = 0; i < rows; i += RB) {
    const int64_t nr = std::min(RB, rows - i);
    typename Simd<T>::vec acc[RB] = {};
    for (int64_t k = 0; k < kv; k += V) {
      const auto x = load(v + k);
      for (int64_t r = 0; r < RB; ++r)
        if (r < nr) acc[r] += load(W + (i + r) * cols + k) * x;
    }
    for (int64_t r = 0; r < nr; ++r) {
      T sum = bias ? bias[i + r] : T(0);
      for (int64_t l = 0; l < V; ++l) sum += acc[r][l];
      for (int64_t k = kv; k < cols; ++k) sum += W[(i + r) * cols + k] * v[k];
      y[i + r] = sum;
    }
  }
}

// One step for one sequence: gi = W_ih x + b_ih, then the gates. work holds 11 H numbers.
template <typename T>
void cell_one(const T* x, const T* h, const T* w_ih, const T* w_hh, const T* b_ih,
              const T* b_hh, bool reset_after, T* work, T* h_new, int64_t I, int64_t H) {
  T *gi = work, *gh = work + 3 * H, *g = work + 6 * H, *out = work + 10 * H;  // out: unused
  matvec(w_ih, x, b_ih, gi, 3 * H, I);
  if (reset_after) {
    matvec(w_hh, h, b_hh, gh, 3 * H, H);  // W_hh h + b_hh, the three blocks
    gates_after<T, false>(gi, gh, gh + H, gh + 2 * H, h, h_new, out, nullptr, H, H);
  } else {
    matvec(w_hh, h, (const T*)nullptr, gh, 2 * H, H);
    step_before_rz<T>(gi, gh, b_hh, h, g, gh + 2 * H, 1, H);  // r * h into gh's tail
    matvec(w_hh + 2 * H * H, gh + 2 * H, (const T*)nullptr, gh, H, H);
    std::memcpy(h_new, h, H * sizeof(T));
    step_before_n<T>(gi, gh, b_hh, h_new, out, g, nullptr, nullptr, 0, 1, H);
  }
}

template <typename T>
const T* ptr(const c10::optional<at::Tensor>& t) {
  return t && t->defined() ? t->data_ptr<T>() : nullptr;
}

}  // namespace

// One GRUCell step without autograd (inference): x (B, I), h (B, H) -> h' (B, H). B = 1 runs
// its own matrix-vector loops; larger batches are a forward of one step.
at::Tensor cell_step(const at::Tensor& x_in, const at::Tensor& h_in, const at::Tensor& w_ih,
                     const at::Tensor& w_hh, const c10::optional<at::Tensor>& b_ih,
                     const c10::optional<at::Tensor>& b_hh, bool reset_after) {
  auto x = x_in.contiguous(), h = h_in.contiguous();
  const int64_t B = x.size(0), I = x.size(1), H = h.size(1);
  if (B != 1) {
    auto gi = b_ih && b_ih->defined() ? at::addmm(*b_ih, x, w_ih.t()) : at::mm(x, w_ih.t());
    return forward(gi.unsqueeze(0), h, w_hh, b_hh, c10::nullopt, false, reset_after, false,
                   true)[1];
  }
  auto wi = w_ih.contiguous(), wh = w_hh.contiguous();
  auto bh = b_hh && b_hh->defined() ? b_hh->contiguous() : at::zeros({3 * H}, x.options());
  auto h_new = at::empty({1, H}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "grubook_gru_cell_step", [&] {
    using T = scalar_t;
    std::vector<T> work(11 * H);
    cell_one<T>(x.data_ptr<T>(), h.data_ptr<T>(), wi.data_ptr<T>(), wh.data_ptr<T>(),
                ptr<T>(b_ih), bh.data_ptr<T>(), reset_after, work.data(), h_new.data_ptr<T>(),
                I, H);
  });
  return h_new;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &forward, "GRU forward through time (saves what backward needs)");
  m.def("backward", &backward, "GRU backward through time");
  m.def("cell_step", &cell_step, "one GRUCell step without autograd");
}
