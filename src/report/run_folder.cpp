#include "report/run_folder.h"

#include <cmath>
#include <filesystem>
#include <sstream>

#include "core/atomic_file.h"
#include "core/config_file.h"
#include "core/csv.h"
#include "core/error.h"

namespace dalnas::report {

namespace fs = std::filesystem;

int CsvTable::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<int>(i);
  return -1;
}

std::string CsvTable::get(size_t r, const std::string& name) const {
  const int c = column(name);
  return c < 0 ? std::string() : rows.at(r).at(static_cast<size_t>(c));
}

double CsvTable::number(size_t r, const std::string& name) const {
  double v = 0;
  return parse_double(trim(get(r, name)), v) ? v : std::nan("");
}

namespace {
std::string read_or_throw(const std::string& path) {
  try {
    return read_file(path);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(path + ": cannot read (" + e.what() + ")");
  }
}
}  // namespace

CsvTable read_csv_table(const std::string& path) {
  std::istringstream in(read_or_throw(path));
  CsvTable t;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    auto f = split_csv_line(line);
    if (t.header.empty()) {
      t.header = std::move(f);
      continue;
    }
    if (f.size() != t.header.size())
      throw Error(path + ":" + std::to_string(n) + ": " + std::to_string(f.size()) +
                  " fields, the header has " + std::to_string(t.header.size()));
    t.rows.push_back(std::move(f));
  }
  if (t.header.empty()) throw Error(path + ": empty (no header line)");
  return t;
}

nlohmann::json read_json_file(const std::string& path) {
  const std::string text = read_or_throw(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();
    const auto p = what.find('\n');
    if (p != std::string::npos) what = what.substr(0, p);
    throw Error(path + ": not valid JSON (" + what + ")");
  }
}

std::string to_string(RunKind k) {
  switch (k) {
    case RunKind::Search:
      return "search";
    case RunKind::Compare:
      return "compare";
    case RunKind::Census:
      return "census";
  }
  return "?";
}

RunFolder load_run_folder(const std::string& dir) {
  if (!fs::is_directory(dir)) throw Error(dir + ": not a folder");
  const auto at = [&](const std::string& f) { return (fs::path(dir) / f).string(); };
  const auto has = [&](const std::string& f) { return fs::exists(at(f)); };
  RunFolder r;
  r.dir = dir;
  if (has("census.json"))
    r.kind = RunKind::Census;
  else if (has("compare.json"))
    r.kind = RunKind::Compare;
  else if (has("summary.json") || has("candidates.csv") || has("journal.sqlite"))
    r.kind = RunKind::Search;
  else if (has("compare-pipelines.json"))
    throw Error(dir + ": holds a search with --compare-pipelines; report on " + at("fp32") +
                " and " + at("aligned"));
  else
    throw Error(dir +
                ": not a run folder (no summary.json, candidates.csv, journal.sqlite, "
                "compare.json or census.json)");

  if (has("command.txt")) {
    r.command = read_or_throw(at("command.txt"));
    while (!r.command.empty() && (r.command.back() == '\n' || r.command.back() == '\r'))
      r.command.pop_back();
  }
  if (r.kind == RunKind::Search) {
    if (has("summary.json")) r.summary = read_json_file(at("summary.json"));
    if (has("candidates.csv")) r.candidates = read_csv_table(at("candidates.csv"));
    if (has("pareto.csv")) r.pareto = read_csv_table(at("pareto.csv"));
    if (has("best/metrics.json")) r.best = read_json_file(at("best/metrics.json"));
    if (has("best/model.ckpt")) r.best_checkpoint = at("best/model.ckpt");
    if (has("best/fp32/model.ckpt")) r.best_twin_checkpoint = at("best/fp32/model.ckpt");
    if (has("config.toml")) {
      r.config_source = at("config.toml");
      r.config_text = read_or_throw(r.config_source);
      r.config = load_config_file(r.config_source);
    }
  } else {
    const std::string f = r.kind == RunKind::Census ? "census.json" : "compare.json";
    nlohmann::json& j = r.kind == RunKind::Census ? r.census : r.compare;
    j = read_json_file(at(f));
    if (!j.is_object()) throw Error(at(f) + ": top level must be an object");
    if (j.contains("train_config")) {
      r.config = j["train_config"];
      r.config_text = r.config.dump(2);
      r.config_source = at(f) + " (train_config)";
    }
    if (has("fp32.ckpt")) r.fp32_checkpoint = at("fp32.ckpt");
    if (has("aligned.ckpt")) r.aligned_checkpoint = at("aligned.ckpt");
  }
  return r;
}

}  // namespace dalnas::report
