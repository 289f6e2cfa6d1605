#include "train/loss.h"

#include "core/error.h"

namespace dalnas {

std::string to_string(LossKind k) {
  switch (k) {
    case LossKind::Focal:
      return "focal";
    case LossKind::BCE:
      return "bce";
    case LossKind::Dice:
      return "dice";
    case LossKind::FocalDice:
      return "focal+dice";
    case LossKind::BCEDice:
      return "bce+dice";
  }
  return "?";
}

LossKind parse_loss(const std::string& s) {
  for (LossKind k :
       {LossKind::Focal, LossKind::BCE, LossKind::Dice, LossKind::FocalDice, LossKind::BCEDice})
    if (s == to_string(k)) return k;
  throw Error("loss '" + s + "' unknown (allowed: focal, bce, dice, focal+dice, bce+dice)");
}

torch::Tensor focal_loss(const torch::Tensor& logits, const torch::Tensor& target, double alpha,
                         double gamma) {
  // log p and log(1-p) from logits, numerically stable.
  auto logp = torch::nn::functional::logsigmoid(logits);
  auto log1mp = torch::nn::functional::logsigmoid(-logits);
  auto p = logp.exp();
  auto pos = -alpha * (1 - p).pow(gamma) * logp;
  auto neg = -(1 - alpha) * p.pow(gamma) * log1mp;
  return (target * pos + (1 - target) * neg).mean();
}

torch::Tensor dice_loss(const torch::Tensor& logits, const torch::Tensor& target) {
  auto p = torch::sigmoid(logits);
  auto inter = (p * target).sum();
  auto denom = p.sum() + target.sum();
  return 1 - (2 * inter + 1) / (denom + 1);
}

torch::Tensor bce_loss(const torch::Tensor& logits, const torch::Tensor& target,
                       double pos_weight) {
  auto opts = torch::nn::functional::BinaryCrossEntropyWithLogitsFuncOptions();
  if (pos_weight != 1.0) opts.pos_weight(torch::full({1}, pos_weight, logits.options()));
  return torch::nn::functional::binary_cross_entropy_with_logits(logits, target, opts);
}

torch::Tensor compute_loss(const torch::Tensor& logits, const torch::Tensor& target,
                           const LossOptions& o) {
  switch (o.kind) {
    case LossKind::Focal:
      return focal_loss(logits, target, o.alpha, o.gamma);
    case LossKind::BCE:
      return bce_loss(logits, target, o.pos_weight);
    case LossKind::Dice:
      return dice_loss(logits, target);
    case LossKind::FocalDice:
      return focal_loss(logits, target, o.alpha, o.gamma) + dice_loss(logits, target);
    case LossKind::BCEDice:
      return bce_loss(logits, target, o.pos_weight) + dice_loss(logits, target);
  }
  return {};
}

}  // namespace dalnas
