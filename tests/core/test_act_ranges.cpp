#include <gtest/gtest.h>

#include "core/act_ranges.h"
#include "core/error.h"

namespace dalnas {
namespace {

std::string error_of(const nlohmann::json& j) {
  try {
    parse_act_ranges(j, "f.ckpt: act_ranges");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ActRanges, JsonRoundTripIsExact) {
  const ActRanges r = {
      {"input", {-2.2757f, 4.0625f}}, {"enc0.conv", {0.0f, 6.0f}}, {"head", {-13.5f, 9.125e-3f}}};
  const nlohmann::json j = act_ranges_json(r);
  EXPECT_EQ(j.at("enc0.conv"), nlohmann::json::array({0.0, 6.0}));
  EXPECT_EQ(parse_act_ranges(nlohmann::json::parse(j.dump()), "x"), r);
  EXPECT_TRUE(parse_act_ranges(nlohmann::json::object(), "x").empty());
}

TEST(ActRanges, EachWrongValueIsNamed) {
  EXPECT_NE(error_of(nlohmann::json::array()).find("f.ckpt: act_ranges: expected an object"),
            std::string::npos);
  EXPECT_NE(error_of({{"a", 1}}).find("act_ranges.a: expected [lo, hi]"), std::string::npos);
  EXPECT_NE(error_of({{"a", {1, 2, 3}}}).find("act_ranges.a: expected"), std::string::npos);
  EXPECT_NE(error_of({{"b", {true, 2}}}).find("act_ranges.b: expected"), std::string::npos);
  EXPECT_NE(error_of({{"c", {3, -1}}}).find("act_ranges.c: lo 3"), std::string::npos);
  EXPECT_NE(error_of({{"d", {-1e39, 1}}}).find("act_ranges.d: range is not finite"),
            std::string::npos);
  EXPECT_EQ(error_of({{"e", {-1, -1}}}), "");  // an empty range is a range
}

}  // namespace
}  // namespace dalnas
