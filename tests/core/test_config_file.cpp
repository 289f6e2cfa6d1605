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

}  // namespace
}  // namespace dalnas
