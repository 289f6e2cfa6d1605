#include "core/cpu_info.h"

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace dalnas {

CpuIdentity this_cpu() {
  CpuIdentity c;
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  std::set<std::string> flags;
  while (std::getline(in, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "model name" && c.model.empty()) c.model = value;
    if (key == "flags" && flags.empty()) {
      std::istringstream ss(value);
      std::string f;
      while (ss >> f) flags.insert(f);
    }
  }
  c.isa = flags.count("avx512f")  ? "avx512"
          : flags.count("avx2")   ? "avx2"
          : flags.count("sse4_2") ? "sse"
                                  : "other";
  c.cores = static_cast<int>(std::thread::hardware_concurrency());
  return c;
}

nlohmann::json to_json(const CpuIdentity& c) {
  return {{"model", c.model}, {"isa", c.isa}, {"cores", c.cores}};
}

namespace {

std::string describe(const std::string& model, const std::string& isa, int cores) {
  std::string s = model.empty() ? "an unrecorded model" : "'" + model + "'";
  s += " (" + (isa.empty() ? std::string("isa unrecorded") : isa);
  if (cores > 0) s += ", " + std::to_string(cores) + " cores";
  return s + ")";
}

}  // namespace

std::string cpu_mismatch(const nlohmann::json& f, const CpuIdentity& here,
                         const std::string& where) {
  if (!f.is_object()) return "";
  auto str = [&](const char* k) {
    return f.contains(k) && f[k].is_string() ? f[k].get<std::string>() : std::string();
  };
  const std::string model = str("model"), isa = str("isa"), refit = str("refit");
  const int cores =
      f.contains("cores") && f["cores"].is_number_integer() ? f["cores"].get<int>() : 0;
  const bool differs = (!model.empty() && model != here.model) ||
                       (!isa.empty() && isa != here.isa) || (cores > 0 && cores != here.cores);
  if (!differs) return "";
  return where + ": fitted on " + describe(model, isa, cores) + ", but this CPU is " +
         describe(here.model, here.isa, here.cores) +
         "; its estimates may be far off here. Refit on this machine: " +
         (refit.empty() ? std::string("dalnas profile calibrate-host --write <profile.toml>")
                        : refit);
}

}  // namespace dalnas
