// The checkpoint container and metadata without libtorch (train/checkpoint_file.h): what
// the `checkpoint` fuzz target reaches. Every refusal names the file and what is wrong.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "core/checksum.h"
#include "core/error.h"
#include "train/checkpoint_file.h"

using namespace dalnas;

namespace {

const char* kPath = "dir/m.ckpt";

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string decode_error(const std::string& bytes) {
  return error_of([&] { decode_checkpoint_container(bytes, kPath); });
}

std::string meta_error(const nlohmann::json& meta) {
  return error_of([&] { parse_checkpoint_meta(meta.dump(), kPath); });
}

// Bytes with their checksum recomputed, as a crafted (not a damaged) file would have it.
std::string resealed(std::string bytes) {
  const uint64_t sum = fnv1a64(bytes.data(), bytes.size() - 8);
  std::memcpy(&bytes[bytes.size() - 8], &sum, 8);
  return bytes;
}

template <typename T>
void poke(std::string& bytes, size_t pos, T v) {
  std::memcpy(&bytes[pos], &v, sizeof v);
}

CheckpointMeta meta() {
  CheckpointMeta m;
  m.genome =
      Genome::parse("ConvBnAct-8-k3-relu_max_ConvBnAct-16-k3-relu_avg_ConvBnAct-16-k3-relu_dec-8");
  m.bands = 3;
  m.norm.mean = {1, 2, 3};
  m.norm.std = {0.5f, 1e-3f, 7};
  m.config = {{"epochs", 4}, {"split_scenes", {{"train", {"a", "b"}}, {"test", {"c"}}}}};
  m.metrics = {{"test", {{"miou", 0.5}}}};
  m.act_ranges = {{"input", {-2.5f, 3.25f}}, {"enc0.conv", {0.0f, 6.0f}}};
  return m;
}

nlohmann::json meta_json() {
  return nlohmann::json::parse(checkpoint_meta_json(meta()));
}

}  // namespace

TEST(CheckpointContainer, DecodesWhatItEncodesByteForByte) {
  const std::string weights("\x00\x01zip\xff", 6);
  const std::string bytes = encode_checkpoint_container("{\"a\":1}", weights);
  EXPECT_EQ(bytes.size(), 8 + 4 + 8 + 7 + 8 + 6 + 8u);
  const CheckpointContainer c = decode_checkpoint_container(bytes, kPath);
  EXPECT_EQ(c.version, kCheckpointVersion);
  EXPECT_EQ(c.meta, "{\"a\":1}");
  EXPECT_EQ(c.weights, weights);
  EXPECT_EQ(encode_checkpoint_container(c.meta, c.weights), bytes);
  // Empty parts are still a container.
  const CheckpointContainer e =
      decode_checkpoint_container(encode_checkpoint_container("", ""), kPath);
  EXPECT_TRUE(e.meta.empty() && e.weights.empty());
}

TEST(CheckpointContainer, DamagedAndCraftedFramingIsRefusedNamingTheFile) {
  const std::string good = encode_checkpoint_container("{}", "weights");
  for (const std::string& m :
       {decode_error(""), decode_error("DALNASCX" + good.substr(8)), decode_error("hello")})
    EXPECT_NE(m.find("dir/m.ckpt: not a dalnas checkpoint"), std::string::npos) << m;
  EXPECT_NE(decode_error(good.substr(0, 20)).find("truncated"), std::string::npos);
  // Any byte changed, any byte missing: the checksum says so.
  for (size_t i = 0; i < good.size(); i += 3) {
    std::string b = good;
    b[i] ^= 0x20;
    const std::string m = decode_error(b);
    if (i < 8)
      EXPECT_NE(m.find("bad magic"), std::string::npos) << m;
    else
      EXPECT_NE(m.find("checksum mismatch"), std::string::npos) << i << ": " << m;
  }
  EXPECT_NE(decode_error(good.substr(0, good.size() - 1)).find("checksum"), std::string::npos);
  // A crafted file with a right checksum: version, sizes that would wrap around, sizes that
  // do not add up.
  std::string v2 = good;
  poke<uint32_t>(v2, 8, 2);
  EXPECT_NE(decode_error(resealed(v2)).find("version 2 unsupported"), std::string::npos);
  std::string huge = good;
  poke<uint64_t>(huge, 12, ~uint64_t{0} - 10);
  EXPECT_NE(decode_error(resealed(huge)).find("metadata size 18446744073709551605 exceeds"),
            std::string::npos)
      << decode_error(resealed(huge));
  std::string short_meta = good;
  poke<uint64_t>(short_meta, 12, 1);
  EXPECT_NE(decode_error(resealed(short_meta)).find("weights size"), std::string::npos);
  std::string long_weights = good;
  poke<uint64_t>(long_weights, 8 + 4 + 8 + 2, 8);
  EXPECT_NE(decode_error(resealed(long_weights)).find("weights size 8 disagrees"),
            std::string::npos)
      << decode_error(resealed(long_weights));
}

TEST(CheckpointMeta, RoundTripsEveryField) {
  const CheckpointMeta m = meta();
  const CheckpointMeta back = parse_checkpoint_meta(checkpoint_meta_json(m), kPath);
  EXPECT_EQ(back.genome, m.genome);
  EXPECT_EQ(back.bands, 3);
  EXPECT_EQ(back.norm.mean, m.norm.mean);
  EXPECT_EQ(back.norm.std, m.norm.std);
  EXPECT_EQ(back.config, m.config);
  EXPECT_EQ(back.metrics, m.metrics);
  EXPECT_EQ(back.act_ranges, m.act_ranges);
  // A checkpoint without quantization-aware ranges writes none and reads none.
  CheckpointMeta plain = m;
  plain.act_ranges.clear();
  EXPECT_FALSE(nlohmann::json::parse(checkpoint_meta_json(plain)).contains("act_ranges"));
  EXPECT_TRUE(parse_checkpoint_meta(checkpoint_meta_json(plain), kPath).act_ranges.empty());
}

TEST(CheckpointMeta, OlderFilesWithNullOrNoConfigAndMetricsRead) {
  nlohmann::json j = meta_json();
  j["metrics"] = nullptr;
  j.erase("config");
  const CheckpointMeta m = parse_checkpoint_meta(j.dump(), kPath);
  EXPECT_TRUE(m.config.is_object() && m.config.empty());
  EXPECT_TRUE(m.metrics.is_object() && m.metrics.empty());
}

TEST(CheckpointMeta, EachWrongFieldIsNamed) {
  EXPECT_NE(error_of([] {
              parse_checkpoint_meta("{\"genome\":", kPath);
            }).find("dir/m.ckpt: checkpoint metadata is not valid JSON"),
            std::string::npos);
  EXPECT_NE(meta_error(nlohmann::json::array()).find("not a JSON object"), std::string::npos);
  for (const char* key : {"genome", "bands", "normalization"}) {
    nlohmann::json j = meta_json();
    j.erase(key);
    EXPECT_NE(meta_error(j).find(std::string("lacks '") + key + "'"), std::string::npos) << key;
  }
  struct Bad {
    const char* pointer;
    nlohmann::json value;
    const char* says;
  };
  const Bad cases[] = {
      {"/genome", 7, "'genome' must be a string"},
      {"/genome", "ConvBnAct-8-k4-relu_max_ConvBnAct-16-k3-relu_avg_ConvBnAct-16-k3-relu_dec-8",
       "k4"},
      {"/bands", 0, "'bands' must be an integer in [1, 1024], got 0"},
      {"/bands", -3, "got -3"},
      {"/bands", 4096, "got 4096"},
      {"/bands", 2.5, "got 2.5"},
      {"/bands", "3", "'bands' must be an integer"},
      {"/bands", 4, "normalization has 3 bands but 'bands' is 4"},
      {"/normalization/std/1", 0, "'std' values must be positive"},
      {"/normalization/mean/0", 1e300, "beyond the float range"},
      {"/normalization/mean", nlohmann::json::array({1, 2}), "'mean' has 2 values but 'std' has 3"},
      {"/config", "fast", "'config' must be an object"},
      {"/metrics", nlohmann::json::array(), "'metrics' must be an object"},
      {"/config/split_scenes", "all", "split_scenes must map each split"},
      {"/config/split_scenes/test", "c", "split_scenes must map each split"},
      {"/config/split_scenes/test/0", 3, "split_scenes must map each split"},
      {"/act_ranges", nlohmann::json::array(), "act_ranges: expected an object"},
      {"/act_ranges/enc0.conv", nlohmann::json::array({1}),
       "act_ranges.enc0.conv: expected [lo, hi]"},
      {"/act_ranges/enc0.conv", nlohmann::json::array({"0", 1}), "act_ranges.enc0.conv: expected"},
      {"/act_ranges/enc0.conv", nlohmann::json::array({2, 1}), "act_ranges.enc0.conv: lo 2"},
      {"/act_ranges/input", nlohmann::json::array({0, 1e39}),
       "act_ranges.input: range is not finite"},
  };
  for (const Bad& b : cases) {
    nlohmann::json j = meta_json();
    j[nlohmann::json::json_pointer(b.pointer)] = b.value;
    const std::string m = meta_error(j);
    EXPECT_EQ(m.rfind("dir/m.ckpt: ", 0), 0u) << b.pointer << ": " << m;
    EXPECT_NE(m.find(b.says), std::string::npos) << b.pointer << ": " << m;
  }
}
