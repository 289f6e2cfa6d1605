#pragma once
// The tiny search of the CLI and dist tests: 5 synthetic scenes of 64x64, 3-stage genomes
// of width 8 or 16, ga with 4 + 2 x 3 = 10 evaluations of a fraction of a second each; and
// the rows of a search's journal.
#include <sqlite3.h>

#include <fstream>
#include <string>
#include <vector>

namespace dalnas::test {

inline const char* kTinySearch = R"(
[search]
strategy = "ga"
seed = 3
input_size = 64
time_budget_s = 0

[strategy]
population = 4
generations = 3
newcomers = 1

[search_space]
widths = [8, 16]
decoder_widths = [8]
stages = {min = 3, max = 3}
block_types = ["ConvBnAct", "ConvAct", "MBConv", "ResNetBlock"]

[evaluation]
epochs = 2
low_epochs = 1
inherit_epochs = 1
final_epochs = 1

[train]
data = "synthetic"
synthetic = {scenes = 5, height = 64, width = 64}
tiling = {size = 32, stride = 32, background_keep = 1.0}
batch = 8
eval_tile = 64
eval_overlap = 0
)";

// Writes `text` (the tiny search by default) to <dir>/tiny.toml; returns its path.
inline std::string write_tiny_config(const std::string& dir,
                                     const std::string& text = kTinySearch) {
  const std::string path = dir + "/tiny.toml";
  std::ofstream(path) << text;
  return path;
}

// The rows `sql` returns from the journal (SQLite) at `path`, each row's columns joined by
// single spaces (NULL as "NULL"), in the query's order; none when the file cannot be opened.
inline std::vector<std::string> journal_query(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::vector<std::string> rows;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
      std::string r;
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const unsigned char* t = sqlite3_column_text(st, c);
        r += (c ? " " : "") + std::string(t ? reinterpret_cast<const char*>(t) : "NULL");
      }
      rows.push_back(r);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return rows;
}

}  // namespace dalnas::test
