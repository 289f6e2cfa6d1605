#pragma once
// Losses for binary vessel segmentation on logits (N×1×H×W) against 0/1 targets.
//   focal       Lin et al.: -alpha_t (1 - p_t)^gamma log(p_t), mean over pixels
//   bce         binary cross-entropy (pos_weight optional)
//   dice        1 - soft Dice over the batch (smooth 1)
//   focal+dice  focal + dice;  bce+dice  bce + dice
#include <torch/torch.h>

#include <string>

namespace dalnas {

enum class LossKind { Focal, BCE, Dice, FocalDice, BCEDice };

struct LossOptions {
  LossKind kind = LossKind::FocalDice;
  double alpha = 0.75;      // focal: weight of the vessel class
  double gamma = 2.0;       // focal: focusing exponent
  double pos_weight = 1.0;  // bce: weight of vessel pixels
};

std::string to_string(LossKind k);
// "focal", "bce", "dice", "focal+dice", "bce+dice"; throws dalnas::Error listing them otherwise.
LossKind parse_loss(const std::string& s);

torch::Tensor focal_loss(const torch::Tensor& logits, const torch::Tensor& target, double alpha,
                         double gamma);
torch::Tensor dice_loss(const torch::Tensor& logits, const torch::Tensor& target);
torch::Tensor bce_loss(const torch::Tensor& logits, const torch::Tensor& target, double pos_weight);
torch::Tensor compute_loss(const torch::Tensor& logits, const torch::Tensor& target,
                           const LossOptions& opt);

}  // namespace dalnas
