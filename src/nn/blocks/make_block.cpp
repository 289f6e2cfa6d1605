#include "nn/blocks/make_block.h"

#include "nn/blocks/conv_act.h"
#include "nn/blocks/conv_bn_act.h"
#include "nn/blocks/conv_se.h"
#include "nn/blocks/densenet_block.h"
#include "nn/blocks/mbconv.h"
#include "nn/blocks/resnet_block.h"

namespace dalnas {

std::shared_ptr<BlockImpl> make_block(const BlockGene& g, int in_channels, PolicyPtr policy,
                                      const std::string& name) {
  if (!policy) policy = std::make_shared<PrecisionPolicy>();
  switch (g.type) {
    case BlockType::ConvAct:
      return std::make_shared<ConvActImpl>(g, in_channels, policy, name);
    case BlockType::ConvBnAct:
      return std::make_shared<ConvBnActImpl>(g, in_channels, policy, name);
    case BlockType::ConvSE:
      return std::make_shared<ConvSEImpl>(g, in_channels, policy, name);
    case BlockType::MBConv:
      return std::make_shared<MBConvImpl>(g, in_channels, policy, name, /*residual=*/true);
    case BlockType::MBConvNoRes:
      return std::make_shared<MBConvImpl>(g, in_channels, policy, name, /*residual=*/false);
    case BlockType::ResNetBlock:
      return std::make_shared<ResNetBlockImpl>(g, in_channels, policy, name);
    case BlockType::DenseNetBlock:
      return std::make_shared<DenseNetBlockImpl>(g, in_channels, policy, name);
  }
  throw std::logic_error("make_block: unknown block type");
}

}  // namespace dalnas
