#include "search/driver.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "core/error.h"
#include "search/classified_evaluation.h"

namespace dalnas {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

int param_int(const nlohmann::json& p, const char* key, int def) {
  return p.contains(key) && p.at(key).is_number() ? p.at(key).get<int>() : def;
}

// What a resumed run must share with the journal's run.
nlohmann::json resume_identity(const SearchConfig& cfg) {
  nlohmann::json j = cfg.evaluation_identity();
  j["strategy"] = cfg.to_json()["strategy"];
  j["search_space"] = cfg.space.to_json();
  j["strategy_name"] = cfg.strategy;
  // Screening changes which genomes the strategy proposes; only the non-default enters, so
  // that journals made before the setting keep their identity.
  if (!cfg.screen) j["screen"] = false;
  return j;
}

}  // namespace

int64_t planned_evaluations(const SearchConfig& cfg, const nlohmann::json& p) {
  int64_t n = 0;
  if (cfg.strategy == "ga") {
    const int pop = param_int(p, "population", 50), gens = param_int(p, "generations", 15);
    const int elites = param_int(p, "elites", 1);
    n = pop + static_cast<int64_t>(gens - 1) * (pop - elites);
  } else if (cfg.strategy == "nsga2") {
    n = static_cast<int64_t>(param_int(p, "population", 50)) * param_int(p, "generations", 15);
  } else {
    n = param_int(p, "budget", 750);
  }
  if (cfg.max_evaluations > 0) n = std::min(n, cfg.max_evaluations);
  return n;
}

Observation observation_of(const EvaluationRecord& r, const FitnessConfig& fitness) {
  switch (r.status) {
    case EvalStatus::Ok:
      return make_observation(r.candidate_id,
                              compute_fitness(fitness, EvalMetrics::from_json(r.metrics)));
    case EvalStatus::Rejected: {
      const FitnessResult f = check_constraints(fitness, EvalMetrics::from_json(r.metrics));
      Observation o = make_observation(r.candidate_id, f);
      o.fitness = -std::numeric_limits<double>::infinity();
      o.feasible = false;
      o.violation = std::max(f.violation, 1e-12);
      o.objectives.clear();
      return o;
    }
    case EvalStatus::Failed:
      break;
  }
  return failed_observation(r.candidate_id);
}

OpenedRun open_run(const SearchConfig& cfg, const SearchSpace& space, Journal& journal,
                   const DriverOptions& options) {
  const auto& fingerprints = options.fingerprints;
  const nlohmann::json identity = resume_identity(cfg);
  OpenedRun o;
  // The run: new, or the journal's (which must be this configuration's).
  const auto runs = journal.runs();
  if (runs.empty()) {
    nlohmann::json rec = cfg.to_json();
    rec["identity"] = identity;
    if (!fingerprints.empty()) rec["fingerprints"] = fingerprints;
    o.run_id = journal.start_run(rec, cfg.seed);
  } else {
    const RunInfo& run = runs.back();
    if (!run.config.contains("identity") || run.config.at("identity") != identity)
      throw Error(journal.path() +
                  ": this journal belongs to a search with another configuration (strategy, "
                  "search space, training, device or seed differ); use a new --out folder");
    const nlohmann::json recorded = run.config.value("fingerprints", nlohmann::json::object());
    for (const auto& [key, value] : fingerprints) {
      if (!recorded.is_object() || !recorded.contains(key)) continue;
      const nlohmann::json& was = recorded.at(key);
      if (!was.is_string() || was.get<std::string>() != value)
        throw Error(journal.path() + ": the " + key + " changed since this search started (" +
                    (was.is_string() ? was.get<std::string>() : was.dump()) + ", now " + value +
                    "); its evaluations were made against the old one; use a new --out folder");
    }
    o.run_id = run.id;
  }
  o.strategy = make_strategy(cfg.strategy, cfg.strategy_params, space, cfg.seed);
  if (cfg.screen && options.screen) o.strategy->set_screen(options.screen);
  if (auto saved = journal.load_latest_state()) {
    o.step = saved->first;
    const nlohmann::json& s = saved->second;
    if (!s.contains("strategy"))
      throw Error(journal.path() + ": saved search state has no strategy state");
    o.strategy->restore(s.at("strategy"));
    o.elapsed_before = s.value("elapsed_s", 0.0);
  }
  o.records = load_run_records(journal, o.run_id);
  if (static_cast<int64_t>(o.records.size()) != o.step)
    throw Error(journal.path() + ": " + std::to_string(o.records.size()) +
                " evaluations but the saved state is at step " + std::to_string(o.step) +
                " (the journal was edited?)");
  return o;
}

Candidate candidate_of(const EvaluationRecord& r) {
  Candidate c;
  c.id = r.candidate_id;
  c.genome = Genome::parse(r.genome);
  c.generation = r.generation;
  c.origin = r.origin;
  c.parents = r.parents;
  return c;
}

std::vector<EvaluationRecord> load_run_records(Journal& journal, int64_t run_id) {
  std::vector<EvaluationRecord> records;
  // A row with metrics.retry_of replaces the row it evaluated again (same step).
  for (auto& r : journal.all_evaluations()) {
    if (r.run_id != run_id) continue;
    if (r.metrics.contains("retry_of") && r.metrics.at("retry_of").is_number_integer()) {
      const int64_t of = r.metrics.at("retry_of").get<int64_t>();
      auto it = std::find_if(records.begin(), records.end(),
                             [&](const EvaluationRecord& x) { return x.row == of; });
      if (it == records.end())
        throw Error(journal.path() + ": evaluation " + std::to_string(r.row) +
                    " retries evaluation " + std::to_string(of) +
                    ", which is not in this run (the journal was edited?)");
      *it = std::move(r);
      continue;
    }
    records.push_back(std::move(r));
  }
  return records;
}

EvaluationRecord settled_record(const Candidate& c, int64_t run_id, const std::string& eval_hash,
                                const EvalOutcome* outcome, const EvaluationRecord* prev,
                                double seconds, const FitnessConfig& fitness, Observation& obs) {
  EvaluationRecord rec;
  rec.run_id = run_id;
  rec.candidate_id = c.id;
  rec.genome = c.genome.str();
  rec.config_hash = eval_hash;
  rec.generation = c.generation;
  rec.origin = c.origin;
  rec.parents = c.parents;
  if (prev) {
    rec.status = prev->status;
    rec.reason = prev->reason;
    rec.metrics = prev->metrics;
    rec.metrics.erase("retry_of");
    rec.metrics["reused_from"] = prev->metrics.value("reused_from", prev->candidate_id);
    rec.costs = prev->costs;
    rec.seed = prev->seed;
  } else {
    if (!outcome) throw std::logic_error("settled_record: neither an outcome nor a duplicate");
    rec.status = outcome->status;
    rec.reason = outcome->reason;
    rec.transient = outcome->status == EvalStatus::Failed && outcome->transient;
    rec.metrics = outcome->metrics;
    rec.costs = outcome->costs;
    rec.seed = outcome->seed;
  }
  try {
    obs = observation_of(rec, fitness);
  } catch (const Error& e) {  // a metric the fitness needs is missing
    rec.status = EvalStatus::Failed;
    rec.reason = e.what();
    rec.transient = false;
    obs = failed_observation(c.id);
  }
  rec.feasible = rec.status == EvalStatus::Ok && obs.feasible;
  rec.fitness = rec.status == EvalStatus::Ok ? obs.fitness : kNaN;
  if (rec.status == EvalStatus::Ok && !obs.feasible)
    rec.reason = compute_fitness(fitness, EvalMetrics::from_json(rec.metrics)).reason();
  rec.seconds = prev ? 0.0 : seconds;
  return rec;
}

SearchOutcome run_search(const SearchConfig& cfg, const SearchSpace& space, Evaluator& evaluator,
                         Journal& journal, const DriverOptions& options) {
  const double t0 = steady_now_s();
  SearchOutcome out;
  const std::string eval_hash = config_hash(cfg.evaluation_identity());
  OpenedRun opened = open_run(cfg, space, journal, options);
  const int64_t run_id = opened.run_id;
  auto strategy = std::move(opened.strategy);
  int64_t step = opened.step;
  out.records = std::move(opened.records);
  out.resumed_from = static_cast<int64_t>(out.records.size());
  ProgressTracker progress(cfg, planned_evaluations(cfg, strategy->params()), opened.elapsed_before,
                           t0, out.records);

  // Evaluates (or answers from the journal) candidate `c` into a record and the strategy's
  // observation `obs`; .second: answered from the journal.
  const auto settle = [&](const Candidate& c, Observation& obs) {
    if (auto prev = journal.find(c.genome, eval_hash)) {  // transient failures do not answer
      ++out.reused;
      return std::pair{settled_record(c, run_id, eval_hash, nullptr, &*prev, 0.0, cfg.fitness, obs),
                       true};
    }
    const double te = steady_now_s();
    EvalOutcome o;
    try {
      o = evaluate_classified(evaluator, c, out.records, cfg.transient_retries);
    } catch (const EvaluationBug& bug) {
      throw std::logic_error(evaluation_bug_message(c, bug.what(), out.records.size()));
    }
    const double seconds = steady_now_s() - te;
    progress.evaluated(seconds);
    return std::pair{settled_record(c, run_id, eval_hash, &o, nullptr, seconds, cfg.fitness, obs),
                     false};
  };
  const auto report = [&](const EvaluationRecord& rec, bool reused, bool retry) {
    progress.note(rec);
    if (options.on_progress)
      options.on_progress(
          progress.report(rec, reused, retry, static_cast<int64_t>(out.records.size())));
  };

  // Transient failures of an earlier invocation are evaluated again first. The strategy
  // observed them as failures and has moved on (its state is not rewound); the new result
  // replaces the old one in the records (best, Pareto front, candidates.csv) and answers
  // later duplicates.
  for (size_t i = 0; i < out.records.size(); ++i) {
    if (!out.records[i].transient) continue;
    if ((options.stop && options.stop->load()) ||
        (cfg.time_budget_s > 0 && progress.elapsed() >= cfg.time_budget_s))
      break;
    const EvaluationRecord old = out.records[i];
    Observation obs;
    auto [rec, reused] = settle(candidate_of(old), obs);
    rec.metrics["retry_of"] = old.row;
    rec.row = journal.record_evaluation(rec);
    ++out.retried;
    out.records[i] = rec;
    report(out.records[i], reused, true);
  }

  std::vector<Candidate> redo = strategy->outstanding();  // proposed before the kill
  out.stop_reason = "finished";
  while (true) {
    if (strategy->done() && redo.empty()) {
      out.finished = true;
      break;
    }
    if (options.stop && options.stop->load()) {
      out.stop_reason = "interrupted";
      break;
    }
    if (cfg.max_evaluations > 0 &&
        static_cast<int64_t>(out.records.size()) >= cfg.max_evaluations) {
      out.stop_reason = "max_evaluations";
      break;
    }
    if (cfg.time_budget_s > 0 && progress.elapsed() >= cfg.time_budget_s) {
      out.stop_reason = "time budget";
      break;
    }
    Candidate c;
    if (!redo.empty()) {
      c = redo.front();
      redo.erase(redo.begin());
    } else {
      auto proposed = strategy->propose(1);
      if (proposed.empty())
        throw std::logic_error("search: the strategy proposes nothing and waits for nothing");
      c = proposed.front();
    }

    Observation obs;
    auto [rec, reused] = settle(c, obs);
    strategy->observe({obs});
    ++step;
    const nlohmann::json state = {
        {"strategy", strategy->state()}, {"elapsed_s", progress.elapsed()}, {"step", step}};
    rec.row = journal.record_evaluation(rec, step, state);
    out.records.push_back(rec);
    report(out.records.back(), reused, false);
  }
  out.elapsed_s = progress.elapsed();
  out.screened = strategy->screened();
  return out;
}

}  // namespace dalnas
