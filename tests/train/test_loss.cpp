#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "train/loss.h"

using namespace dalnas;

namespace {
double naive_focal(const std::vector<float>& z, const std::vector<float>& t, double a, double g) {
  double s = 0;
  for (size_t i = 0; i < z.size(); ++i) {
    const double p = 1 / (1 + std::exp(-static_cast<double>(z[i])));
    s += t[i] ? -a * std::pow(1 - p, g) * std::log(p) : -(1 - a) * std::pow(p, g) * std::log(1 - p);
  }
  return s / static_cast<double>(z.size());
}
}  // namespace

TEST(Loss, FocalMatchesNaiveFormula) {
  std::vector<float> z = {-3.f, -0.5f, 0.f, 0.7f, 2.5f, 4.f}, t = {0, 1, 0, 1, 0, 1};
  auto zt = torch::tensor(z).reshape({1, 1, 2, 3});
  auto tt = torch::tensor(t).reshape({1, 1, 2, 3});
  for (double g : {0.0, 1.0, 2.0})
    EXPECT_NEAR(focal_loss(zt, tt, 0.75, g).item<double>(), naive_focal(z, t, 0.75, g), 1e-6);
}

TEST(Loss, FocalWithGammaZeroAndHalfAlphaIsHalfBCE) {
  auto z = torch::randn({2, 1, 5, 5});
  auto t = (torch::rand({2, 1, 5, 5}) > 0.7).to(torch::kFloat);
  EXPECT_NEAR(focal_loss(z, t, 0.5, 0).item<double>(), 0.5 * bce_loss(z, t, 1).item<double>(),
              1e-6);
}

TEST(Loss, GradientsMatchFiniteDifferences) {
  torch::manual_seed(0);
  auto t = (torch::rand({1, 1, 4, 4}) > 0.6).to(torch::kDouble);
  for (LossKind k :
       {LossKind::Focal, LossKind::BCE, LossKind::Dice, LossKind::FocalDice, LossKind::BCEDice}) {
    LossOptions o;
    o.kind = k;
    o.pos_weight = 3.0;
    auto z = torch::randn({1, 1, 4, 4}, torch::kDouble).requires_grad_(true);
    compute_loss(z, t, o).backward();
    auto g = z.grad();
    const double h = 1e-6;
    for (int i = 0; i < 16; ++i) {
      auto zp = z.detach().clone(), zm = z.detach().clone();
      zp.view(-1)[i] += h;
      zm.view(-1)[i] -= h;
      const double fd =
          (compute_loss(zp, t, o).item<double>() - compute_loss(zm, t, o).item<double>()) / (2 * h);
      EXPECT_NEAR(g.view(-1)[i].item<double>(), fd, 1e-6) << to_string(k) << " element " << i;
    }
  }
}

TEST(Loss, DiceIsZeroForPerfectConfidentPrediction) {
  auto t = torch::zeros({1, 1, 4, 4});
  t.index_put_({0, 0, 1, 1}, 1);
  auto z = (t * 2 - 1) * 50;
  EXPECT_NEAR(dice_loss(z, t).item<double>(), 0.0, 1e-6);
}

TEST(Loss, ParseNamesAllowedValues) {
  EXPECT_EQ(parse_loss("bce+dice"), LossKind::BCEDice);
  try {
    parse_loss("hinge");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("focal+dice"), std::string::npos);
  }
}
