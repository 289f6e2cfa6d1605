#include "dist/mpi_search.h"

#include "core/atomic_file.h"
#include "dist/mpi_evaluator.h"
#include "search/async_driver.h"

namespace dalnas::dist {

SearchOutcome run_search_mpi(MpiSession& session, const SearchConfig& cfg, const SearchSpace& space,
                             const std::string& run_dir, Journal& journal,
                             const DriverOptions& options) {
  MpiEvaluator evaluator(session, cfg, run_dir);
  AsyncStats stats;
  SearchOutcome out = run_search_async(cfg, space, evaluator, journal, options, &stats);
  const auto per = [](double total, int64_t n) { return n ? total / static_cast<double>(n) : 0.0; };
  const nlohmann::json j = {{"ranks", session.size()},
                            {"workers", evaluator.workers()},
                            {"committed", stats.committed},
                            {"submitted", stats.submitted},
                            {"max_in_flight", stats.max_in_flight},
                            {"commit_us_mean", per(stats.commit_us, stats.committed)},
                            {"commit_us_max", stats.max_commit_us},
                            {"observe_us_mean", per(stats.observe_us, stats.committed)},
                            {"state_us_mean", per(stats.state_us, stats.committed)},
                            {"journal_us_mean", per(stats.journal_us, stats.committed)},
                            {"submit_us_mean", per(stats.submit_us, stats.submitted)},
                            {"last_job_bytes", evaluator.last_job_bytes()},
                            {"elapsed_s", out.elapsed_s}};
  write_file_atomic(run_dir + "/mpi-stats.json", j.dump(2) + "\n");
  return out;
}

}  // namespace dalnas::dist
