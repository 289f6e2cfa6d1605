#pragma once
// What a run folder holds, read for the report: a search (summary.json, candidates.csv,
// pareto.csv, config.toml, best/), a comparison (compare.json) or a census (census.json),
// and the command that made it (command.txt). Every part may be missing (older run
// folders); a part that is present but unreadable or malformed throws dalnas::Error
// naming the file.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace dalnas::report {

// A CSV file with a header line; every row has the header's number of fields.
struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  int column(const std::string& name) const;  // -1 when absent
  // Row r's field `name` ("" when the column is absent).
  std::string get(size_t r, const std::string& name) const;
  // The field as a number; NaN when absent, empty or not a number.
  double number(size_t r, const std::string& name) const;
};
// Throws dalnas::Error "<path>: ..." (unreadable, no header, "<path>:<line>: N fields,
// the header has M").
CsvTable read_csv_table(const std::string& path);
// A JSON file; throws dalnas::Error "<path>: not valid JSON (...)".
nlohmann::json read_json_file(const std::string& path);

enum class RunKind { Search, Compare, Census };
std::string to_string(RunKind k);  // "search", "compare", "census"

struct RunFolder {
  std::string dir;
  RunKind kind = RunKind::Search;
  // Search.
  nlohmann::json summary;              // summary.json (null: absent)
  std::optional<CsvTable> candidates;  // candidates.csv
  std::optional<CsvTable> pareto;      // pareto.csv
  nlohmann::json best;                 // best/metrics.json (null: absent)
  std::string best_checkpoint;         // best/model.ckpt ("" when absent)
  std::string best_twin_checkpoint;    // best/fp32/model.ckpt: the winner trained in FP32
  // Compare / census.
  nlohmann::json compare;          // compare.json
  nlohmann::json census;           // census.json
  std::string fp32_checkpoint;     // compare: fp32.ckpt ("" when absent)
  std::string aligned_checkpoint;  // compare: aligned.ckpt
  // All kinds.
  nlohmann::json config;      // the resolved configuration as JSON (null: absent)
  std::string config_text;    // config.toml as written, or the train_config JSON
  std::string config_source;  // the file it came from
  std::string command;        // command.txt without its trailing newline ("": absent)
};

// Throws dalnas::Error for a folder that is no run folder (naming what was looked for)
// or a malformed file (naming it).
RunFolder load_run_folder(const std::string& dir);

}  // namespace dalnas::report
