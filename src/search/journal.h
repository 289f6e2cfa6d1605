#pragma once
// Journal: the SQLite record of a search (runs/<name>/journal.sqlite).
//
// Every finished evaluation is committed at once, in its own transaction (WAL mode,
// synchronous = FULL), so a killed search loses nothing it finished and the file is
// always consistent: a reader sees whole evaluations or none. The strategy's state is
// saved alongside (in the same transaction when given to record_evaluation()), so
// `--resume` restores the strategy exactly where the last commit left it; only the latest
// few states (kKeptStates) are kept.
//
// Tables (schema version 2, PRAGMA user_version):
//   runs(id, config TEXT json, config_hash TEXT, seed INTEGER, created TEXT)
//   evaluations(id, run_id, candidate_id, genome, genome_hash TEXT (16 hex digits),
//               config_hash, status 'ok'|'failed'|'rejected', reason, generation, origin,
//               parents TEXT json, metrics TEXT json, costs TEXT json, fitness REAL (NULL
//               for NaN), feasible INTEGER, seconds REAL, seed INTEGER, created TEXT,
//               transient INTEGER (1: a failure worth evaluating again; version 2))
//   strategy_state(step INTEGER PRIMARY KEY, state TEXT json, created TEXT)
// 64-bit unsigned values (candidate ids, seeds) are stored as SQLite's signed 64-bit
// integers with the same bits; times are UTC, ISO 8601 ("2024-05-01T12:00:00Z").
// Version 1 journals (no `transient` column) are read as if every row had transient = 0, and
// gain the column when opened for writing; a journal newer than this dalnas is refused.
//
// Errors throw dalnas::Error "<path>: <problem> (<sqlite message>)".
#include <cstdint>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/genome.h"

struct sqlite3;

namespace dalnas {

enum class EvalStatus { Ok, Failed, Rejected };
std::string to_string(EvalStatus s);                 // ok | failed | rejected
EvalStatus parse_eval_status(const std::string& s);  // throws dalnas::Error

// The stable hash of a configuration: FNV-1a 64 of its compact JSON text (keys sorted),
// as 16 lower-case hex digits.
std::string config_hash(const nlohmann::json& config);
std::string hex64(uint64_t v);

struct EvaluationRecord {
  int64_t row = 0;     // set by the journal
  int64_t run_id = 0;  // 0 = no run
  uint64_t candidate_id = 0;
  std::string genome;        // canonical string
  uint64_t genome_hash = 0;  // set by the journal (Genome::hash() of `genome`)
  std::string config_hash;   // of the training configuration (config_hash())
  EvalStatus status = EvalStatus::Ok;
  std::string reason;  // why failed / rejected, or the violated constraints
  int generation = 0;
  std::string origin;
  std::vector<uint64_t> parents;
  nlohmann::json metrics = nlohmann::json::object();  // e.g. miou, latency_ms, params
  nlohmann::json costs = nlohmann::json::object();    // e.g. per-layer latency, energy
  double fitness = std::numeric_limits<double>::quiet_NaN();
  bool feasible = false;
  double seconds = 0;   // wall time of the evaluation
  uint64_t seed = 0;    // the training seed
  std::string created;  // set by the journal
  // A failure that may not happen again (device timeout, unmeasured latency, out of
  // memory): duplicates do not reuse it and a resumed search evaluates it again. Only
  // meaningful with status Failed (stored as 0 otherwise).
  bool transient = false;
};

struct RunInfo {
  int64_t id = 0;
  nlohmann::json config;
  std::string config_hash;
  uint64_t seed = 0;
  std::string created;
};

class Journal {
 public:
  static constexpr int kKeptStates = 3;

  // Opens the journal at `path`, creating it (and its tables) when missing. read_only:
  // the file must exist; nothing is created or written.
  explicit Journal(const std::string& path, bool read_only = false);
  ~Journal();
  Journal(Journal&&) noexcept;
  Journal& operator=(Journal&&) noexcept;
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  const std::string& path() const { return path_; }

  // Records a run (its resolved configuration and seed); returns its id.
  int64_t start_run(const nlohmann::json& config, uint64_t seed);
  std::vector<RunInfo> runs() const;

  // Commits one evaluation; returns its row id. The record's genome must parse (it is
  // stored in canonical form); row, genome_hash and created are set by the journal.
  int64_t record_evaluation(const EvaluationRecord& r);
  // The same, and the strategy state after observing it, in one transaction.
  int64_t record_evaluation(const EvaluationRecord& r, int64_t step, const nlohmann::json& state);
  // The latest evaluation of this genome under this training configuration (any status),
  // or nothing. Transient failures count only with `include_transient`: by default an
  // earlier transient failure is not an answer (the genome is worth evaluating again).
  std::optional<EvaluationRecord> find(const Genome& genome, const std::string& config_hash,
                                       bool include_transient = false) const;
  std::optional<EvaluationRecord> find(const std::string& genome, const std::string& config_hash,
                                       bool include_transient = false) const;
  // Every evaluation, in commit order.
  std::vector<EvaluationRecord> all_evaluations() const;

  // Saves the strategy state after `step` (replacing a state with the same step) and
  // drops all but the latest kKeptStates states.
  void save_state(int64_t step, const nlohmann::json& state);
  // The state with the highest step, or nothing.
  std::optional<std::pair<int64_t, nlohmann::json>> load_latest_state() const;

 private:
  void exec(const char* sql) const;
  const char* columns() const;  // of an evaluation row, for this journal's schema version
  void fail(const std::string& what) const;
  int64_t insert_evaluation(const EvaluationRecord& r);
  void insert_state(int64_t step, const nlohmann::json& state);
  template <class F>
  auto transaction(F&& body);

  std::string path_;
  bool read_only_ = false;
  int version_ = 0;  // the file's schema version
  sqlite3* db_ = nullptr;
};

}  // namespace dalnas
