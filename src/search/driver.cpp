#include "search/driver.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>

#include "core/error.h"
#include "search/classified_evaluation.h"

namespace dalnas {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

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

SearchOutcome run_search(const SearchConfig& cfg, const SearchSpace& space, Evaluator& evaluator,
                         Journal& journal, const DriverOptions& options) {
  const double t0 = now_s();
  SearchOutcome out;
  const std::string eval_hash = config_hash(cfg.evaluation_identity());
  OpenedRun opened = open_run(cfg, space, journal, options);
  const int64_t run_id = opened.run_id;
  auto strategy = std::move(opened.strategy);
  const int64_t planned = planned_evaluations(cfg, strategy->params());
  int64_t step = opened.step;
  const double elapsed_before = opened.elapsed_before;
  out.records = std::move(opened.records);
  out.resumed_from = static_cast<int64_t>(out.records.size());

  std::map<int, double> gen_best;
  double best = kNaN;
  const auto note_best = [&](const EvaluationRecord& r) {
    if (!r.feasible || r.status != EvalStatus::Ok || std::isnan(r.fitness)) return;
    auto it = gen_best.find(r.generation);
    if (it == gen_best.end() || r.fitness > it->second) gen_best[r.generation] = r.fitness;
    if (std::isnan(best) || r.fitness > best) best = r.fitness;
  };
  for (const auto& r : out.records) note_best(r);

  double eval_seconds = 0;  // this invocation's, for the ETA
  int64_t evaluated_here = 0;
  const auto elapsed = [&]() { return elapsed_before + (now_s() - t0); };

  // Evaluates (or answers from the journal) candidate `c` into `rec` and the strategy's
  // observation `obs`; true when answered from the journal.
  const auto settle = [&](const Candidate& c, EvaluationRecord& rec, Observation& obs) {
    const double te = now_s();
    rec.run_id = run_id;
    rec.candidate_id = c.id;
    rec.genome = c.genome.str();
    rec.config_hash = eval_hash;
    rec.generation = c.generation;
    rec.origin = c.origin;
    rec.parents = c.parents;
    bool reused = false;
    if (auto prev = journal.find(c.genome, eval_hash)) {  // transient failures do not answer
      reused = true;
      rec.status = prev->status;
      rec.reason = prev->reason;
      rec.metrics = prev->metrics;
      rec.metrics.erase("retry_of");
      rec.metrics["reused_from"] = prev->metrics.value("reused_from", prev->candidate_id);
      rec.costs = prev->costs;
      rec.seed = prev->seed;
      ++out.reused;
    } else {
      EvalOutcome o;
      try {
        o = evaluate_classified(evaluator, c, out.records, cfg.transient_retries);
      } catch (const EvaluationBug& bug) {
        throw std::logic_error(evaluation_bug_message(c, bug.what(), out.records.size()));
      }
      rec.status = o.status;
      rec.reason = o.reason;
      rec.transient = o.transient;
      rec.metrics = o.metrics;
      rec.costs = o.costs;
      rec.seed = o.seed;
    }
    try {
      obs = observation_of(rec, cfg.fitness);
    } catch (const Error& e) {  // a metric the fitness needs is missing
      rec.status = EvalStatus::Failed;
      rec.reason = e.what();
      rec.transient = false;
      obs = failed_observation(c.id);
    }
    rec.feasible = rec.status == EvalStatus::Ok && obs.feasible;
    rec.fitness = rec.status == EvalStatus::Ok ? obs.fitness : kNaN;
    if (rec.status == EvalStatus::Ok && !obs.feasible)
      rec.reason = compute_fitness(cfg.fitness, EvalMetrics::from_json(rec.metrics)).reason();
    rec.seconds = reused ? 0.0 : now_s() - te;
    if (!reused) {
      eval_seconds += rec.seconds;
      ++evaluated_here;
    }
    return reused;
  };
  const auto report = [&](const EvaluationRecord& rec, bool reused, bool retry) {
    if (!options.on_progress) return;
    SearchProgress p;
    p.record = &rec;
    p.reused = reused;
    p.retry = retry;
    p.done = static_cast<int64_t>(out.records.size());
    p.planned = std::max(planned, p.done);
    p.elapsed_s = elapsed();
    const double mean = evaluated_here ? eval_seconds / evaluated_here : 0.0;
    p.eta_s = mean * static_cast<double>(p.planned - p.done);
    if (cfg.time_budget_s > 0) p.eta_s = std::min(p.eta_s, cfg.time_budget_s - p.elapsed_s);
    p.eta_s = std::max(0.0, p.eta_s);
    auto it = gen_best.find(rec.generation);
    p.generation_best = it == gen_best.end() ? kNaN : it->second;
    p.best = best;
    options.on_progress(p);
  };

  // Transient failures of an earlier invocation are evaluated again first. The strategy
  // observed them as failures and has moved on (its state is not rewound); the new result
  // replaces the old one in the records (best, Pareto front, candidates.csv) and answers
  // later duplicates.
  for (size_t i = 0; i < out.records.size(); ++i) {
    if (!out.records[i].transient) continue;
    if ((options.stop && options.stop->load()) ||
        (cfg.time_budget_s > 0 && elapsed() >= cfg.time_budget_s))
      break;
    const EvaluationRecord old = out.records[i];
    const Candidate c = candidate_of(old);
    EvaluationRecord rec;
    Observation obs;
    const bool reused = settle(c, rec, obs);
    rec.metrics["retry_of"] = old.row;
    rec.row = journal.record_evaluation(rec);
    ++out.retried;
    out.records[i] = rec;
    note_best(rec);
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
    if (cfg.time_budget_s > 0 && elapsed() >= cfg.time_budget_s) {
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

    EvaluationRecord rec;
    Observation obs;
    const bool reused = settle(c, rec, obs);
    strategy->observe({obs});
    ++step;
    const nlohmann::json state = {
        {"strategy", strategy->state()}, {"elapsed_s", elapsed()}, {"step", step}};
    rec.row = journal.record_evaluation(rec, step, state);
    out.records.push_back(rec);
    note_best(rec);

    report(out.records.back(), reused, false);
  }
  out.elapsed_s = elapsed();
  out.screened = strategy->screened();
  return out;
}

}  // namespace dalnas
