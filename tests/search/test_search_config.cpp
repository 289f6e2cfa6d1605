#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/config_file.h"
#include "core/error.h"
#include "search/search_config.h"

namespace dalnas {
namespace {

std::string error_of(const nlohmann::json& j) {
  try {
    SearchConfig::from_json(j, "s.toml");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(SearchConfig, DefaultsAreASmallValidSearch) {
  const SearchConfig c = SearchConfig::defaults();
  EXPECT_EQ(c.strategy, "ga");
  EXPECT_EQ(c.device, "myriadx");
  EXPECT_EQ(c.train.at("precision"), "aligned");
  EXPECT_LT(c.evaluation.low_epochs, c.evaluation.epochs);
  EXPECT_NO_THROW(c.space.check());
}

TEST(SearchConfig, RoundTripsThroughJson) {
  nlohmann::json j = {{"search",
                       {{"strategy", "nsga2"},
                        {"seed", 7},
                        {"input_size", {128, 96}},
                        {"time_budget", "1h30m"},
                        {"screen", false}}},
                      {"strategy", {{"population", 10}, {"generations", 2}}},
                      {"evaluation", {{"epochs", 5}, {"low_epochs", 2}, {"inheritance", false}}},
                      {"fitness", {{"constraints", {{"max_latency_ms", 20}}}}},
                      {"train", {{"data", "synthetic:4"}, {"lr", 0.01}}}};
  const SearchConfig c = SearchConfig::from_json(j, "s.toml");
  EXPECT_EQ(c.strategy, "nsga2");
  EXPECT_EQ(c.seed, 7u);
  EXPECT_EQ(c.input_h, 128);
  EXPECT_EQ(c.input_w, 96);
  EXPECT_DOUBLE_EQ(c.time_budget_s, 5400);
  EXPECT_FALSE(c.screen);
  EXPECT_TRUE(SearchConfig::defaults().screen) << "on by default";
  EXPECT_FALSE(c.evaluation.inheritance);
  EXPECT_DOUBLE_EQ(c.fitness.max_latency_ms, 20);
  EXPECT_EQ(c.train.at("precision"), "aligned") << "defaults kept beside given keys";
  EXPECT_EQ(c.train.at("lr"), 0.01);
  const SearchConfig d = SearchConfig::from_json(c.to_json(), "again");
  EXPECT_EQ(d.to_json(), c.to_json());
  EXPECT_EQ(d.evaluation_identity(), c.evaluation_identity());
}

TEST(SearchConfig, BudgetsAndStrategyParametersAreNotPartOfTheEvaluationIdentity) {
  SearchConfig a = SearchConfig::defaults(), b = a;
  b.max_evaluations = 10;
  b.time_budget_s = 60;
  b.strategy_params["population"] = 20;
  b.evaluation.final_epochs = 3;
  b.evaluation.final_fp32_twin = false;
  b.evaluation.final_seeds = 3;
  b.evaluation.final_candidates = 4;
  b.screen = false;
  EXPECT_EQ(a.evaluation_identity(), b.evaluation_identity());
  EXPECT_EQ(a.evaluation.final_seeds, 1) << "one retraining by default";
  EXPECT_EQ(SearchConfig::from_json(b.to_json(), "b").evaluation.final_seeds, 3);
  EXPECT_EQ(a.evaluation.final_candidates, 1) << "the search's own best by default";
  EXPECT_EQ(SearchConfig::from_json(b.to_json(), "b").evaluation.final_candidates, 4);
  EXPECT_TRUE(a.evaluation.final_fp32_twin) << "on by default";
  EXPECT_FALSE(SearchConfig::from_json(b.to_json(), "b").evaluation.final_fp32_twin);
  b.train["precision"] = "fp32";
  EXPECT_NE(a.evaluation_identity(), b.evaluation_identity());
  b = a;
  b.device = "fp16-ideal";
  EXPECT_NE(a.evaluation_identity(), b.evaluation_identity());
  b = a;
  b.evaluation.epochs = 9;
  EXPECT_NE(a.evaluation_identity(), b.evaluation_identity());
}

// Re-scoring on folds chooses among finished candidates: no candidate's score depends on it,
// so a search resumes with it raised or switched on.
TEST(SearchConfig, RescoringIsNotPartOfTheEvaluationIdentity) {
  SearchConfig a = SearchConfig::defaults();
  SearchConfig b = a;
  b.evaluation.rescore_candidates = 5;
  b.evaluation.rescore_folds = 4;
  EXPECT_EQ(a.evaluation_identity(), b.evaluation_identity());
  const SearchConfig c = SearchConfig::from_json(b.to_json(), "t");
  EXPECT_EQ(c.evaluation.rescore_candidates, 5);
  EXPECT_EQ(c.evaluation.rescore_folds, 4);
}

// A baseline is compared with after the search: no candidate's score depends on it, so a
// finished search resumes with one; it resolves to a network (a pynas code is resolved
// against the data's bands before the search) and needs a retraining to compare.
TEST(SearchConfig, BaselineIsNotPartOfTheIdentityAndMustBeANetwork) {
  SearchConfig a = SearchConfig::defaults();
  SearchConfig b = a;
  b.evaluation.baseline = "reference";
  EXPECT_EQ(a.evaluation_identity(), b.evaluation_identity());
  EXPECT_EQ(SearchConfig::from_json(b.to_json(), "t").evaluation.baseline, "reference");
  const std::string g = "ConvAct-12-k3-relu_max_ConvAct-12-k3-relu_max_ConvAct-12-k3-relu_dec-12";
  EXPECT_EQ(SearchConfig::from_json({{"evaluation", {{"baseline", g}}}}, "t").evaluation.baseline,
            g);
  EXPECT_EQ(
      SearchConfig::from_json({{"evaluation", {{"baseline", "pynas:x"}}}}, "t").evaluation.baseline,
      "pynas:x");
  EXPECT_NE(error_of({{"evaluation", {{"baseline", "resnet50"}}}})
                .find("s.toml: evaluation.baseline: arch 'resnet50': not a named genome"),
            std::string::npos)
      << error_of({{"evaluation", {{"baseline", "resnet50"}}}});
  EXPECT_NE(error_of({{"evaluation", {{"baseline", "ConvAct-12-k3-relu_dec"}}}})
                .find("evaluation.baseline: arch 'ConvAct-12-k3-relu_dec'"),
            std::string::npos);
  EXPECT_NE(error_of({{"evaluation", {{"baseline", 3}}}}).find("evaluation.baseline"),
            std::string::npos);
  EXPECT_NE(error_of({{"evaluation", {{"baseline", "reference"}, {"final_epochs", 0}}}})
                .find("evaluation.baseline: the baseline is retrained like the winner for "
                      "final_epochs, which is 0"),
            std::string::npos);
}

// A split by fractions is drawn with [train] split.seed since 6 Dec 2026 (before, with the
// search seed): the identity names the split seed only where the two differ, so journals
// of seed 1 (and of named scenes) keep their identity and a seed-2 journal of the old rule
// is not resumed on the new rule's split.
TEST(SearchConfig, TheIdentityNamesTheSplitSeedWhereItDiffersFromTheSearchSeed) {
  SearchConfig a = SearchConfig::defaults();
  EXPECT_FALSE(a.evaluation_identity().contains("split_seed")) << "seed 1, split seed 1";
  a.seed = 2;
  ASSERT_TRUE(a.evaluation_identity().contains("split_seed"));
  EXPECT_EQ(a.evaluation_identity().at("split_seed"), 1);
  SearchConfig b = a;
  b.train["split"] = {{"seed", 2}};
  EXPECT_FALSE(b.evaluation_identity().contains("split_seed")) << "the old rule's split";
  // ... in the form a journal made under the old rule recorded (no split.seed key), so
  // that such a journal resumes once its config.toml states the split seed it ran with.
  EXPECT_FALSE(b.evaluation_identity().at("train").at("split").contains("seed"));
  SearchConfig old_form = a;
  old_form.train["split"] = nlohmann::json::object();
  nlohmann::json old_identity = old_form.evaluation_identity();
  old_identity.erase("split_seed");  // the old code wrote none
  EXPECT_EQ(b.evaluation_identity(), old_identity);
  EXPECT_NE(a.evaluation_identity(), b.evaluation_identity());
  b.train["split"] = {{"val", {"a"}}, {"test", {"b"}}};
  EXPECT_FALSE(b.evaluation_identity().contains("split_seed")) << "named scenes: no shuffle";
}

TEST(SearchConfig, ErrorsNameTheTableAndKey) {
  EXPECT_NE(error_of({{"serch", {}}}).find("s.toml: serch: unknown setting"), std::string::npos)
      << error_of({{"serch", {}}});
  EXPECT_NE(error_of({{"search", {{"strategy", "annealing"}}}}).find("search.strategy"),
            std::string::npos);
  EXPECT_NE(error_of({{"search", {{"seed", -1}}}}).find("search.seed"), std::string::npos);
  EXPECT_NE(error_of({{"search", {{"input_size", {0, 3}}}}}).find("search.input_size"),
            std::string::npos);
  EXPECT_NE(error_of({{"search", {{"interface", "usb4"}}}}).find("search.interface"),
            std::string::npos);
  EXPECT_NE(error_of({{"search", {{"screen", "yes"}}}}).find("search.screen"), std::string::npos);
  EXPECT_NE(error_of({{"search", {{"time_budget", "ten minutes"}}}}).find("time_budget"),
            std::string::npos);
  EXPECT_NE(error_of({{"evaluation", {{"epochs", 0}}}}).find("evaluation.epochs"),
            std::string::npos);
  EXPECT_NE(error_of({{"evaluation", {{"epochs", 3}, {"low_epochs", 3}}}}).find("low_epochs"),
            std::string::npos);
  EXPECT_NE(error_of({{"evaluation", {{"split", "holdout"}}}}).find("evaluation.split"),
            std::string::npos);
  EXPECT_NE(error_of({{"strategy", {{"populaton", 5}}}}).find("populaton"), std::string::npos);
  EXPECT_NE(error_of({{"evaluation", {{"rescore_candidates", 1}}}})
                .find("evaluation.rescore_candidates: must be 0 (off) or >= 2"),
            std::string::npos);
  EXPECT_NE(error_of({{"evaluation", {{"rescore_folds", 1}}}}).find("evaluation.rescore_folds"),
            std::string::npos);
  EXPECT_NE(error_of({{"evaluation", {{"rescore_candidates", 4}, {"split", "test"}}}})
                .find("must rank on split = \"val\" too"),
            std::string::npos);
  EXPECT_NE(error_of({{"fitness", {{"form", "x"}}}}).find("fitness.form"), std::string::npos);
  EXPECT_NE(error_of({{"search_space", {{"widths", {0}}}}}).find("search_space.widths"),
            std::string::npos)
      << error_of({{"search_space", {{"widths", {0}}}}});
}

TEST(SearchConfig, FinalTrainOverridesTheWinnersRecipeOnlyAndRoundTripsThroughToml) {
  const nlohmann::json j = {
      {"train", {{"lr", 0.01}, {"tiling", {{"size", 64}, {"stride", 32}}}}},
      {"final_train", {{"lr", 3e-3}, {"patience", 10}, {"tiling", {{"size", 128}}}}}};
  const SearchConfig c = SearchConfig::from_json(j, "s.toml");
  EXPECT_EQ(c.final_train.at("lr"), 3e-3);
  EXPECT_EQ(c.final_train.at("tiling").at("size"), 128);
  EXPECT_EQ(c.train.at("lr"), 0.01) << "the candidates' recipe is unchanged";
  // Through the run folder's config.toml and back.
  const std::string path = ::testing::TempDir() + "dalnas-final-train-config.toml";
  {
    std::ofstream f(path);
    f << to_toml(c.to_json());
  }
  const SearchConfig d = SearchConfig::from_json(load_config_file(path), path);
  std::remove(path.c_str());
  EXPECT_EQ(d.final_train, c.final_train);
  EXPECT_TRUE(SearchConfig::defaults().final_train.empty()) << "none by default";
  // No candidate's result depends on it.
  EXPECT_EQ(c.evaluation_identity(),
            SearchConfig::from_json({{"train", j.at("train")}}, "t").evaluation_identity());
  EXPECT_FALSE(c.evaluation_identity().contains("final_train"));
}

TEST(SearchConfig, FinalTrainCannotChangeWhatTheWinnerIsEvaluatedOn) {
  for (const char* k : {"data", "split", "precision", "seed", "epochs", "eval_tile"}) {
    const std::string e = error_of({{"final_train", {{k, 1}}}});
    EXPECT_NE(e.find(std::string("final_train.") + k + ": cannot differ"), std::string::npos) << e;
  }
  EXPECT_NE(error_of({{"final_train", 3}}).find("final_train: expected a table"),
            std::string::npos);
}

TEST(SearchConfig, EveryShippedSearchConfigIsValid) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(DALNAS_SOURCE_DIR "/configs")) {
    const std::string name = e.path().filename().string();
    if (e.path().extension() != ".toml" || name.rfind("train-", 0) == 0) continue;
    ++n;
    EXPECT_NO_THROW(SearchConfig::from_json(load_config_file(e.path().string()), name)) << name;
  }
  EXPECT_GE(n, 5);
  const SearchConfig c = SearchConfig::from_json(
      load_config_file(DALNAS_SOURCE_DIR "/configs/search-sen2ships.toml"), "sen2ships");
  // The one-hour search retrains its winner with `dalnas train`'s recipe.
  EXPECT_EQ(c.final_train.at("lr"), 0.003);
  EXPECT_EQ(c.final_train.at("tiling").at("size"), 128);
  EXPECT_EQ(c.train.at("lr"), 0.01);
  // Its candidates train the proxy-fidelity table's cheapest level that ranks like full
  // training (README): 8 epochs on half the chips, scored at the kept weights.
  EXPECT_TRUE(c.evaluation.uses_rungs());
  EXPECT_EQ(c.evaluation.rungs, (std::vector<int>{8}));
  EXPECT_EQ(c.evaluation.rung_chip_fraction, (std::vector<double>{0.5}));
  EXPECT_EQ(c.evaluation.rung_score, "kept");
}

TEST(SearchConfig, RungScheduleParsesAndRoundTrips) {
  const nlohmann::json j = {{"evaluation",
                             {{"schedule", "rungs"},
                              {"rungs", {1, 2, 4, 8}},
                              {"eta", 3},
                              {"rung_chip_fraction", {0.25, 0.5, 1, 1}},
                              {"early_stop", true},
                              {"rung_score", "last"},
                              {"promotion", "asha"},
                              {"prefilter", "naswot"},
                              {"prefilter_keep", 0.25},
                              {"prefilter_warmup", 4}}}};
  const SearchConfig c = SearchConfig::from_json(j, "s.toml");
  EXPECT_TRUE(c.evaluation.uses_rungs());
  EXPECT_EQ(c.evaluation.rungs, (std::vector<int>{1, 2, 4, 8}));
  EXPECT_EQ(c.evaluation.epochs, 8) << "epochs left out: the last rung";
  EXPECT_DOUBLE_EQ(c.evaluation.eta, 3);
  EXPECT_EQ(c.evaluation.rung_chip_fraction, (std::vector<double>{0.25, 0.5, 1, 1}));
  EXPECT_TRUE(c.evaluation.early_stop);
  EXPECT_EQ(c.evaluation.rung_score, "last");
  EXPECT_EQ(c.evaluation.promotion, "asha");
  EXPECT_EQ(c.evaluation.prefilter, "naswot");
  EXPECT_DOUBLE_EQ(c.evaluation.prefilter_keep, 0.25);
  EXPECT_EQ(c.evaluation.prefilter_warmup, 4);
  const SearchConfig d = SearchConfig::from_json(c.to_json(), "again");
  EXPECT_EQ(d.to_json(), c.to_json());
  // Rungs alone: every chip at every rung.
  const SearchConfig e =
      SearchConfig::from_json({{"evaluation", {{"schedule", "rungs"}, {"rungs", {2, 3}}}}}, "e");
  EXPECT_EQ(e.evaluation.rung_chip_fraction, (std::vector<double>{1, 1}));
  EXPECT_EQ(e.evaluation.epochs, 3);
  // Epochs alone: the default rungs below them, then the epochs.
  const SearchConfig f =
      SearchConfig::from_json({{"evaluation", {{"schedule", "rungs"}, {"epochs", 4}}}}, "f");
  EXPECT_EQ(f.evaluation.rungs, (std::vector<int>{1, 2, 4}));
  EXPECT_EQ(f.evaluation.rung_chip_fraction, (std::vector<double>{1, 1, 1}));
}

TEST(SearchConfig, RungSettingsAreInTheIdentityOnlyWhenRungsAreTheSchedule) {
  SearchConfig a = SearchConfig::defaults(), b = a;
  EXPECT_FALSE(a.evaluation_identity()["evaluation"].contains("rungs"))
      << "two-stage identities are as before the rung settings existed";
  b.evaluation.eta = 3;
  EXPECT_EQ(a.evaluation_identity(), b.evaluation_identity()) << "unused under two-stage";
  a.evaluation.schedule = b.evaluation.schedule = "rungs";
  EXPECT_NE(a.evaluation_identity(), b.evaluation_identity());
  b = a;
  b.evaluation.rung_chip_fraction = {0.5, 1, 1, 1};
  EXPECT_NE(a.evaluation_identity(), b.evaluation_identity());
  b = a;
  b.evaluation.early_stop = true;
  EXPECT_NE(a.evaluation_identity(), b.evaluation_identity());
  b = a;
  EXPECT_FALSE(a.evaluation_identity()["evaluation"].contains("rung_score"))
      << "rung journals made before rung_score keep their identity";
  b.evaluation.rung_score = "last";
  EXPECT_NE(a.evaluation_identity(), b.evaluation_identity());
  b = a;
  EXPECT_FALSE(a.evaluation_identity()["evaluation"].contains("promotion"));
  b.evaluation.promotion = "asha";
  EXPECT_NE(a.evaluation_identity(), b.evaluation_identity());
  b = a;
  b.evaluation.prefilter_keep = 0.3;
  EXPECT_EQ(a.evaluation_identity(), b.evaluation_identity()) << "no pre-filter: unused";
  EXPECT_FALSE(a.evaluation_identity()["evaluation"].contains("prefilter"));
  b.evaluation.prefilter = "naswot";
  EXPECT_NE(a.evaluation_identity(), b.evaluation_identity());
  SearchConfig c2 = b;
  c2.evaluation.prefilter_keep = 0.5;
  EXPECT_NE(c2.evaluation_identity(), b.evaluation_identity()) << "its share, once in use";
  b = a;
  b.evaluation.low_epochs = 1;
  EXPECT_EQ(a.evaluation_identity(), b.evaluation_identity()) << "unused under rungs";
  SearchConfig two = SearchConfig::defaults();
  EXPECT_NE(two.evaluation_identity(), a.evaluation_identity()) << "the schedule itself";
}

TEST(SearchConfig, BadRungSettingsAreOneLineErrors) {
  const auto ev = [](nlohmann::json e) { return error_of({{"evaluation", std::move(e)}}); };
  const auto has = [](const std::string& msg, const char* part) {
    return msg.find(part) != std::string::npos;
  };
  std::string m = ev({{"schedule", "rungs"}, {"rungs", {1, 4, 2}}});
  EXPECT_TRUE(has(m, "evaluation.rungs: must be strictly increasing (2 follows 4)")) << m;
  m = ev({{"schedule", "rungs"}, {"rungs", {1, 1}}});
  EXPECT_TRUE(has(m, "strictly increasing")) << m;
  m = ev({{"schedule", "rungs"}, {"rungs", nlohmann::json::array()}});
  EXPECT_TRUE(has(m, "evaluation.rungs: expected a list")) << m;
  m = ev({{"schedule", "rungs"}, {"rungs", {0, 2}}});
  EXPECT_TRUE(has(m, "evaluation.rungs: 0 is not an epoch count")) << m;
  m = ev({{"schedule", "rungs"}, {"rungs", {1, 2.5}}});
  EXPECT_TRUE(has(m, "evaluation.rungs: 2.5 is not an epoch count")) << m;
  m = ev({{"schedule", "rungs"}, {"rungs", {1, 2, 4}}, {"epochs", 6}});
  EXPECT_TRUE(has(m, "the last rung (4 epochs) must equal epochs (6)")) << m;
  m = ev({{"schedule", "rungs"}, {"rungs", {1, 2}}, {"rung_chip_fraction", {0.5}}});
  EXPECT_TRUE(has(m, "evaluation.rung_chip_fraction: 1 shares for 2 rungs")) << m;
  m = ev({{"schedule", "rungs"}, {"rungs", {1, 2}}, {"rung_chip_fraction", {0, 1}}});
  EXPECT_TRUE(has(m, "evaluation.rung_chip_fraction: 0 is not a share")) << m;
  m = ev({{"schedule", "rungs"}, {"eta", 1}});
  EXPECT_TRUE(has(m, "evaluation.eta: must be above 1")) << m;
  m = ev({{"schedule", "rungs"}, {"rung_score", "best"}});
  EXPECT_TRUE(has(m, "evaluation.rung_score: 'best' is not a rung score (allowed: kept, last)"))
      << m;
  m = ev({{"schedule", "rungs"}, {"promotion", "lazy"}});
  EXPECT_TRUE(has(m, "evaluation.promotion: 'lazy' is not a promotion rule")) << m;
  m = ev({{"prefilter", "jacov"}});
  EXPECT_TRUE(has(m, "evaluation.prefilter: 'jacov' is not a pre-filter")) << m;
  m = ev({{"prefilter", "naswot"}, {"prefilter_keep", 1}});
  EXPECT_TRUE(has(m, "evaluation.prefilter_keep: must be within (0, 1)")) << m;
  m = ev({{"prefilter_warmup", -1}});
  EXPECT_TRUE(has(m, "evaluation.prefilter_warmup")) << m;
  m = ev({{"schedule", "halving"}});
  EXPECT_TRUE(has(m, "evaluation.schedule: 'halving' is not a schedule")) << m;
  m = ev({{"schedule", "rungs"}, {"multi_fidelity", false}});
  EXPECT_TRUE(has(m, "evaluation.multi_fidelity: false contradicts schedule")) << m;
  for (const auto& msg : {ev({{"schedule", "rungs"}, {"rungs", {1, 4, 2}}}),
                          ev({{"schedule", "rungs"}, {"eta", 0.5}})})
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
}

TEST(ParseDuration, ReadsUnitsAndRejectsOtherText) {
  EXPECT_DOUBLE_EQ(parse_duration("90", "t"), 90);
  EXPECT_DOUBLE_EQ(parse_duration("90s", "t"), 90);
  EXPECT_DOUBLE_EQ(parse_duration("30m", "t"), 1800);
  EXPECT_DOUBLE_EQ(parse_duration("2h", "t"), 7200);
  EXPECT_DOUBLE_EQ(parse_duration("1h30m", "t"), 5400);
  EXPECT_DOUBLE_EQ(parse_duration("1.5m", "t"), 90);
  for (const char* bad : {"", "m", "10x", "1h30", "-5", "abc"}) {
    try {
      parse_duration(bad, "--time-budget");
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("--time-budget: '", 0), 0u) << e.what();
    }
  }
}

TEST(SearchConfig, FinalCandidatesNeedAValOrTestSplitAndARetraining) {
  nlohmann::json j = SearchConfig::defaults().to_json();
  j["evaluation"]["final_candidates"] = 3;
  j["evaluation"]["split"] = "test";
  EXPECT_EQ(SearchConfig::from_json(j, "cfg.toml").evaluation.final_candidates, 3);
  j["evaluation"]["split"] = "train";
  try {
    SearchConfig::from_json(j, "cfg.toml");
    ADD_FAILURE() << "final_candidates with split train was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("evaluation.final_candidates"), std::string::npos)
        << e.what();
  }
  // Nothing to compare without a retraining.
  j["evaluation"]["split"] = "val";
  j["evaluation"]["final_epochs"] = 0;
  try {
    SearchConfig::from_json(j, "cfg.toml");
    ADD_FAILURE() << "final_candidates with final_epochs 0 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("final_epochs, which is 0"), std::string::npos)
        << e.what();
  }
}

TEST(SearchConfig, FinalSeedsOrCandidatesOutOfRangeIsAnErrorNamingTheKey) {
  for (const char* key : {"final_seeds", "final_candidates"})
    for (const char* bad : {"0", "-1", "101", "\"three\""}) {
      nlohmann::json j = SearchConfig::defaults().to_json();
      j["evaluation"][key] = nlohmann::json::parse(bad);
      try {
        SearchConfig::from_json(j, "cfg.toml");
        ADD_FAILURE() << key << " = " << bad << " was accepted";
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(std::string("evaluation.") + key), std::string::npos)
            << e.what();
      }
    }
}

}  // namespace
}  // namespace dalnas
