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
// the loop over j is vectorised and sequences are shared between threads. The backward pass is
// the same recurrence run backwards in time (dL/dh_{t-1} = (1 - z_t) dL/dh_t + dL/doutput_{t-1}).
// Steps at or past a sequence's length leave its state alone and output zero; the reverse
// direction starts at step length - 1.
#include <torch/extension.h>

#include <ATen/Parallel.h>
#include <cmath>

namespace {

template <typename T>
inline T sigmoid(T k) {
  return T(1) / (T(1) + std::exp(-k));
}

// Candidate g(p) and its derivative g'(p).
template <typename T>
inline T g(T p) {
  return p >= T(0) ? p + T(0.5) : sigmoid(p);
}

template <typename T>
inline T dg(T p) {
  if (p >= T(0)) return T(1);
  T s = sigmoid(p);
  return s * (T(1) - s);
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

// Returns the output (T, B, H), zero past each length, and the final state (B, H).
std::vector<torch::Tensor> forward(torch::Tensor gi, torch::Tensor h0, torch::Tensor lengths,
                                   bool reverse) {
  check(gi, h0, lengths);
  gi = gi.contiguous();
  h0 = h0.contiguous();
  lengths = lengths.contiguous();
  const int64_t T = gi.size(0), B = gi.size(1), H = h0.size(1);
  auto out = torch::zeros({T, B, H}, gi.options());
  auto h_n = h0.clone();
  const int64_t* len = lengths.data_ptr<int64_t>();
  AT_DISPATCH_FLOATING_TYPES(gi.scalar_type(), "mingru_forward", [&] {
    const scalar_t* x = gi.data_ptr<scalar_t>();
    scalar_t* y = out.data_ptr<scalar_t>();
    scalar_t* hn = h_n.data_ptr<scalar_t>();
    at::parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        scalar_t* h = hn + b * H;  // the running state of sequence b, updated in place
        const int64_t n = len[b];
        for (int64_t s = 0; s < n; ++s) {
          const int64_t t = reverse ? n - 1 - s : s;
          const scalar_t* k = x + (t * B + b) * 2 * H;
          const scalar_t* p = k + H;
          scalar_t* o = y + (t * B + b) * H;
_Pragma("omp simd")  // inside the dispatch macro: #pragma is not allowed
          for (int64_t j = 0; j < H; ++j) {
            const scalar_t z = sigmoid(k[j]);
            h[j] += z * (g(p[j]) - h[j]);
            o[j] = h[j];
          }
        }
      }
    });
  });
  return {out, h_n};
}

// Gradients (d gi, d h0) from those of the output and of the final state.
std::vector<torch::Tensor> backward(torch::Tensor grad_out, torch::Tensor grad_hn,
                                    torch::Tensor gi, torch::Tensor h0, torch::Tensor out,
                                    torch::Tensor lengths, bool reverse) {
  check(gi, h0, lengths);
  grad_out = grad_out.contiguous();
  gi = gi.contiguous();
  h0 = h0.contiguous();
  out = out.contiguous();
  const int64_t T = gi.size(0), B = gi.size(1), H = h0.size(1);
  auto d_gi = torch::zeros_like(gi);
  auto d_h = grad_hn.contiguous().clone();  // dL/dh, carried back through time
  const int64_t* len = lengths.data_ptr<int64_t>();
  AT_DISPATCH_FLOATING_TYPES(gi.scalar_type(), "mingru_backward", [&] {
    const scalar_t* x = gi.data_ptr<scalar_t>();
    const scalar_t* y = out.data_ptr<scalar_t>();
    const scalar_t* dy = grad_out.data_ptr<scalar_t>();
    const scalar_t* hz = h0.data_ptr<scalar_t>();
    scalar_t* dx = d_gi.data_ptr<scalar_t>();
    scalar_t* dhb = d_h.data_ptr<scalar_t>();
    at::parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        scalar_t* dh = dhb + b * H;
        const int64_t n = len[b];
        for (int64_t s = n - 1; s >= 0; --s) {
          const int64_t t = reverse ? n - 1 - s : s;
          const int64_t t_prev = reverse ? t + 1 : t - 1;  // the step that came before
          const scalar_t* prev = s == 0 ? hz + b * H : y + (t_prev * B + b) * H;
          const scalar_t* k = x + (t * B + b) * 2 * H;
          const scalar_t* p = k + H;
          const scalar_t* d_o = dy + (t * B + b) * H;
          scalar_t* dk = dx + (t * B + b) * 2 * H;
          scalar_t* dp = dk + H;
_Pragma("omp simd")
          for (int64_t j = 0; j < H; ++j) {
            const scalar_t z = sigmoid(k[j]);
            const scalar_t d = dh[j] + d_o[j];  // dL/dh_t
            dk[j] = d * (g(p[j]) - prev[j]) * z * (scalar_t(1) - z);
            dp[j] = d * z * dg(p[j]);
            dh[j] = d * (scalar_t(1) - z);  // dL/dh_{t-1}
          }
        }
      }
    });
  });
  return {d_gi, d_h};
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "grubook: minGRU's recurrence, fused forward and backward (chapter 10)";
  m.def("forward", &forward, "minGRU forward over one direction: (output, h_n)");
  m.def("backward", &backward, "minGRU backward over one direction: (d_gi, d_h0)");
}
