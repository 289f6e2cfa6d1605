#include "search/async_driver.h"

#include <algorithm>
#include <map>
#include <stdexcept>

#include "core/error.h"
#include "search/classified_evaluation.h"

namespace dalnas {

namespace {

struct InFlight {
  Candidate candidate;
  double started = 0;
  int64_t retry = -1;  // a transient failure evaluated again: its index in the records
};

}  // namespace

SearchOutcome run_search_async(const SearchConfig& cfg, const SearchSpace& space,
                               AsyncEvaluator& evaluator, Journal& journal,
                               const DriverOptions& options, AsyncStats* stats) {
  const double t0 = steady_now_s();
  SearchOutcome out;
  const int workers = evaluator.workers();
  if (workers < 1) throw Error("search: the evaluator has no workers");
  const std::string eval_hash = config_hash(cfg.evaluation_identity());
  OpenedRun opened = open_run(cfg, space, journal, options);
  const int64_t run_id = opened.run_id;
  auto strategy = std::move(opened.strategy);
  int64_t step = opened.step;
  out.records = std::move(opened.records);
  out.resumed_from = static_cast<int64_t>(out.records.size());
  // Results arrive `workers` at a time: the ETA divides by them.
  ProgressTracker progress(cfg, planned_evaluations(cfg, strategy->params()), opened.elapsed_before,
                           t0, out.records, workers);

  // Observes one result and commits it with the strategy's state. `outcome`: a worker's
  // result; `prev`: an earlier evaluation of the same genome (a duplicate). `retry` >= 0:
  // the result of a transient failure evaluated again (records[retry]), which the strategy
  // does not observe (it observed the failure and went on): a journal row of its own with
  // metrics.retry_of, in place of the old one in the records, as run_search does it.
  const auto commit = [&](const Candidate& c, const EvalOutcome* outcome,
                          const EvaluationRecord* prev, double seconds, int64_t retry = -1) {
    Observation obs;
    EvaluationRecord rec =
        settled_record(c, run_id, eval_hash, outcome, prev, seconds, cfg.fitness, obs);
    const bool reused = prev != nullptr;
    if (reused)
      ++out.reused;
    else
      progress.evaluated(rec.seconds);
    const EvaluationRecord* stored = nullptr;
    if (retry >= 0) {
      rec.metrics["retry_of"] = out.records[retry].row;
      rec.row = journal.record_evaluation(rec);
      ++out.retried;
      out.records[retry] = rec;
      stored = &out.records[retry];
    } else {
      const double tc = steady_now_s();
      strategy->observe({obs});
      ++step;
      const double ts = steady_now_s();
      const nlohmann::json state = {
          {"strategy", strategy->state()}, {"elapsed_s", progress.elapsed()}, {"step", step}};
      const double tj = steady_now_s();
      rec.row = journal.record_evaluation(rec, step, state);
      if (stats) {
        const double end = steady_now_s(), us = (end - tc) * 1e6;
        ++stats->committed;
        stats->commit_us += us;
        stats->max_commit_us = std::max(stats->max_commit_us, us);
        stats->observe_us += (ts - tc) * 1e6;
        stats->state_us += (tj - ts) * 1e6;
        stats->journal_us += (end - tj) * 1e6;
      }
      out.records.push_back(rec);
      stored = &out.records.back();
    }
    progress.note(*stored);
    if (options.on_progress)
      options.on_progress(
          progress.report(*stored, reused, retry >= 0, static_cast<int64_t>(out.records.size())));
  };

  std::vector<Candidate> redo = strategy->outstanding();  // in flight when it was killed
  std::map<uint64_t, InFlight> flying;                    // by candidate id
  std::map<std::string, uint64_t> flying_genomes;         // genome -> candidate id
  std::map<std::string, std::vector<Candidate>> waiting;  // duplicates of genomes in flight
  int64_t waiting_n = 0;
  // Transient failures of an earlier invocation, evaluated again first (as run_search
  // does), each once: indices into the records; a genome already in flight waits for it.
  std::vector<int64_t> retries;
  for (size_t i = 0; i < out.records.size(); ++i)
    if (out.records[i].transient) retries.push_back(static_cast<int64_t>(i));
  std::map<std::string, std::vector<int64_t>> retries_waiting;
  int retries_in_flight = 0;
  bool stopping = false;
  out.stop_reason = "finished";

  while (true) {
    // 1. Every idle worker gets a candidate, until a budget or the strategy says no.
    while (!stopping && evaluator.idle() > 0) {
      if (options.stop && options.stop->load()) {
        stopping = true;
        out.stop_reason = "interrupted";
        break;
      }
      const int64_t committed_or_running =
          static_cast<int64_t>(out.records.size() + flying.size()) - retries_in_flight + waiting_n;
      if (cfg.max_evaluations > 0 && committed_or_running >= cfg.max_evaluations) {
        stopping = true;
        out.stop_reason = "max_evaluations";
        break;
      }
      if (cfg.time_budget_s > 0 && progress.elapsed() >= cfg.time_budget_s) {
        stopping = true;
        out.stop_reason = "time budget";
        break;
      }
      const double ts = steady_now_s();
      if (!retries.empty()) {
        const int64_t i = retries.front();
        retries.erase(retries.begin());
        const Candidate c = candidate_of(out.records[i]);
        if (auto prev = journal.find(c.genome, eval_hash)) {
          commit(c, nullptr, &*prev, 0.0, i);
          continue;
        }
        const std::string g = c.genome.str();
        if (flying_genomes.count(g)) {
          retries_waiting[g].push_back(i);
          continue;
        }
        evaluator.submit(c, out.records);
        flying[c.id] = InFlight{c, steady_now_s(), i};
        flying_genomes[g] = c.id;
        ++retries_in_flight;
        continue;
      }
      Candidate c;
      if (!redo.empty()) {
        c = redo.front();
        redo.erase(redo.begin());
      } else {
        auto proposed = strategy->propose(1);
        if (proposed.empty()) break;  // a generation still in flight, or the budget spent
        c = proposed.front();
      }
      if (auto prev = journal.find(c.genome, eval_hash)) {
        commit(c, nullptr, &*prev, 0.0);
        continue;
      }
      const std::string g = c.genome.str();
      if (flying_genomes.count(g)) {
        waiting[g].push_back(c);
        ++waiting_n;
        continue;
      }
      evaluator.submit(c, out.records);
      flying[c.id] = InFlight{c, steady_now_s()};
      flying_genomes[g] = c.id;
      if (stats) {
        ++stats->submitted;
        stats->submit_us += (steady_now_s() - ts) * 1e6;
        stats->max_in_flight = std::max(stats->max_in_flight, static_cast<int>(flying.size()));
      }
    }

    // 2. Nothing in flight: finished, stopped, or a strategy that waits for nothing.
    if (flying.empty()) {
      if (!stopping && !retries.empty()) continue;
      if (strategy->done() && redo.empty()) {
        out.finished = true;
        out.stop_reason = "finished";
        break;
      }
      if (stopping) break;
      throw std::logic_error("search: the strategy proposes nothing and waits for nothing");
    }

    // 3. The next result, in whatever order the workers finish.
    std::pair<uint64_t, EvalOutcome> result;
    try {
      result = evaluator.wait();
    } catch (const EvaluationBug& bug) {  // a programming error on a worker stops the search
      const auto f = flying.find(bug.candidate_id);
      if (f == flying.end()) throw;
      throw std::logic_error(
          evaluation_bug_message(f->second.candidate, bug.what(), out.records.size()));
    }
    auto& [id, outcome] = result;
    auto it = flying.find(id);
    if (it == flying.end())
      throw Error("search: the evaluator returned candidate " + std::to_string(id) +
                  ", which is not in flight");
    const Candidate c = it->second.candidate;
    const double seconds = steady_now_s() - it->second.started;
    const int64_t retry = it->second.retry;
    flying.erase(it);
    const std::string g = c.genome.str();
    flying_genomes.erase(g);
    if (retry >= 0) --retries_in_flight;
    commit(c, &outcome, nullptr, seconds, retry);
    auto rw = retries_waiting.find(g);
    if (rw != retries_waiting.end()) {
      // Answered by this result unless it failed transiently again: then they go again.
      const auto prev = journal.find(c.genome, eval_hash);
      for (int64_t i : rw->second) {
        if (prev)
          commit(candidate_of(out.records[i]), nullptr, &*prev, 0.0, i);
        else
          retries.insert(retries.begin(), i);
      }
      retries_waiting.erase(rw);
    }
    auto w = waiting.find(g);
    if (w != waiting.end()) {
      // A transient failure answers no duplicate: they are evaluated themselves.
      const auto prev = journal.find(c.genome, eval_hash);
      for (const Candidate& dup : w->second) {
        if (prev)
          commit(dup, nullptr, &*prev, 0.0);
        else
          redo.insert(redo.begin(), dup);
      }
      waiting_n -= static_cast<int64_t>(w->second.size());
      waiting.erase(w);
    }
  }
  out.elapsed_s = progress.elapsed();
  out.screened = strategy->screened();
  return out;
}

}  // namespace dalnas
