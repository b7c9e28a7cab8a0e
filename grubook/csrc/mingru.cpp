// minGRU's recurrence, fused: one pass over time per direction, forward and backward.
//
// Chapter 10, *Beyond the GRU*, walks through this file. For one layer and direction the input
// projection gi = W x + b (T, B, 2H) holds the gate pre-activation k (first H columns) and the
// candidate pre-activation p (last H). Each step computes, element by element,
//
//     z_t = sigmoid(k_t),   v_t = g(p_t),   h_t = h_{t-1} + z_t (v_t - h_{t-1})
//
// with g(p) = p + 1/2 for p >= 0 and sigmoid(p) otherwise (Feng et al. 2024, appendix B.3).
// Nothing in a step reads another unit or sequence, so each (b, j) is its own scalar recurrence:
// the loop over j is vectorised and sequences are shared between threads. The sigmoids, the
// costly part, are computed for all steps at once by ATen's vectorised sigmoid before the loop. The backward pass is
// the same recurrence run backwards in time (dL/dh_{t-1} = (1 - z_t) dL/dh_t + dL/doutput_{t-1}).
// Steps at or past a sequence's length leave its state alone and output zero; the reverse
// direction starts at step length - 1.
#include <torch/extension.h>

#include <ATen/Parallel.h>
#include <cmath>

// The loops below choose between two values per element (g's two branches); GCC vectorises that
// choice only when it may ignore floating-point traps (or with -march=native on x86-64).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

namespace {

// The candidate g(p) = p + 1/2 (p >= 0) or sigmoid(p), given s = sigmoid(p), and its derivative.
template <typename T>
inline T g(T p, T s) {
  return p >= T(0) ? p + T(0.5) : s;
}

template <typename T>
inline T dg(T p, T s) {
  return p >= T(0) ? T(1) : s * (T(1) - s);
}

void check(const torch::Tensor& gi, const torch::Tensor& h0, const torch::Tensor& lengths) {
  TORCH_CHECK(gi.dim() == 3 && gi.size(2) % 2 == 0, "mingru: gi must be (T, B, 2H)");
  TORCH_CHECK(h0.dim() == 2 && h0.size(0) == gi.size(1) && 2 * h0.size(1) == gi.size(2),
              "mingru: h0 must be (B, H)");
  TORCH_CHECK(lengths.dim() == 1 && lengths.size(0) == gi.size(1) &&
                  lengths.scalar_type() == torch::kLong,
              "mingru: lengths must be (B,) int64");
  TORCH_CHECK(gi.scalar_type() == h0.scalar_type(), "mingru: gi and h0 differ in dtype");
}

// One step of one sequence, H units: h += z (g(p) - h), written to o too.
template <typename T>
inline void step_forward(const T* p, const T* z, const T* sp, T* h, T* o, int64_t H) {
#pragma omp simd
  for (int64_t j = 0; j < H; ++j) {
    h[j] += z[j] * (g(p[j], sp[j]) - h[j]);
    o[j] = h[j];
  }
}

// One step back: dh holds dL/dh_t from the later steps; on return dL/dh_{t-1}.
template <typename T>
inline void step_backward(const T* p, const T* z, const T* sp, const T* prev, const T* d_o,
                          T* dh, T* dk, T* dp, int64_t H) {
#pragma omp simd
  for (int64_t j = 0; j < H; ++j) {
    const T d = dh[j] + d_o[j];  // dL/dh_t through every path
    dk[j] = d * (g(p[j], sp[j]) - prev[j]) * z[j] * (T(1) - z[j]);
    dp[j] = d * z[j] * dg(p[j], sp[j]);
    dh[j] = d * (T(1) - z[j]);
  }
}

// The step of sequence b (of length n) that comes s-th in reading order.
inline int64_t step_at(int64_t s, int64_t n, bool reverse) { return reverse ? n - 1 - s : s; }

// Returns the output (T, B, H), zero past each length, the final state (B, H) and sigmoid(gi),
// which the backward pass reuses. The sigmoids are one vectorised ATen call over all steps; the
// loop runs step by step over a thread's block of sequences, so that each step reads one
// contiguous stretch of memory and the states stay in the cache.
std::vector<torch::Tensor> forward(torch::Tensor gi, torch::Tensor h0, torch::Tensor lengths,
                                   bool reverse) {
  check(gi, h0, lengths);
  gi = gi.contiguous();
  lengths = lengths.contiguous();
  const int64_t T = gi.size(0), B = gi.size(1), H = h0.size(1);
  // Every row is written unless a sequence is shorter than T; only then start from zeros.
  const bool full = lengths.min().item<int64_t>() == T;
  auto out = full ? torch::empty({T, B, H}, gi.options()) : torch::zeros({T, B, H}, gi.options());
  auto h_n = h0.contiguous().clone();
  auto sig = at::sigmoid(gi);  // (T, B, 2H): z_t in the first H columns, sigmoid(p_t) after
  const int64_t* len = lengths.data_ptr<int64_t>();
  AT_DISPATCH_FLOATING_TYPES(gi.scalar_type(), "mingru_forward", [&] {
    const scalar_t* x = gi.data_ptr<scalar_t>();
    const scalar_t* sg = sig.data_ptr<scalar_t>();
    scalar_t* y = out.data_ptr<scalar_t>();
    scalar_t* hn = h_n.data_ptr<scalar_t>();
    at::parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t s = 0; s < T; ++s) {
        for (int64_t b = b0; b < b1; ++b) {
          if (s >= len[b]) continue;  // past its end a sequence keeps its state
          const int64_t r = step_at(s, len[b], reverse) * B + b;  // row of (t, b)
          const scalar_t* z = sg + r * 2 * H;
          step_forward(x + r * 2 * H + H, z, z + H, hn + b * H, y + r * H, H);
        }
      }
    });
  });
  return {out, h_n, sig};
}

// Gradients (d gi, d h0) from those of the output and of the final state.
std::vector<torch::Tensor> backward(torch::Tensor grad_out, torch::Tensor grad_hn,
                                    torch::Tensor gi, torch::Tensor sig, torch::Tensor h0,
                                    torch::Tensor out, torch::Tensor lengths, bool reverse) {
  check(gi, h0, lengths);
  TORCH_CHECK(sig.sizes() == gi.sizes() && sig.is_contiguous(), "mingru: sig must be sigmoid(gi)");
  grad_out = grad_out.contiguous();
  gi = gi.contiguous();
  h0 = h0.contiguous();
  out = out.contiguous();
  const int64_t T = gi.size(0), B = gi.size(1), H = h0.size(1);
  const bool full = lengths.min().item<int64_t>() == T;
  auto d_gi = full ? torch::empty_like(gi) : torch::zeros_like(gi);
  auto d_h = grad_hn.contiguous().clone();  // dL/dh, carried back through time
  const int64_t* len = lengths.data_ptr<int64_t>();
  AT_DISPATCH_FLOATING_TYPES(gi.scalar_type(), "mingru_backward", [&] {
    const scalar_t* x = gi.data_ptr<scalar_t>();
    const scalar_t* sg = sig.data_ptr<scalar_t>();
    const scalar_t* y = out.data_ptr<scalar_t>();
    const scalar_t* dy = grad_out.data_ptr<scalar_t>();
    const scalar_t* hz = h0.data_ptr<scalar_t>();
    scalar_t* dx = d_gi.data_ptr<scalar_t>();
    scalar_t* dh = d_h.data_ptr<scalar_t>();
    at::parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t s = T - 1; s >= 0; --s) {
        for (int64_t b = b0; b < b1; ++b) {
          const int64_t n = len[b];
          if (s >= n) continue;
          const int64_t r = step_at(s, n, reverse) * B + b;
          const scalar_t* prev = s == 0 ? hz + b * H : y + (step_at(s - 1, n, reverse) * B + b) * H;
          const scalar_t* z = sg + r * 2 * H;
          step_backward(x + r * 2 * H + H, z, z + H, prev, dy + r * H, dh + b * H,
                        dx + r * 2 * H, dx + r * 2 * H + H, H);
        }
      }
    });
  });
  return {d_gi, d_h};
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "grubook: minGRU's recurrence, fused forward and backward (chapter 10)";
  m.def("forward", &forward, "minGRU forward over one direction: (output, h_n, sigmoid(gi))");
  m.def("backward", &backward, "minGRU backward over one direction: (d_gi, d_h0)");
}
