#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "nn/describe.h"

namespace dalnas {
namespace {

// Three ConvAct-2 stages, decoder 2, on 1 band 8x8: every number below is worked out by
// hand from the definitions (see the comments).
const char* kSmall = "ConvAct-2-k3-relu_max_ConvAct-2-k3-relu_max_ConvAct-2-k3-relu_dec-2";

TEST(Describe, HandCountedSmallNetwork) {
  const ArchDescription d = describe(Genome::parse(kSmall), 1, 8, 8);
  // Params: enc0 2*1*9+2 = 20; enc1, enc2 2*2*9+2 = 38 each; per decoder level:
  // proj 2*2+2 = 6, conv1 2*4*9+2*2 = 76, conv2 2*2*9+2*2 = 40; head 2+1 = 3.
  EXPECT_EQ(d.params, 20 + 38 + 38 + 2 * (6 + 76 + 40) + 3);
  // MACs: enc0 64*2*1*9 = 1152, enc1 16*2*2*9 = 576, enc2 4*2*2*9 = 144;
  // dec0 (4x4): proj 16*2*2 = 64, conv1 16*2*4*9 = 1152, conv2 16*2*2*9 = 576;
  // dec1 (8x8): proj 256, conv1 4608, conv2 2304; head 64*1*2 = 128.
  EXPECT_EQ(d.macs, 1152 + 576 + 144 + 64 + 1152 + 576 + 256 + 4608 + 2304 + 128);
  // Peak: at dec1.concat, live = enc0 skip (2x8x8) + proj (2x8x8) + concat (4x8x8)
  // = 512 floats.
  EXPECT_EQ(d.peak_activation_bytes, 512 * 4);
  // Rows: 3 convs, 2 pools, 2 x 5 decoder rows, head.
  ASSERT_EQ(d.layers.size(), 3u + 2u + 10u + 1u);
  EXPECT_EQ(d.layers[0].name, "enc0.ConvAct.conv");
  EXPECT_EQ(d.layers[0].op, "conv");
  EXPECT_EQ(d.layers[1].name, "pool1");
  EXPECT_EQ(d.layers[1].op, "maxpool");
  EXPECT_EQ(d.layers[1].h, 4);
  EXPECT_EQ(d.layers.back().name, "head");
  EXPECT_EQ(d.layers.back().out_c, 1);
  EXPECT_EQ(d.layers.back().h, 8);
  int64_t sum_p = 0, sum_m = 0;
  for (const auto& l : d.layers) {
    sum_p += l.params;
    sum_m += l.macs;
  }
  EXPECT_EQ(sum_p, d.params);
  EXPECT_EQ(sum_m, d.macs);
}

TEST(Describe, BlockCountsByHand) {
  // One block of each kind after a 4-channel ConvBnAct; counts from the block definitions.
  const std::string head = "ConvBnAct-4-k3-relu_avg_";
  const std::string tail = "_avg_ConvAct-4-k3-relu_dec-4";
  const int64_t base =
      describe(Genome::parse(head + "ConvAct-8-k3-relu" + tail), 1, 16, 16).params -
      (4 * 8 * 9 + 8);
  auto block_params = [&](const std::string& blk) {
    return describe(Genome::parse(head + blk + tail), 1, 16, 16).params - base;
  };
  // The rest of the network depends on the block's width (8) only through the next conv,
  // the up_proj of its level and the concat; keep width 8 in every case.
  // ConvSE-8: conv 4*8*9 + BN 16 + SE (8*2+2) + (2*8+8) = 288 + 16 + 18 + 24.
  EXPECT_EQ(block_params("ConvSE-8-k3-relu"), 288 + 16 + 18 + 24);
  // MBConv-8 e3 k5 from 4: expand 4*12 + 24, dw 12*25 + 24, project 12*8 + 16.
  EXPECT_EQ(block_params("MBConv-8-k5-e3-relu"), 48 + 24 + 300 + 24 + 96 + 16);
  // ResNetBlock-8 from 4: 4*8*9+16 + 8*8*9+16 + shortcut 4*8+16.
  EXPECT_EQ(block_params("ResNetBlock-8-k3-relu"), 288 + 16 + 576 + 16 + 32 + 16);
  // DenseNetBlock-8 from 4: g = 4: 4*4*9+8 + 8*4*9+8 + fuse 12*8+16.
  EXPECT_EQ(block_params("DenseNetBlock-8-k3-relu"), 144 + 8 + 288 + 8 + 96 + 16);
}

TEST(Describe, OddSizesFloorThroughPooling) {
  const ArchDescription d = describe(Genome::parse(kSmall), 3, 37, 45);
  EXPECT_EQ(d.layers[1].h, 18);
  EXPECT_EQ(d.layers[1].w, 22);
  EXPECT_EQ(d.layers[3].h, 9);
  EXPECT_EQ(d.layers[3].w, 11);
  EXPECT_EQ(d.layers.back().h, 37);
  EXPECT_EQ(d.layers.back().w, 45);
}

TEST(Describe, JsonAndTable) {
  const ArchDescription d = describe(Genome::parse(kSmall), 1, 8, 8);
  const nlohmann::json j = d.to_json();
  for (const char* k :
       {"params", "macs", "peak_activation_bytes", "genome", "bands", "height", "width", "layers"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["params"].get<int64_t>(), d.params);
  EXPECT_EQ(j["genome"].get<std::string>(), kSmall);
  ASSERT_EQ(j["layers"].size(), d.layers.size());
  EXPECT_EQ(j["layers"][0]["name"].get<std::string>(), "enc0.ConvAct.conv");
  EXPECT_EQ(j["layers"][0]["macs"].get<int64_t>(), 1152);
  const std::string t = d.table();
  EXPECT_NE(t.find(kSmall), std::string::npos);
  EXPECT_NE(t.find("dec1.conv2"), std::string::npos);
  EXPECT_NE(t.find("10,960"), std::string::npos);  // total MACs
  EXPECT_NE(t.find("2,048 bytes"), std::string::npos);
}

TEST(Describe, RejectsTooSmallInput) {
  try {
    describe(Genome::parse(kSmall), 1, 3, 8);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("too small for 3 stages (needs at least 4x4)"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace dalnas
