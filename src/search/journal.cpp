#include "search/journal.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <functional>

#include "core/checksum.h"
#include "core/error.h"
#include "core/hex.h"

namespace dalnas {

namespace {

// 1: the first schema. 2: evaluations.transient (a failure worth evaluating again: device
// timeout, unmeasured latency, out of memory); a version-1 journal opened for writing gains
// the column (0 for its rows), one opened read-only reads as if it had it.
constexpr int kSchemaVersion = 2;

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  config TEXT NOT NULL,
  config_hash TEXT NOT NULL,
  seed INTEGER NOT NULL,
  created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS evaluations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id INTEGER NOT NULL,
  candidate_id INTEGER NOT NULL,
  genome TEXT NOT NULL,
  genome_hash TEXT NOT NULL,
  config_hash TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'rejected')),
  reason TEXT NOT NULL,
  generation INTEGER NOT NULL,
  origin TEXT NOT NULL,
  parents TEXT NOT NULL,
  metrics TEXT NOT NULL,
  costs TEXT NOT NULL,
  fitness REAL,
  feasible INTEGER NOT NULL,
  seconds REAL NOT NULL,
  seed INTEGER NOT NULL,
  created TEXT NOT NULL,
  transient INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS evaluations_by_genome ON evaluations (genome_hash, config_hash);
CREATE TABLE IF NOT EXISTS strategy_state (
  step INTEGER PRIMARY KEY,
  state TEXT NOT NULL,
  created TEXT NOT NULL
);
)sql";

const char* kEvalColumnsV1 =
    "id, run_id, candidate_id, genome, genome_hash, config_hash, status, reason, generation, "
    "origin, parents, metrics, costs, fitness, feasible, seconds, seed, created, 0";
const char* kEvalColumns =
    "id, run_id, candidate_id, genome, genome_hash, config_hash, status, reason, generation, "
    "origin, parents, metrics, costs, fitness, feasible, seconds, seed, created, transient";

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A prepared statement that finalises itself.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql, const std::function<void(const std::string&)>& fail)
      : fail_(fail) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s_, nullptr) != SQLITE_OK)
      fail_("cannot prepare a statement");
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  void bind(int i, int64_t v) { check(sqlite3_bind_int64(s_, i, v)); }
  void bind(int i, const std::string& v) {
    check(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  void bind(int i, double v) {
    check(std::isnan(v) ? sqlite3_bind_null(s_, i) : sqlite3_bind_double(s_, i, v));
  }
  // True while rows come; false when done.
  bool step() {
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail_("cannot run a statement");
    return false;
  }
  int64_t i64(int c) const { return sqlite3_column_int64(s_, c); }
  double real(int c) const {
    return sqlite3_column_type(s_, c) == SQLITE_NULL ? std::numeric_limits<double>::quiet_NaN()
                                                     : sqlite3_column_double(s_, c);
  }
  std::string text(int c) const {
    const unsigned char* p = sqlite3_column_text(s_, c);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(s_, c)))
             : std::string();
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) fail_("cannot bind a value");
  }
  sqlite3_stmt* s_ = nullptr;
  std::function<void(const std::string&)> fail_;
};

}  // namespace

std::string to_string(EvalStatus s) {
  switch (s) {
    case EvalStatus::Ok:
      return "ok";
    case EvalStatus::Failed:
      return "failed";
    case EvalStatus::Rejected:
      return "rejected";
  }
  return "?";
}

EvalStatus parse_eval_status(const std::string& s) {
  if (s == "ok") return EvalStatus::Ok;
  if (s == "failed") return EvalStatus::Failed;
  if (s == "rejected") return EvalStatus::Rejected;
  throw Error("evaluation status '" + s + "': unknown (allowed: ok, failed, rejected)");
}

std::string hex64(uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string config_hash(const nlohmann::json& config) {
  return hex64(fnv1a64(config.dump()));
}

void Journal::fail(const std::string& what) const {
  std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
  throw Error(path_ + ": " + what + " (" + msg + ")");
}

void Journal::exec(const char* sql) const {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    throw Error(path_ + ": " + msg);
  }
}

template <class F>
auto Journal::transaction(F&& body) {
  if (read_only_) throw Error(path_ + ": opened read-only, cannot write");
  exec("BEGIN IMMEDIATE");
  try {
    auto result = body();
    exec("COMMIT");
    return result;
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

Journal::Journal(const std::string& path, bool read_only) : path_(path), read_only_(read_only) {
  struct stat st;
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (read_only && !exists) throw Error(path + ": no such journal");
  if (exists && S_ISDIR(st.st_mode)) throw Error(path + ": is a folder, not a journal file");
  const int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(path + ": cannot open the journal (" + msg + ")");
  }
  try {
    sqlite3_busy_timeout(db_, 10000);
    // Reading the schema version is the first access: it fails for a file that is not a
    // database.
    int version = 0;
    int64_t tables = 0;
    {
      Stmt s(db_, "PRAGMA user_version", [this](const std::string&) {
        throw Error(path_ + ": not a dalnas journal (" + sqlite3_errmsg(db_) + ")");
      });
      if (s.step()) version = static_cast<int>(s.i64(0));
    }
    {
      Stmt s(db_, "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
             [this](const std::string& w) { fail(w); });
      if (s.step()) tables = s.i64(0);
    }
    if (version == 0 && tables > 0)
      throw Error(path + ": not a dalnas journal (a database without a journal schema version)");
    if (version > kSchemaVersion)
      throw Error(path + ": journal schema version " + std::to_string(version) +
                  " is newer than this dalnas reads (" + std::to_string(kSchemaVersion) + ")");
    version_ = version;
    if (read_only) {
      if (version == 0) throw Error(path + ": not a dalnas journal (empty database)");
      return;
    }
    exec("PRAGMA journal_mode = WAL");
    exec("PRAGMA synchronous = FULL");
    if (version < kSchemaVersion) {
      exec("BEGIN IMMEDIATE");
      try {
        if (version == 0) exec(kSchema);
        if (version == 1)
          exec("ALTER TABLE evaluations ADD COLUMN transient INTEGER NOT NULL DEFAULT 0");
        exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
        exec("COMMIT");
      } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
      }
      version_ = kSchemaVersion;
    }
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

Journal::~Journal() {
  if (db_) sqlite3_close(db_);
}

Journal::Journal(Journal&& o) noexcept
    : path_(std::move(o.path_)), read_only_(o.read_only_), version_(o.version_), db_(o.db_) {
  o.db_ = nullptr;
}

Journal& Journal::operator=(Journal&& o) noexcept {
  if (this != &o) {
    if (db_) sqlite3_close(db_);
    path_ = std::move(o.path_);
    read_only_ = o.read_only_;
    version_ = o.version_;
    db_ = o.db_;
    o.db_ = nullptr;
  }
  return *this;
}

int64_t Journal::start_run(const nlohmann::json& config, uint64_t seed) {
  return transaction([&]() {
    Stmt s(db_, "INSERT INTO runs (config, config_hash, seed, created) VALUES (?, ?, ?, ?)",
           [this](const std::string& w) { fail(w); });
    s.bind(1, config.dump());
    s.bind(2, config_hash(config));
    s.bind(3, static_cast<int64_t>(seed));
    s.bind(4, now_utc());
    s.step();
    return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
  });
}

std::vector<RunInfo> Journal::runs() const {
  Stmt s(db_, "SELECT id, config, config_hash, seed, created FROM runs ORDER BY id",
         [this](const std::string& w) { fail(w); });
  std::vector<RunInfo> out;
  while (s.step()) {
    RunInfo r;
    r.id = s.i64(0);
    try {
      r.config = nlohmann::json::parse(s.text(1));
    } catch (const nlohmann::json::exception&) {
      throw Error(path_ + ": run " + std::to_string(r.id) + " has a malformed config");
    }
    r.config_hash = s.text(2);
    r.seed = static_cast<uint64_t>(s.i64(3));
    r.created = s.text(4);
    out.push_back(std::move(r));
  }
  return out;
}

int64_t Journal::insert_evaluation(const EvaluationRecord& r) {
  Genome g;
  try {
    g = Genome::parse(r.genome);
  } catch (const Error& e) {
    throw Error(path_ + ": cannot record an evaluation of an invalid genome: " + e.what());
  }
  Stmt s(db_,
         "INSERT INTO evaluations (run_id, candidate_id, genome, genome_hash, config_hash, "
         "status, reason, generation, origin, parents, metrics, costs, fitness, feasible, "
         "seconds, seed, created, transient) "
         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
         [this](const std::string& w) { fail(w); });
  s.bind(1, r.run_id);
  s.bind(2, static_cast<int64_t>(r.candidate_id));
  s.bind(3, g.str());
  s.bind(4, hex64(g.hash()));
  s.bind(5, r.config_hash);
  s.bind(6, to_string(r.status));
  s.bind(7, r.reason);
  s.bind(8, static_cast<int64_t>(r.generation));
  s.bind(9, r.origin);
  s.bind(10, nlohmann::json(r.parents).dump());
  s.bind(11, r.metrics.dump());
  s.bind(12, r.costs.dump());
  s.bind(13, r.fitness);
  s.bind(14, static_cast<int64_t>(r.feasible ? 1 : 0));
  s.bind(15, r.seconds);
  s.bind(16, static_cast<int64_t>(r.seed));
  s.bind(17, now_utc());
  s.bind(18, static_cast<int64_t>(r.transient && r.status == EvalStatus::Failed ? 1 : 0));
  s.step();
  return sqlite3_last_insert_rowid(db_);
}

void Journal::insert_state(int64_t step, const nlohmann::json& state) {
  {
    Stmt s(db_, "INSERT OR REPLACE INTO strategy_state (step, state, created) VALUES (?, ?, ?)",
           [this](const std::string& w) { fail(w); });
    s.bind(1, step);
    s.bind(2, state.dump());
    s.bind(3, now_utc());
    s.step();
  }
  Stmt d(db_,
         "DELETE FROM strategy_state WHERE step NOT IN "
         "(SELECT step FROM strategy_state ORDER BY step DESC LIMIT ?)",
         [this](const std::string& w) { fail(w); });
  d.bind(1, static_cast<int64_t>(kKeptStates));
  d.step();
}

int64_t Journal::record_evaluation(const EvaluationRecord& r) {
  return transaction([&]() { return insert_evaluation(r); });
}

int64_t Journal::record_evaluation(const EvaluationRecord& r, int64_t step,
                                   const nlohmann::json& state) {
  return transaction([&]() {
    const int64_t row = insert_evaluation(r);
    insert_state(step, state);
    return row;
  });
}

void Journal::save_state(int64_t step, const nlohmann::json& state) {
  transaction([&]() {
    insert_state(step, state);
    return 0;
  });
}

std::optional<std::pair<int64_t, nlohmann::json>> Journal::load_latest_state() const {
  Stmt s(db_, "SELECT step, state FROM strategy_state ORDER BY step DESC LIMIT 1",
         [this](const std::string& w) { fail(w); });
  if (!s.step()) return std::nullopt;
  const int64_t step = s.i64(0);
  try {
    return std::make_pair(step, nlohmann::json::parse(s.text(1)));
  } catch (const nlohmann::json::exception&) {
    throw Error(path_ + ": the strategy state of step " + std::to_string(step) + " is malformed");
  }
}

namespace {

EvaluationRecord read_record(const Stmt& s, const std::string& path) {
  EvaluationRecord r;
  r.row = s.i64(0);
  r.run_id = s.i64(1);
  r.candidate_id = static_cast<uint64_t>(s.i64(2));
  r.genome = s.text(3);
  const std::string where = path + ": evaluation " + std::to_string(r.row) + ": ";
  if (!parse_hex64(s.text(4), r.genome_hash)) throw Error(where + "malformed genome_hash");
  r.config_hash = s.text(5);
  try {
    r.status = parse_eval_status(s.text(6));
  } catch (const Error& e) {
    throw Error(where + e.what());
  }
  r.reason = s.text(7);
  r.generation = static_cast<int>(s.i64(8));
  r.origin = s.text(9);
  try {
    r.parents = nlohmann::json::parse(s.text(10)).get<std::vector<uint64_t>>();
    r.metrics = nlohmann::json::parse(s.text(11));
    r.costs = nlohmann::json::parse(s.text(12));
  } catch (const nlohmann::json::exception&) {
    throw Error(where + "malformed JSON in parents, metrics or costs");
  }
  r.fitness = s.real(13);
  r.feasible = s.i64(14) != 0;
  r.seconds = s.real(15);
  r.seed = static_cast<uint64_t>(s.i64(16));
  r.created = s.text(17);
  r.transient = s.i64(18) != 0;
  return r;
}

}  // namespace

const char* Journal::columns() const {
  return version_ >= 2 ? kEvalColumns : kEvalColumnsV1;
}

std::optional<EvaluationRecord> Journal::find(const std::string& genome, const std::string& hash,
                                              bool include_transient) const {
  Genome g;
  try {
    g = Genome::parse(genome);
  } catch (const Error&) {
    return std::nullopt;  // never recorded: record_evaluation() only takes valid genomes
  }
  return find(g, hash, include_transient);
}

std::optional<EvaluationRecord> Journal::find(const Genome& g, const std::string& hash,
                                              bool include_transient) const {
  const std::string text = g.str();
  const bool has_column = version_ >= 2;
  Stmt s(db_,
         std::string("SELECT ") + columns() +
             " FROM evaluations WHERE genome_hash = ? AND config_hash = ? AND genome = ? " +
             (include_transient || !has_column ? "" : "AND transient = 0 ") +
             "ORDER BY id DESC LIMIT 1",
         [this](const std::string& w) { fail(w); });
  s.bind(1, hex64(g.hash()));
  s.bind(2, hash);
  s.bind(3, text);
  if (!s.step()) return std::nullopt;
  return read_record(s, path_);
}

std::vector<EvaluationRecord> Journal::all_evaluations() const {
  Stmt s(db_, std::string("SELECT ") + columns() + " FROM evaluations ORDER BY id",
         [this](const std::string& w) { fail(w); });
  std::vector<EvaluationRecord> out;
  while (s.step()) out.push_back(read_record(s, path_));
  return out;
}

}  // namespace dalnas
