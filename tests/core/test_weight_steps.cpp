// Weight steps' JSON form (core/weight_steps.h): a round trip keeps every float, and bad
// input is an error naming the parameter and the channel.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/weight_steps.h"

namespace dalnas {
namespace {

TEST(WeightSteps, JsonRoundTripKeepsEveryFloat) {
  const WeightSteps s = {{"enc0.conv.weight", {0.1f, 3.0e-7f, 1.2345678f}},
                         {"head.weight", {2.5f}}};
  EXPECT_EQ(parse_weight_steps(nlohmann::json::parse(weight_steps_json(s).dump()), "x"), s);
  EXPECT_TRUE(parse_weight_steps(nlohmann::json::object(), "x").empty());
  // Log leaves may be negative.
  const WeightSteps logs = {{"a", {-3.5f, 0.0f, 1.0f}}};
  EXPECT_EQ(parse_weight_steps(weight_steps_json(logs), "x", /*log=*/true), logs);
}

TEST(WeightSteps, BadValuesAreErrorsNamingTheField) {
  const auto message = [](const std::string& text, bool log = false) {
    try {
      parse_weight_steps(nlohmann::json::parse(text), "ck: weight_steps", log);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("[1]"), "ck: weight_steps: expected an object of per-channel step arrays");
  EXPECT_EQ(message(R"({"w": []})"), "ck: weight_steps.w: expected a non-empty array of steps");
  EXPECT_EQ(message(R"({"w": [1, "x"]})"), "ck: weight_steps.w: channel 1 is not a number");
  EXPECT_NE(message(R"({"w": [0.5, -1]})").find("ck: weight_steps.w: channel 1 step"),
            std::string::npos);
  EXPECT_NE(message(R"({"w": [0]})").find("is not a positive finite float"), std::string::npos);
  EXPECT_NE(message(R"({"w": [1e39]})").find("channel 0"), std::string::npos);
  EXPECT_NE(message(R"({"w": [1e-50]})").find("channel 0"), std::string::npos);  // 0 in float
  EXPECT_NE(message(R"({"w": [1e39]})", true).find("log step"), std::string::npos);
  EXPECT_EQ(message(R"({"w": [-2]})", true), "no error");
}

}  // namespace
}  // namespace dalnas
