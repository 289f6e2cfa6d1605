#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "core/rng.h"
#include "search/results.h"

namespace dalnas {
namespace {

EvaluationRecord record(uint64_t id, double miou, double lat, double params, bool feasible = true,
                        EvalStatus st = EvalStatus::Ok) {
  EvaluationRecord r;
  r.candidate_id = id;
  r.genome = "g" + std::to_string(id);
  r.status = st;
  r.feasible = feasible && st == EvalStatus::Ok;
  r.metrics = {{"miou", miou}, {"latency_ms", lat}, {"params", params}};
  r.fitness = st == EvalStatus::Ok ? miou - lat / 100 : std::nan("");
  return r;
}

// Naive reference: i is on the front when no other usable record is at least as good in
// every objective and better in one.
bool naive_on_front(const std::vector<EvaluationRecord>& rs, size_t i) {
  auto usable = [](const EvaluationRecord& r) {
    return r.status == EvalStatus::Ok && r.feasible && std::isfinite(r.fitness);
  };
  if (!usable(rs[i])) return false;
  auto v = [](const EvaluationRecord& r) {
    return std::vector<double>{-r.metrics["miou"].get<double>(),
                               r.metrics["latency_ms"].get<double>(),
                               r.metrics["params"].get<double>()};
  };
  const auto a = v(rs[i]);
  for (size_t k = 0; k < rs.size(); ++k) {
    if (k == i || !usable(rs[k])) continue;
    const auto b = v(rs[k]);
    bool no_worse = true, better = false;
    for (size_t d = 0; d < a.size(); ++d) {
      no_worse = no_worse && b[d] <= a[d];
      better = better || b[d] < a[d];
    }
    if (no_worse && better) return false;
  }
  return true;
}

TEST(ParetoFront, MatchesANaiveDominanceCheckOnRandomRecords) {
  Rng rng(5);
  for (int trial = 0; trial < 30; ++trial) {
    std::vector<EvaluationRecord> rs;
    const int n = 1 + static_cast<int>(rng.below(25));
    for (int i = 0; i < n; ++i) {
      // Coarse values so that ties occur.
      const EvalStatus st = rng.below(10) == 0 ? EvalStatus::Failed : EvalStatus::Ok;
      rs.push_back(record(static_cast<uint64_t>(i + 1), rng.below(5) / 5.0, 1.0 + rng.below(4),
                          1000.0 * (1 + rng.below(4)), rng.below(8) != 0, st));
    }
    const auto front = pareto_front(rs, {"miou", "latency_ms", "params"});
    std::vector<size_t> expected;
    for (size_t i = 0; i < rs.size(); ++i)
      if (naive_on_front(rs, i)) expected.push_back(i);
    EXPECT_EQ(front, expected) << "trial " << trial;
  }
}

TEST(BestRecord, IsTheFeasibleOneWithTheHighestFitness) {
  std::vector<EvaluationRecord> rs = {record(1, 0.5, 10, 1), record(2, 0.9, 1, 1, false),
                                      record(3, 0.7, 10, 1), record(4, 0.7, 10, 1),
                                      record(5, 0.99, 1, 1, true, EvalStatus::Failed)};
  auto b = best_record(rs);
  ASSERT_TRUE(b);
  EXPECT_EQ(rs[*b].candidate_id, 3u) << "infeasible and failed excluded; the older wins a tie";
  EXPECT_FALSE(best_record({record(1, 0.5, 1, 1, false)}));
}

TEST(CandidatesCsv, HasOneRowPerRecordAndQuotesText) {
  std::vector<EvaluationRecord> rs = {record(1, 0.5, 10, 100), record(2, 0.6, 2, 200)};
  rs[1].reason = "latency_ms 12 > max_latency_ms 10; \"too slow\"";
  rs[1].parents = {1, 7};
  rs[0].metrics["fidelity"] = "low";
  rs[0].metrics["object_recall"] = 0.75;
  rs[0].metrics["boundary_f1"] = nullptr;  // undefined: an empty cell
  const std::string csv = candidates_csv(rs);
  std::istringstream in(csv);
  std::string header, l1, l2, extra;
  std::getline(in, header);
  std::getline(in, l1);
  std::getline(in, l2);
  EXPECT_FALSE(std::getline(in, extra));
  EXPECT_EQ(header.rfind("candidate_id,generation,origin,parents,genome,status,fitness", 0), 0u);
  EXPECT_NE(l1.find(",low,"), std::string::npos) << l1;
  EXPECT_NE(header.find(",reason,object_recall,object_precision,fragmentation,boundary_f1"),
            std::string::npos)
      << header;
  EXPECT_EQ(l1.substr(l1.size() - 8), ",0.75,,,") << l1;
  EXPECT_NE(l2.find(",1 7,"), std::string::npos) << l2;
  EXPECT_NE(l2.find("\"latency_ms 12 > max_latency_ms 10; \"\"too slow\"\"\""), std::string::npos)
      << l2;
  // The header's column count equals every row's (outside quotes).
  auto columns = [](const std::string& s) {
    int n = 1;
    bool q = false;
    for (char c : s) {
      if (c == '"') q = !q;
      if (c == ',' && !q) ++n;
    }
    return n;
  };
  EXPECT_EQ(columns(l1), columns(header));
  EXPECT_EQ(columns(l2), columns(header));
}

EvaluationRecord failed(uint64_t id, EvalStatus st, const std::string& reason,
                        bool transient = false) {
  EvaluationRecord r = record(id, 0, 0, 0, false, st);
  r.reason = reason;
  r.transient = transient;
  return r;
}

TEST(NoWinnerMessage, CountsTheOutcomesAndNamesTheMostCommonReasonAndTheRemedy) {
  // Three rejections that differ only in their numbers outnumber two distinct failures.
  const std::vector<EvaluationRecord> rs = {
      failed(1, EvalStatus::Failed, "training diverged (loss nan at epoch 2)"),
      failed(2, EvalStatus::Rejected, "rejected before training: latency 12.5 ms > 10"),
      failed(3, EvalStatus::Rejected, "rejected before training: latency 31.25 ms > 10"),
      failed(4, EvalStatus::Failed, "unmeasured: the measure command timed out after 5 s", true),
      failed(5, EvalStatus::Rejected, "rejected before training: latency 14 ms > 10"),
      record(6, 0.5, 20, 100, false)};  // trained, infeasible
  const std::string m = no_winner_message(rs);
  EXPECT_EQ(m.rfind("no usable candidate: all 6 evaluations failed or were rejected (2 failed, "
                    "1 of them transient, 3 rejected before training, 1 trained but infeasible)",
                    0),
            0u)
      << m;
  EXPECT_NE(m.find("most common reason (3 of 6): rejected: rejected before training: latency "
                   "12.5 ms > 10"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("loosen the hard limits of [fitness.constraints]"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos);

  // Unmeasured candidates point at the [measure] command and --resume.
  const std::string u =
      no_winner_message({failed(1, EvalStatus::Failed, "unmeasured: exit 1", true),
                         failed(2, EvalStatus::Failed, "unmeasured: exit 2", true)});
  EXPECT_NE(u.find("(2 of 2): failed: unmeasured: exit 1"), std::string::npos) << u;
  EXPECT_NE(u.find("[measure] command"), std::string::npos) << u;
  EXPECT_NE(u.find("--resume"), std::string::npos) << u;
  // Other failures point at candidates.csv.
  const std::string f =
      no_winner_message({failed(1, EvalStatus::Failed, "libtorch: shape mismatch\nat line 3")});
  EXPECT_NE(f.find("candidates.csv"), std::string::npos) << f;
  EXPECT_EQ(f.find('\n'), std::string::npos) << f;
  // Nothing evaluated, and a usable record: no message / another message.
  EXPECT_NE(no_winner_message({}).find("no candidate was evaluated"), std::string::npos);
  EXPECT_EQ(no_winner_message({failed(1, EvalStatus::Failed, "x"), record(2, 0.5, 1, 1)}), "");
}

}  // namespace
}  // namespace dalnas
