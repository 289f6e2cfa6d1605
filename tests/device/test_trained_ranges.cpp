// Deploying quantization-aware training's ranges (device/trained_ranges.h): each training
// point's range reaches the node that holds the same tensor, and the int8 emulator then
// quantizes that node at exactly those parameters.
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "device/int8_emulator.h"
#include "device/trained_ranges.h"
#include "int8_test_graphs.h"
#include "quant/quant_params.h"

namespace dalnas {
namespace {

using int8_test::node_named;

TEST(TrainedRanges, EachPointReachesTheNodeHoldingItsTensor) {
  std::mt19937 rng(5);
  const Shape in{3, 16, 16};
  const DeviceGraph form = int8_form(int8_test::unet(rng), in);
  // A fused activation (ReLU): the convolution itself.
  EXPECT_EQ(trained_range_node(form, "enc1"), node_named(form, "enc1"));
  // An activation int8_form splits off (GELU, hard-swish after an add): the training point is
  // after the activation, so the range goes to the activation node.
  ASSERT_GE(node_named(form, "enc2.act"), 0);
  EXPECT_EQ(trained_range_node(form, "enc2"), node_named(form, "enc2.act"));
  EXPECT_EQ(trained_range_node(form, "res_add"), node_named(form, "res_add.act"));
  EXPECT_EQ(trained_range_node(form, "cat"), node_named(form, "cat"));
  // The tensor before a split activation (P.pre, nn/activation.h): the node P itself; none
  // where the activation is fused (the conv's output is the activation's).
  EXPECT_EQ(trained_range_node(form, "enc2.pre"), node_named(form, "enc2"));
  EXPECT_EQ(trained_range_node(form, "res_add.pre"), node_named(form, "res_add"));
  EXPECT_EQ(trained_range_node(form, "enc1.pre"), -1);
  EXPECT_EQ(trained_range_node(form, ".pre"), -1);
  EXPECT_EQ(trained_range_node(form, "enc9.conv"), -1);
  EXPECT_EQ(trained_range_node(form, "input"), -1);  // this graph's input is called "in"

  // The network input: the graph's "input", or its "normalize" node where the normalisation
  // is folded into the graph (the training point sees normalised values).
  DeviceGraph g;
  g.add(int8_test::simple(OpType::Input, "input", {}));
  const int norm = g.add(int8_test::conv("normalize", 0, 3, 3, 1, 3, ActType::None, rng));
  g.add(int8_test::simple(OpType::Output, "output", {norm}));
  const DeviceGraph folded = int8_form(g, in);
  EXPECT_EQ(trained_range_node(folded, "input"), node_named(folded, "normalize"));
  DeviceGraph plain;
  plain.add(int8_test::simple(OpType::Input, "input", {}));
  plain.add(int8_test::simple(OpType::Output, "output", {0}));
  EXPECT_EQ(trained_range_node(int8_form(plain, in), "input"), 0);
}

TEST(TrainedRanges, TheEmulatorQuantizesAtTheTrainedRangesAndCalibratesTheRest) {
  std::mt19937 rng(6);
  const Shape in{3, 16, 16};
  const DeviceGraph form = int8_form(int8_test::unet(rng), in);
  const auto x = int8_test::images(2, in, rng);
  Int8Config config;
  const std::vector<TensorRange> calibrated = calibrate_ranges(form, x.data(), 2, in, config);
  const ActRanges trained = {{"enc1", {0.0f, 1.5f}},
                             {"enc2", {-0.25f, 2.0f}},
                             {"cat", {-3.0f, 4.0f}},
                             {"enc7.int8", {-1.0f, 1.0f}}};  // no such node: ignored
  std::vector<TensorRange> ranges = calibrated;
  EXPECT_EQ(apply_trained_ranges(form, trained, ranges), 3);
  const Int8Emulator q(form, ranges, config);
  const Int8Emulator c(form, calibrated, config);
  for (const auto& [point, node] : std::vector<std::pair<std::string, std::string>>{
           {"enc1", "enc1"}, {"enc2", "enc2.act"}, {"cat", "cat"}}) {
    const int i = node_named(form, node);
    const auto [lo, hi] = trained.at(point);
    const QuantParams want = asymmetric_int8_params(lo, hi);
    EXPECT_EQ(q.params(i).scale, want.scale) << node;
    EXPECT_EQ(q.params(i).zero_point, want.zero_point) << node;
    EXPECT_NE(c.params(i).scale, want.scale) << node << ": the check could pass by chance";
  }
  // Nodes no point names keep their calibration (the pre-activation GELU input among them).
  for (const char* node : {"enc1b", "enc2", "head", "res_add"}) {
    const int i = node_named(form, node);
    EXPECT_EQ(q.params(i).scale, c.params(i).scale) << node;
    EXPECT_EQ(q.params(i).zero_point, c.params(i).zero_point) << node;
  }
  // And the outputs differ (the ranges reach the arithmetic).
  EXPECT_NE(q.run(x.data(), in), c.run(x.data(), in));

  std::vector<TensorRange> wrong(3);
  EXPECT_THROW(apply_trained_ranges(form, trained, wrong), Error);
}

}  // namespace
}  // namespace dalnas
