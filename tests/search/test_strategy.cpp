#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "core/error.h"
#include "core/genome.h"
#include "search/strategy.h"
#include "synthetic.h"

namespace dalnas {
namespace {

using testing_search::Driver;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Small settings so that a whole search takes milliseconds.
nlohmann::json small_params(const std::string& name) {
  if (name == "ga") return {{"population", 8}, {"generations", 4}, {"newcomers", 2}, {"elites", 1}};
  if (name == "regularized-evolution") return {{"population", 6}, {"sample", 3}, {"budget", 30}};
  if (name == "nsga2") return {{"population", 8}, {"generations", 4}};
  return {{"budget", 25}};
}

class EveryStrategy : public ::testing::TestWithParam<std::string> {};

// "Run k steps, save, restore into a fresh object, continue" gives exactly the
// uninterrupted run: the same proposals (ids, genomes, parents, origins), the same
// observations, and the same final state (random stream included). The state travels
// through its JSON text, as it does through the journal.
TEST_P(EveryStrategy, ResumeContinuesExactlyLikeAnUninterruptedRun) {
  const std::string name = GetParam();
  const SearchSpace space;
  for (int workers : {1, 3}) {
    auto full = make_strategy(name, small_params(name), space, 2024);
    Driver d_full;
    d_full.workers = workers;
    const int total = d_full.run(*full);
    ASSERT_TRUE(full->done());
    ASSERT_GT(total, 20);
    for (int k : {1, 5, total / 2, total - 1}) {
      auto first = make_strategy(name, small_params(name), space, 2024);
      Driver d;
      d.workers = workers;
      ASSERT_EQ(d.run(*first, k), k);
      const std::string saved = first->state().dump();

      auto resumed = make_strategy(name, small_params(name), space, 2024);
      resumed->restore(nlohmann::json::parse(saved));
      EXPECT_EQ(resumed->state(), first->state());
      // The candidates in flight at the interruption are the outstanding ones.
      std::vector<uint64_t> inflight, outstanding;
      for (const Candidate& c : d.inflight) inflight.push_back(c.id);
      for (const Candidate& c : resumed->outstanding()) outstanding.push_back(c.id);
      std::sort(inflight.begin(), inflight.end());
      EXPECT_EQ(outstanding, inflight) << name << " k=" << k;
      d.inflight = resumed->outstanding();
      d.run(*resumed);
      EXPECT_TRUE(resumed->done());
      EXPECT_EQ(d.log, d_full.log) << name << " workers=" << workers << " k=" << k;
      EXPECT_EQ(resumed->state(), full->state()) << name << " k=" << k;
    }
  }
}

TEST_P(EveryStrategy, SeedsReproduceAndDiffer) {
  const std::string name = GetParam();
  const SearchSpace space;
  auto a = make_strategy(name, small_params(name), space, 1);
  auto b = make_strategy(name, small_params(name), space, 1);
  auto c = make_strategy(name, small_params(name), space, 2);
  Driver da, db, dc;
  da.workers = db.workers = dc.workers = 2;
  da.run(*a);
  db.run(*b);
  dc.run(*c);
  EXPECT_EQ(da.log, db.log);
  EXPECT_NE(da.log, dc.log);
}

TEST_P(EveryStrategy, ProposesNoRepeatsAndEveryCandidateIsInTheSpace) {
  const std::string name = GetParam();
  const SearchSpace space;
  auto s = make_strategy(name, small_params(name), space, 77);
  std::set<std::string> genomes;
  std::set<uint64_t> ids;
  uint64_t expected_id = 1;
  for (;;) {
    auto cands = s->propose(4);
    if (cands.empty()) break;
    std::vector<Observation> obs;
    for (const Candidate& c : cands) {
      EXPECT_EQ(c.id, expected_id++);
      EXPECT_TRUE(genomes.insert(c.genome.str()).second) << "repeat: " << c.genome.str();
      EXPECT_TRUE(space.contains(c.genome)) << c.genome.str();
      EXPECT_TRUE(c.origin == "random" || c.origin == "mutation" || c.origin == "crossover")
          << c.origin;
      for (uint64_t p : c.parents) EXPECT_LT(p, c.id);
      obs.push_back(testing_search::synthetic_result(c));
    }
    // Results in reverse order.
    std::reverse(obs.begin(), obs.end());
    s->observe(obs);
  }
  EXPECT_TRUE(s->done());
  EXPECT_TRUE(s->outstanding().empty());
}

// seed_genomes: the first proposals, in order, labelled "seed"; the rest as without them;
// recorded in the parameters only when given; resumable; a genome outside the space is
// refused naming its index and gene.
TEST_P(EveryStrategy, SeedGenomesAreTheFirstProposalsInOrder) {
  const std::string name = GetParam();
  const SearchSpace space;  // widths 8..64: `reference` lies in it
  Genome reference;
  ASSERT_TRUE(named_genome("reference", reference));
  ASSERT_TRUE(space.contains(reference));
  const std::string other =
      "ConvBnAct-8-k3-relu_max_ConvAct-16-k5-gelu_avg_MBConv-24-k3-e4-relu6_dec-8";
  nlohmann::json params = small_params(name);
  EXPECT_FALSE(make_strategy(name, params, space, 3)->params().contains("seed_genomes"));
  params["seed_genomes"] = {"reference", other};
  auto s = make_strategy(name, params, space, 3);
  EXPECT_EQ(s->params().at("seed_genomes"), nlohmann::json::array({reference.str(), other}));
  const auto first = s->propose(3);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].genome, reference);
  EXPECT_EQ(first[0].origin, "seed");
  EXPECT_EQ(first[1].genome.str(), other);
  EXPECT_EQ(first[1].origin, "seed");
  EXPECT_EQ(first[2].origin, "random");
  // Saved after the seeds, restored: they are not proposed again.
  const std::string saved = s->state().dump();
  auto resumed = make_strategy(name, params, space, 3);
  resumed->restore(nlohmann::json::parse(saved));
  Driver d;
  d.workers = 2;
  for (const Candidate& c : first) resumed->observe({testing_search::synthetic_result(c)});
  d.run(*resumed);
  for (const auto& line : d.log) {
    EXPECT_EQ(line.find(" " + reference.str() + " "), std::string::npos) << line;
    EXPECT_EQ(line.find(" " + other + " "), std::string::npos) << line;
  }
  EXPECT_TRUE(resumed->done());

  params["seed_genomes"] = {
      other, "ConvBnAct-8-k3-relu_max_ConvAct-12-k5-gelu_avg_MBConv-24-k3-e4-relu6_dec-8"};
  const std::string e = error_of([&] { make_strategy(name, params, space, 3); });
  EXPECT_EQ(e.rfind("strategy " + name + ": seed_genomes[1]: ", 0), 0u) << e;
  EXPECT_NE(e.find("width 12 not in the search space"), std::string::npos) << e;
  params["seed_genomes"] = {"nosuchnet"};
  EXPECT_NE(error_of([&] { make_strategy(name, params, space, 3); }).find("seed_genomes[0]: "),
            std::string::npos);
  params["seed_genomes"] = "reference";
  EXPECT_NE(error_of([&] {
              make_strategy(name, params, space, 3);
            }).find("seed_genomes must be a list of genomes"),
            std::string::npos);
}

TEST_P(EveryStrategy, RejectsUnknownObservationsAndForeignStates) {
  const std::string name = GetParam();
  const SearchSpace space;
  auto s = make_strategy(name, small_params(name), space, 5);
  auto cands = s->propose(1);
  ASSERT_EQ(cands.size(), 1u);
  Observation o;
  o.id = 999;
  EXPECT_THROW(s->observe({o}), std::logic_error);
  s->observe({testing_search::synthetic_result(cands[0])});
  EXPECT_THROW(s->observe({testing_search::synthetic_result(cands[0])}), std::logic_error);

  const nlohmann::json st = s->state();
  // Other parameters.
  nlohmann::json other = small_params(name);
  other["max_retries"] = 7;
  auto t = make_strategy(name, other, space, 5);
  EXPECT_EQ(error_of([&] { t->restore(st); }).rfind("strategy state: parameters differ", 0), 0u);
  // Another space.
  SearchSpace narrow;
  narrow.widths = {8, 16};
  auto u = make_strategy(name, small_params(name), narrow, 5);
  EXPECT_EQ(error_of([&] { u->restore(st); }).rfind("strategy state: the search space differs", 0),
            0u);
  // Another strategy.
  const std::string other_name = name == "random" ? "ga" : "random";
  auto v = make_strategy(other_name, small_params(other_name), space, 5);
  EXPECT_EQ(error_of([&] { v->restore(st); }), "strategy state: saved by strategy '" + name +
                                                   "', cannot continue it with '" + other_name +
                                                   "'");
  // Malformed.
  nlohmann::json broken = st;
  broken.erase("rng");
  auto w = make_strategy(name, small_params(name), space, 5);
  EXPECT_EQ(error_of([&] { w->restore(broken); }).rfind("strategy state: malformed", 0), 0u);
  broken = st;
  broken["rng"] = "xoshiro256ss:nope";
  EXPECT_EQ(error_of([&] { w->restore(broken); }).rfind("random state 'xoshiro256ss:nope'", 0), 0u);
}

// A screen that rules out about half the space: networks whose first block is wider than 24.
std::string wide_first_block(const Genome& g) {
  return g.blocks.at(0).width > 24 ? "first block wider than 24" : "";
}

// With a screen, no genome that fails it is proposed (the strategy draws again), the
// strategy still proposes as many candidates as without one (its budget counts proposals),
// the draws turned away are counted and saved, and a resumed screened run continues exactly
// like an uninterrupted one.
TEST_P(EveryStrategy, ScreenKeepsOutGenomesThatFailItWithoutSpendingTheBudget) {
  const std::string name = GetParam();
  const SearchSpace space;
  auto plain = make_strategy(name, small_params(name), space, 11);
  Driver dp;
  dp.workers = 2;
  const int plain_steps = dp.run(*plain);
  int plain_wide = 0;
  for (const auto& line : dp.log)
    if (line.rfind("propose", 0) == 0) {
      const std::string g = line.substr(line.find(' ', 8) + 1);
      plain_wide += wide_first_block(Genome::parse(g.substr(0, g.find(' ')))).empty() ? 0 : 1;
    }
  ASSERT_GT(plain_wide, 0) << "the screen must matter for this test to mean anything";
  EXPECT_EQ(plain->screened(), 0);

  auto s = make_strategy(name, small_params(name), space, 11);
  s->set_screen(wide_first_block);
  Driver d;
  d.workers = 2;
  int proposed = 0;
  for (;;) {
    auto before = d.log.size();
    if (!d.step(*s)) break;
    for (size_t i = before; i < d.log.size(); ++i) {
      if (d.log[i].rfind("propose", 0) != 0) continue;
      ++proposed;
      const std::string rest = d.log[i].substr(d.log[i].find(' ', 8) + 1);
      const Genome g = Genome::parse(rest.substr(0, rest.find(' ')));
      EXPECT_EQ(wide_first_block(g), "") << name << ": proposed " << g.str();
    }
  }
  EXPECT_TRUE(s->done());
  EXPECT_EQ(proposed, plain_steps) << "the same number of candidates as without a screen";
  EXPECT_GT(s->screened(), 0);
  EXPECT_EQ(s->state().at("screened").get<int64_t>(), s->screened());

  // Resume mid-run with the same screen: the same proposals and the same count.
  for (int k : {3, plain_steps / 2}) {
    auto first = make_strategy(name, small_params(name), space, 11);
    first->set_screen(wide_first_block);
    Driver d1;
    d1.workers = 2;
    ASSERT_EQ(d1.run(*first, k), k);
    auto resumed = make_strategy(name, small_params(name), space, 11);
    resumed->set_screen(wide_first_block);
    resumed->restore(nlohmann::json::parse(first->state().dump()));
    EXPECT_EQ(resumed->screened(), first->screened());
    d1.inflight = resumed->outstanding();
    d1.run(*resumed);
    EXPECT_EQ(d1.log, d.log) << name << " k=" << k;
    EXPECT_EQ(resumed->state(), s->state()) << name << " k=" << k;
  }

  // A screen that admits everything changes nothing: the same run as without one.
  auto open = make_strategy(name, small_params(name), space, 11);
  open->set_screen([](const Genome&) { return std::string(); });
  Driver d_open;
  d_open.workers = 2;
  d_open.run(*open);
  EXPECT_EQ(d_open.log, dp.log);
  EXPECT_EQ(open->state(), plain->state());

  // States saved before the screen existed carry no count: restored as none.
  nlohmann::json old = plain->state();
  old.erase("screened");
  auto from_old = make_strategy(name, small_params(name), space, 11);
  from_old->restore(old);
  EXPECT_EQ(from_old->screened(), 0);
}

// A screen nothing passes: the strategy still proposes (the first unproposed random draw,
// which the evaluator then rejects), never a repeat, and finishes; seed genomes are
// proposed whatever the screen says.
TEST_P(EveryStrategy, ScreenThatNothingPassesStillProposesAndSeedsGoFirst) {
  const std::string name = GetParam();
  const SearchSpace space;
  nlohmann::json params = small_params(name);
  params["max_retries"] = 3;
  params["seed_genomes"] = {"reference"};
  auto s = make_strategy(name, params, space, 8);
  int calls = 0;
  s->set_screen([&calls](const Genome&) {
    ++calls;
    return std::string("too slow");
  });
  std::set<std::string> genomes;
  bool first = true;
  for (;;) {
    auto cands = s->propose(3);
    if (cands.empty()) break;
    std::vector<Observation> obs;
    for (const Candidate& c : cands) {
      if (first) {
        EXPECT_EQ(c.origin, "seed");
        first = false;
      }
      EXPECT_TRUE(genomes.insert(c.genome.str()).second) << "repeat: " << c.genome.str();
      obs.push_back(testing_search::synthetic_result(c));
    }
    s->observe(obs);
  }
  EXPECT_TRUE(s->done());
  EXPECT_GT(genomes.size(), 10u);
  EXPECT_GE(s->screened(), static_cast<int64_t>(genomes.size()) - 1);
  // Every answer of the screen turned a draw away (answers are kept per genome, so a genome
  // drawn twice is asked once).
  EXPECT_GT(calls, 0);
  EXPECT_LE(calls, s->screened());
}

// A screen that few random genomes pass (about 1 in 300, as a tight latency limit on a
// wide space) still yields admissible random members: screened random draws get many more
// tries than max_retries before the fallback proposes a genome that fails the screen.
TEST_P(EveryStrategy, RareAdmissibleGenomesAreFoundBeforeTheFallback) {
  const std::string name = GetParam();
  const SearchSpace space;
  nlohmann::json params = small_params(name);
  params["max_retries"] = 3;
  auto s = make_strategy(name, params, space, 5);
  const auto rare = [](const Genome& g) {
    return std::hash<std::string>{}(g.str() + "#") % 300 == 0 ? std::string() : "too slow";
  };
  s->set_screen(rare);
  int proposed = 0;
  for (int round = 0; round < 3; ++round) {
    auto cands = s->propose(4);
    if (cands.empty()) break;
    std::vector<Observation> obs;
    for (const Candidate& c : cands) {
      ++proposed;
      EXPECT_EQ(rare(c.genome), "") << name << ": fell back to " << c.genome.str();
      obs.push_back(testing_search::synthetic_result(c));
    }
    s->observe(obs);
  }
  EXPECT_GE(proposed, 4);
  EXPECT_GT(s->screened(), 100) << "the screen turned many draws away";
}

INSTANTIATE_TEST_SUITE_P(Search, EveryStrategy,
                         ::testing::Values("ga", "regularized-evolution", "nsga2", "random"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(Strategy, FactoryAndParameterErrors) {
  const SearchSpace space;
  EXPECT_EQ(error_of([&] { make_strategy("annealing", {}, space, 1); }),
            "strategy 'annealing': unknown (allowed: ga, regularized-evolution, nsga2, random)");
  EXPECT_EQ(error_of([&] {
              make_strategy("ga", {{"pop", 10}}, space, 1);
            }),
            "strategy ga: unknown parameter 'pop' (allowed: crossover_rate, elites, generations, "
            "mating_fraction, max_retries, mutation_rate, newcomers, population)");
  EXPECT_EQ(error_of([&] {
              make_strategy("ga", {{"population", 1}}, space, 1);
            }),
            "strategy ga: population must be an integer in 2..1000000, found 1");
  EXPECT_EQ(error_of([&] {
              make_strategy("ga", {{"mutation_rate", 1.5}}, space, 1);
            }),
            "strategy ga: mutation_rate must be a number in [0.0, 1.0], found 1.5");
  EXPECT_EQ(error_of([&] {
              make_strategy("ga", {{"population", 10}, {"newcomers", 8}, {"elites", 3}}, space, 1);
            }),
            "strategy ga: elites (3) + newcomers (8) exceed the population (10)");
  EXPECT_EQ(error_of([&] {
              make_strategy("regularized-evolution", {{"population", 5}, {"sample", 6}}, space, 1);
            }),
            "strategy regularized-evolution: sample must be an integer in 1..5, found 6");
  EXPECT_EQ(error_of([&] { make_strategy("random", nlohmann::json::array(), space, 1); }),
            "strategy random: parameters must be a table of settings, found []");
  // Defaults are filled in and reported.
  auto ga = make_strategy("ga", {}, space, 1);
  EXPECT_EQ(ga->params(), nlohmann::json::parse(R"({"population": 50, "generations": 15,
      "mating_fraction": 0.5, "mutation_rate": 0.2, "crossover_rate": 1.0, "newcomers": 10,
      "elites": 1, "max_retries": 100})"));
  EXPECT_EQ(make_strategy("regularized-evolution", {}, space, 1)->params(),
            nlohmann::json::parse(R"({"population": 50, "sample": 10, "budget": 750,
      "mutation_rate": 0.2, "max_retries": 100})"));
}

TEST(Strategy, JsonFormsRoundTripNonFiniteNumbers) {
  Observation o;
  o.id = 4;
  o.ok = false;
  o.fitness = -std::numeric_limits<double>::infinity();
  o.objectives = {1.5, std::numeric_limits<double>::quiet_NaN()};
  o.feasible = false;
  o.violation = std::numeric_limits<double>::infinity();
  const nlohmann::json j = nlohmann::json::parse(to_json(o).dump());
  const Observation b = observation_from_json(j);
  EXPECT_EQ(b.id, 4u);
  EXPECT_FALSE(b.ok);
  EXPECT_EQ(b.fitness, -std::numeric_limits<double>::infinity());
  EXPECT_EQ(b.objectives[0], 1.5);
  EXPECT_TRUE(std::isnan(b.objectives[1]));
  EXPECT_EQ(b.violation, std::numeric_limits<double>::infinity());
  EXPECT_EQ(number_from_json(number_to_json(0.1)), 0.1);
}

TEST(Strategy, RankingOrder) {
  auto ev = [](uint64_t id, bool ok, bool feasible, double fitness, double violation) {
    Evaluated e;
    e.candidate.id = id;
    e.result.id = id;
    e.result.ok = ok;
    e.result.feasible = feasible;
    e.result.fitness = fitness;
    e.result.violation = violation;
    return e;
  };
  std::vector<Evaluated> v = {ev(1, true, false, 9, 0.5),        ev(2, true, true, 1, 0),
                              ev(3, false, true, 99, 0),         ev(4, true, true, 2, 0),
                              ev(5, true, false, 0, 0.1),        ev(6, true, true, 2, 0),
                              ev(7, true, true, std::nan(""), 0)};
  std::sort(v.begin(), v.end(), ranks_before);
  std::vector<uint64_t> order;
  for (const Evaluated& e : v) order.push_back(e.candidate.id);
  // Feasible by fitness (ties by id; NaN last), infeasible by violation, failed last.
  EXPECT_EQ(order, (std::vector<uint64_t>{4, 6, 2, 7, 5, 1, 3}));
}

}  // namespace
}  // namespace dalnas
