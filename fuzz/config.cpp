// Fuzz target: configuration files (core/config_file: TOML or JSON, chosen by the name as
// the CLI does) and the search configuration read from them (SearchConfig::from_json: the
// search space, fitness, strategy and the rest). The first byte picks the format: bit 0
// JSON or TOML; bit 1 instead reads the rest as lines of `--set table.key=value`
// overrides (core/config_file: apply_override) applied in turn to an empty configuration.
#include <algorithm>
#include <cstdint>
#include <string>

#include "core/config_file.h"
#include "fuzz_util.h"
#include "search/search_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool json = data[0] & 1;
  if (data[0] & 2) {
    const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
    try {
      nlohmann::json doc = nlohmann::json::object();
      for (size_t b = 0; b <= text.size();) {
        const size_t e = std::min(text.find('\n', b), text.size());
        dalnas::apply_override(doc, text.substr(b, e - b));
        b = e + 1;
      }
      const dalnas::SearchConfig c = dalnas::SearchConfig::from_json(doc, "--set");
      c.to_json();
      c.evaluation_identity();
    } catch (const dalnas::Error&) {
    }
    return 0;
  }
  const std::string path =
      dalnas_fuzz::write_scratch(json ? "config.json" : "config.toml", data + 1, size - 1);
  try {
    const nlohmann::json doc = dalnas::load_config_file(path);
    const dalnas::SearchConfig c = dalnas::SearchConfig::from_json(doc, path);
    c.to_json();
    c.evaluation_identity();
  } catch (const dalnas::Error&) {
  }
  return 0;
}
