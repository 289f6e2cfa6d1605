#include <gtest/gtest.h>

#include "core/error.h"
#include "device/numerics.h"

namespace dalnas {
namespace {

TEST(Numerics, ParsePrintRoundTrip) {
  for (const char* s : {"fp32", "fp16", "fp16-blocked:1", "fp16-blocked:8", "fp16-blocked:256"}) {
    EXPECT_EQ(to_string(parse_accumulation(s)), s);
  }
  EXPECT_EQ(parse_accumulation("fp16-blocked:8").block, 8);
  EXPECT_EQ(parse_accumulation("fp16-blocked:8").rounding_block(), 8);
  EXPECT_EQ(parse_accumulation("fp16").rounding_block(), 1);
  EXPECT_EQ(parse_accumulation("fp32").rounding_block(), 0);
  for (const char* bad : {"fp16-blocked:0", "fp16-blocked:", "fp16-blocked:x", "fp8", "FP16",
                          "fp16-blocked:-2", "fp16-blocked:99999999"}) {
    EXPECT_THROW(parse_accumulation(bad), Error) << bad;
  }
  EXPECT_EQ(parse_storage("fp16"), Storage::FP16);
  EXPECT_EQ(to_string(parse_storage("fp32")), "fp32");
  EXPECT_THROW(parse_storage("int8"), Error);
  EXPECT_EQ(parse_overflow("saturate"), Overflow::Saturate);
  EXPECT_EQ(to_string(Overflow::Inf), "inf");
  EXPECT_THROW(parse_overflow("wrap"), Error);
  EXPECT_EQ(parse_subnormals("flush"), Subnormals::Flush);
  EXPECT_EQ(to_string(Subnormals::Keep), "keep");
  EXPECT_THROW(parse_subnormals("ftz"), Error);
  EXPECT_EQ(parse_kernel_isa("avx512"), KernelIsa::AVX512);
  EXPECT_EQ(to_string(KernelIsa::AVX2), "avx2");
  try {
    parse_accumulation("fp8");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fp16-blocked:N"), std::string::npos);
  }
}

TEST(Numerics, Placement) {
  Node n;
  n.op = OpType::Conv;
  n.kernel = 3;
  n.stride = 2;
  EXPECT_TRUE(on_neural_engine(n));
  n.op = OpType::FullyConnected;
  EXPECT_TRUE(on_neural_engine(n));
  n.op = OpType::MaxPool;
  EXPECT_FALSE(on_neural_engine(n));  // overlapping windows
  n.kernel = 2;
  EXPECT_TRUE(on_neural_engine(n));
  n.op = OpType::AvgPool;
  EXPECT_TRUE(on_neural_engine(n));
  for (OpType op : {OpType::Input, OpType::GlobalAvgPool, OpType::Resize, OpType::Concat,
                    OpType::Add, OpType::Mul, OpType::Activation, OpType::Output}) {
    n.op = op;
    EXPECT_FALSE(on_neural_engine(n)) << to_string(op);
  }
  EmulatorConfig c;
  c.nce.storage = Storage::FP16;
  n.op = OpType::Conv;
  EXPECT_EQ(numerics_of(n, c).storage, Storage::FP16);
  n.op = OpType::Add;
  EXPECT_EQ(numerics_of(n, c).storage, Storage::FP32);
}

}  // namespace
}  // namespace dalnas
