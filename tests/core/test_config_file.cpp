// Reading configuration files (core/config_file.h): a bad file is one dalnas::Error naming
// it, whatever the JSON or TOML parser throws.
#include <gtest/gtest.h>

#include <string>

#include "../temp_dir.h"
#include "core/config_file.h"
#include "core/error.h"

namespace dalnas {
namespace {

using test_util::TempDir;

std::string error_of(const std::string& path) {
  try {
    load_config_file(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigFile, ReadsJsonAndToml) {
  TempDir d("config-file");
  EXPECT_EQ(load_config_file(d.write("a.json", "{\"x\": 2}")).at("x").get<int>(), 2);
  EXPECT_EQ(load_config_file(d.write("a.toml", "x = 3\n")).at("x").get<int>(), 3);
}

TEST(ConfigFile, ANumberTooLargeForADoubleIsAnErrorNamingTheFile) {
  // Found by fuzz_config: nlohmann::json throws out_of_range (not parse_error) here, which
  // escaped as an unexpected exception.
  TempDir d("config-file");
  const std::string path = d.write("big.json", "{\"x\": 6633333333333332e66666}");
  const std::string e = error_of(path);
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_NE(e.find("invalid JSON"), std::string::npos) << e;
}

TEST(ConfigFile, SyntaxErrorsNameTheFile) {
  TempDir d("config-file");
  const std::string j = d.write("bad.json", "{\"x\": ");
  EXPECT_NE(error_of(j).find(j), std::string::npos);
  const std::string t = d.write("bad.toml", "x = = 1\n");
  EXPECT_NE(error_of(t).find(t + ":1:"), std::string::npos) << error_of(t);
  EXPECT_NE(error_of(d.path.string() + "/missing.toml").find("missing.toml"), std::string::npos);
}

// ---- apply_override: --set table.key=value -------------------------------------------

std::string override_error(nlohmann::json j, const std::string& assignment) {
  try {
    apply_override(j, assignment);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigOverride, SetsTomlValuesAtDottedPathsOverWhatIsThere) {
  nlohmann::json j = {{"evaluation", {{"rungs", {2, 4, 8}}, {"eta", 3}}}};
  apply_override(j, "evaluation.rungs=[8]");
  apply_override(j, "evaluation.rung_chip_fraction = [0.5]");
  apply_override(j, "evaluation.rung_score=last");  // a bare word is text
  apply_override(j, "evaluation.early_stop=true");
  apply_override(j, "train.tiling={size = 64, stride = 32}");
  apply_override(j, "search.device=\"host\"");
  apply_override(j, "train.data=../shared/data/sen2ships");      // a path is text too
  apply_override(j, "fitness.constraints.max_latency_ms=13.3");  // tables are created
  EXPECT_EQ(j["evaluation"]["rungs"], nlohmann::json::array({8}));
  EXPECT_EQ(j["evaluation"]["rung_chip_fraction"], nlohmann::json::array({0.5}));
  EXPECT_EQ(j["evaluation"]["rung_score"], "last");
  EXPECT_EQ(j["evaluation"]["early_stop"], true);
  EXPECT_EQ(j["evaluation"]["eta"], 3) << "the rest of the table is kept";
  EXPECT_EQ(j["train"]["tiling"]["stride"], 32);
  EXPECT_TRUE(j["train"]["tiling"]["size"].is_number_integer());
  EXPECT_EQ(j["search"]["device"], "host");
  EXPECT_EQ(j["train"]["data"], "../shared/data/sen2ships");
  EXPECT_DOUBLE_EQ(j["fitness"]["constraints"]["max_latency_ms"].get<double>(), 13.3);
  // The later of two overrides of one key wins.
  apply_override(j, "evaluation.eta=2");
  EXPECT_EQ(j["evaluation"]["eta"], 2);
}

TEST(ConfigOverride, AMalformedOverrideIsOneErrorNamingItAndWhatIsWrong) {
  const nlohmann::json j = {{"search", {{"seed", 1}}}};
  const struct {
    std::string text, expect;
  } cases[] = {
      {"evaluation.rungs", "expected KEY=VALUE"},
      {"=3", "is not a dotted path"},
      {"evaluation..rungs=3", "is not a dotted path"},
      {"evaluation.rungs.=3", "is not a dotted path"},
      {"eval uation.rungs=3", "is not a dotted path"},
      {"evaluation.rungs=", "no value after '='"},
      {"evaluation.rungs=[8", "is not TOML"},
      {"evaluation.rungs=8 9", "is not TOML"},
      {"evaluation.rung_score=la st", "is not TOML"},  // text with a space: quoted
      {"search.device=my\x9e", "is not TOML"},         // found by fuzz_config: not UTF-8
      {"search.seed=1\nx = 2", "not one TOML value"},
      {"search.seed.value=1", "'search.seed' is a value, not a table"},
  };
  for (const auto& c : cases) {
    const std::string e = override_error(j, c.text);
    std::string shown = c.text;  // a line break shows as \n
    for (size_t p = 0; (p = shown.find('\n', p)) != std::string::npos;) shown.replace(p, 1, "\\n");
    EXPECT_NE(e.find("--set '" + shown + "'"), std::string::npos) << c.text << ": " << e;
    EXPECT_NE(e.find(c.expect), std::string::npos) << c.text << ": " << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << "one line: " << e;
  }
}

}  // namespace
}  // namespace dalnas
