#include <torch/torch.h>

#include <cmath>
#include <ctime>

#include "cli/commands.h"
#include "core/error.h"
#include "train/trainer.h"

namespace dalnas::cli {

void set_threads(int threads) {
  const int n = resolve_threads(threads);
  torch::set_num_threads(n);
}

std::string format_seconds(double s) {
  if (!std::isfinite(s) || s < 0) s = 0;
  const long t = std::lround(s);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

void parse_size(const std::string& s, const std::string& flag, int& h, int& w) {
  try {
    const auto x = s.find('x');
    size_t p1 = 0, p2 = 0;
    if (x == std::string::npos) {
      h = w = std::stoi(s, &p1);
      if (p1 != s.size()) throw std::invalid_argument(s);
    } else {
      h = std::stoi(s.substr(0, x), &p1);
      w = std::stoi(s.substr(x + 1), &p2);
      if (p1 != x || p2 != s.size() - x - 1) throw std::invalid_argument(s);
    }
  } catch (const std::exception&) {
    throw Error(flag + ": '" + s + "' is not S or HxW");
  }
  if (h < 1 || w < 1) throw Error(flag + ": '" + s + "' must be positive");
}

std::string timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

}  // namespace dalnas::cli
