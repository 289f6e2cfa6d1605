#pragma once
// Entropy (KL-divergence) calibration of an activation range, as TensorRT's entropy
// calibrator chooses it (Migacz, "8-bit Inference with TensorRT", GTC 2017; the same
// procedure as MXNet's / TVM's `_get_optimal_threshold`):
//   1. a histogram of |x| over [0, max |x|] in `bins` bins (2048);
//   2. for every candidate cut i from `levels` (128) to `bins`:
//        P = the first i bins, with the mass of every bin beyond i added to bin i − 1
//            (what clipping at the cut does);
//        Q = the first i bins merged into `levels` groups of consecutive bins (group j is
//            bins [j·i/levels, (j+1)·i/levels)), each group's mass spread evenly over its
//            non-empty bins (what `levels` quantization steps can represent);
//        KL(P || Q) = Σ_{P_k > 0} P_k log(P_k / Q_k) over the normalised histograms, a
//            Q_k of 0 where P_k > 0 counted as 1e-12 (the outliers' bin with no mass of its
//            own: such a cut is never chosen);
//   3. the threshold is the upper edge of the cut with the least divergence, i · width
//      (the first on ties).
// The range of a tensor is then [max(min x, −T), min(max x, T)]: symmetric clipping at T
// of the asymmetric min / max range (TensorRT's scheme is symmetric; for an asymmetric
// int8 target the clipping is what carries over).
#include <cstdint>
#include <vector>

namespace dalnas {

// The threshold T for the values x[0..n) (n >= 1). All-zero values give 0. A non-finite
// value throws dalnas::Error. skip_zeros: values exactly 0 stay out of the histogram (a
// target whose grid holds 0 exactly, an asymmetric zero point, quantizes them without
// error; after a ReLU they are often most of the tensor, and in bin 0 their mass makes
// every wide cut look costly: the merged first group spreads it over its other bins).
float entropy_threshold(const float* x, int64_t n, int bins = 2048, int levels = 128,
                        bool skip_zeros = false);

// Step 2 on a ready histogram of |x| (bins of equal width): the index i of the chosen cut
// (levels <= i <= hist.size()). Exposed for the tests.
int entropy_cut(const std::vector<double>& hist, int levels = 128);

}  // namespace dalnas
