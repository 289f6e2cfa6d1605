#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "core/error.h"
#include "nn/asymmetric_resize.h"

namespace dalnas {
namespace {

// The naive reference: the same resize composed of index_select ops (what
// upsample_bilinear computed before the op existed), whose backward libtorch derives.
torch::Tensor reference(const torch::Tensor& x, int64_t h, int64_t w) {
  const auto axis = [&](int64_t in, int64_t out, std::vector<int64_t>& i0, std::vector<int64_t>& i1,
                        std::vector<float>& l1) {
    const float ratio = static_cast<float>(in) / static_cast<float>(out);
    for (int64_t d = 0; d < out; ++d) {
      float src = ratio * static_cast<float>(d);
      if (src > static_cast<float>(in - 1)) src = static_cast<float>(in - 1);
      const int64_t a = std::min<int64_t>(static_cast<int64_t>(src), in - 1);
      i0.push_back(a);
      i1.push_back(std::min<int64_t>(a + 1, in - 1));
      l1.push_back(src - static_cast<float>(a));
    }
  };
  std::vector<int64_t> y0, y1, x0, x1;
  std::vector<float> ly, lx;
  axis(x.size(2), h, y0, y1, ly);
  axis(x.size(3), w, x0, x1, lx);
  const auto idx = torch::TensorOptions().dtype(torch::kLong);
  const torch::Tensor tlx = torch::tensor(lx).to(x.scalar_type()).view({1, 1, 1, w});
  const torch::Tensor tly = torch::tensor(ly).to(x.scalar_type()).view({1, 1, h, 1});
  const torch::Tensor row = x.index_select(3, torch::tensor(x0, idx)) * (1 - tlx) +
                            x.index_select(3, torch::tensor(x1, idx)) * tlx;
  return row.index_select(2, torch::tensor(y0, idx)) * (1 - tly) +
         row.index_select(2, torch::tensor(y1, idx)) * tly;
}

struct Shape {
  int64_t n, c, in_h, in_w, h, w;
};
const std::vector<Shape> kShapes = {
    {1, 1, 1, 1, 1, 1},      {1, 1, 1, 1, 3, 5},  {2, 3, 4, 4, 8, 8},
    {1, 5, 5, 7, 10, 14},    {3, 2, 7, 5, 13, 9}, {1, 4, 6, 6, 3, 3},
    {2, 16, 16, 16, 32, 32}, {1, 3, 9, 2, 9, 2},  {1, 2, 3, 8, 17, 5}};

TEST(AsymmetricResize, ForwardEqualsTheIndexSelectCompositionBitForBit) {
  torch::manual_seed(3);
  for (const Shape& s : kShapes) {
    for (auto dtype : {torch::kFloat, torch::kDouble}) {
      const torch::Tensor x = torch::randn({s.n, s.c, s.in_h, s.in_w}, dtype) * 100;
      const torch::Tensor got = asymmetric_resize(x, s.h, s.w);
      const torch::Tensor want = reference(x, s.h, s.w);
      EXPECT_TRUE(torch::equal(got, want))
          << s.in_h << "x" << s.in_w << " -> " << s.h << "x" << s.w << " " << dtype << ", max diff "
          << (got - want).abs().max().item<double>();
    }
  }
  // A non-contiguous input (a channels-last view) is read through a contiguous copy.
  const torch::Tensor x = torch::randn({2, 4, 6, 6}).permute({0, 2, 3, 1}).permute({0, 3, 1, 2});
  EXPECT_TRUE(torch::equal(asymmetric_resize(x, 12, 12), reference(x.contiguous(), 12, 12)));
}

TEST(AsymmetricResize, BackwardIsTheTransposeOfTheForward) {
  torch::manual_seed(4);
  for (const Shape& s : kShapes) {
    const torch::Tensor x0 = torch::randn({s.n, s.c, s.in_h, s.in_w}, torch::kDouble);
    const torch::Tensor g = torch::randn({s.n, s.c, s.h, s.w}, torch::kDouble);
    torch::Tensor a = x0.clone().requires_grad_(true), b = x0.clone().requires_grad_(true);
    (asymmetric_resize(a, s.h, s.w) * g).sum().backward();
    (reference(b, s.h, s.w) * g).sum().backward();
    EXPECT_TRUE(torch::allclose(a.grad(), b.grad(), 1e-12, 1e-12))
        << s.in_h << "x" << s.in_w << " -> " << s.h << "x" << s.w;
  }
  // Against finite differences of the forward (double): a linear map, so central
  // differences are exact up to rounding.
  const torch::Tensor x = torch::randn({1, 2, 3, 4}, torch::kDouble);
  const torch::Tensor g = torch::randn({1, 2, 7, 9}, torch::kDouble);
  torch::Tensor xg = x.clone().requires_grad_(true);
  (asymmetric_resize(xg, 7, 9) * g).sum().backward();
  const double eps = 1e-6;
  for (int64_t i = 0; i < x.numel(); ++i) {
    torch::Tensor hi = x.clone(), lo = x.clone();
    hi.view(-1)[i] += eps;
    lo.view(-1)[i] -= eps;
    const double fd = ((asymmetric_resize(hi, 7, 9) * g).sum().item<double>() -
                       (asymmetric_resize(lo, 7, 9) * g).sum().item<double>()) /
                      (2 * eps);
    EXPECT_NEAR(xg.grad().view(-1)[i].item<double>(), fd, 1e-6) << i;
  }
}

TEST(AsymmetricResize, BadInputsAreErrors) {
  EXPECT_THROW(asymmetric_resize(torch::zeros({2, 3, 4}), 8, 8), Error);
  EXPECT_THROW(asymmetric_resize(torch::zeros({1, 1, 4, 4}, torch::kInt), 8, 8), Error);
  EXPECT_THROW(asymmetric_resize(torch::zeros({1, 1, 4, 4}), 0, 8), Error);
}

}  // namespace
}  // namespace dalnas
