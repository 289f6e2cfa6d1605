#pragma once
// StrategyBase: the parts every strategy shares: the random stream, candidate ids, the
// set of genomes already proposed, the queue of created-but-not-proposed candidates,
// the outstanding (proposed, not observed) candidates, parameter reading and the common
// part of state()/restore(). Strategies implement refill(), observe(), done() and their
// own state data.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/rng.h"
#include "search/strategy.h"

namespace dalnas {

// Reads a strategy's parameters, recording the resolved values; finish() rejects unknown keys.
class ParamReader {
 public:
  ParamReader(const std::string& strategy, const nlohmann::json& params);
  int get_int(const std::string& key, int def, int lo, int hi);
  double get_double(const std::string& key, double def, double lo, double hi);
  // A list of genomes (named, pynas codes or canonical strings, core/genome.h resolve_arch
  // at `in_bands`); recorded as canonical strings, and only when given, so that the
  // parameters of strategies without it are unchanged.
  std::vector<Genome> get_genomes(const std::string& key, int in_bands);
  // Throws dalnas::Error for any key not read; returns the resolved parameters.
  nlohmann::json finish() const;
  // "strategy <name>: " prefix for errors.
  std::string where() const { return "strategy " + name_ + ": "; }

 private:
  std::string name_;
  nlohmann::json given_;
  nlohmann::json resolved_ = nlohmann::json::object();
};

class StrategyBase : public Strategy {
 public:
  std::string name() const override { return name_; }
  nlohmann::json params() const override { return params_; }
  std::vector<Candidate> propose(int max_n) override;
  std::vector<Candidate> outstanding() const override;
  nlohmann::json state() const final;
  void restore(const nlohmann::json& state) final;
  void set_screen(Screen screen) override;
  int64_t screened() const override { return screened_; }

 protected:
  // `params` is the resolved parameters (ParamReader::finish()), stored in the state.
  StrategyBase(std::string name, nlohmann::json params, const SearchSpace& space, uint64_t seed,
               int max_retries);

  // Called by propose() when the queue is empty: add candidates to queue_ and return
  // true, or return false when there is nothing to propose now.
  virtual bool refill() = 0;
  virtual nlohmann::json save_data() const = 0;
  virtual void load_data(const nlohmann::json& data) = 0;

  // A new candidate with the next id; its genome is recorded as proposed.
  Candidate make(const Genome& g, int generation, std::vector<uint64_t> parents,
                 std::string origin);
  bool seen(const Genome& g) const;
  // Not proposed before and passes the screen (when there is one); a screened-out genome
  // is counted in screened_.
  bool admissible(const Genome& g);
  // Calls `next` until it gives an admissible genome (not proposed before, passes the
  // screen), at most max_retries + 1 times; then a random genome, drawn the same way; then
  // the first of those random draws not proposed before, else a repeat of the last. Returns true
  // when the result came from `next` (false: random fallback; the caller labels it "random" and
  // gives it no parents).
  bool unique(const std::function<Genome()>& next, Genome& out);
  // The first seed genome not proposed yet; else a random admissible genome (after
  // max_retries + 1 draws without one, max_retries + 1 + kScreenedDraws when a screen is set:
  // the first not proposed before, else a repeat).
  Genome unique_random();
  // The strategy's `seed_genomes` (read with ParamReader::get_genomes), each checked
  // against the space; throws dalnas::Error "<where>seed_genomes[i]: <gene problem>".
  void set_seeds(std::vector<Genome> seeds, const std::string& where);
  // Removes and returns the outstanding candidate `id`; std::logic_error if unknown.
  Candidate take_outstanding(uint64_t id);
  // The observation as strategies use it: a failed one is infeasible with infinite
  // violation, a NaN violation is infinite.
  static Observation normalised(Observation o);
  uint64_t created() const { return next_id_ - 1; }

  std::string name_;
  nlohmann::json params_;
  SearchSpace space_;
  uint64_t seed_;
  int max_retries_;
  // Extra random draws unique_random() makes when a screen is set (screened draws are cheap).
  static constexpr int kScreenedDraws = 4000;
  std::vector<Genome> seeds_;
  Rng rng_;
  uint64_t next_id_ = 1;
  std::set<std::string> seen_;
  std::deque<Candidate> queue_;
  std::map<uint64_t, Candidate> outstanding_;
  Screen screen_;
  std::map<std::string, bool> screen_passes_;  // the screen's answers by genome (a cache)
  int64_t screened_ = 0;
};

}  // namespace dalnas
