#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "search/fitness.h"

namespace dalnas {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

EvalMetrics metrics(double miou, double latency_ms, double params = 50000) {
  EvalMetrics m;
  m.miou = miou;
  m.latency_ms = latency_ms;
  m.params = params;
  return m;
}

// Expected values computed independently (Python's math module).
TEST(Fitness, PynasWeightedSumExponential) {
  const FitnessConfig c;  // defaults: alpha = beta = gamma = 1, fps_target = 120
  // FPS 60, mIoU 0.8 -> 0.5 + 0.8 e^0.8
  EXPECT_NEAR(compute_fitness(c, metrics(0.8, 1000.0 / 60)).value, 2.280432742793974, 1e-12);
  // FPS above the target is capped at 1: FPS 240, mIoU 0.9 -> 1 + 0.9 e^0.9
  EXPECT_NEAR(compute_fitness(c, metrics(0.9, 1000.0 / 240)).value, 3.213642800041255, 1e-12);
  // Other weights: alpha 2, beta 0.5, gamma 2, target 30, FPS 15, mIoU 0.5 -> 1 + 0.25 e
  EXPECT_NEAR(pynas_fitness(15, 0.5, 2, 0.5, 2, 30), 1.6795704571147612, 1e-12);
  FitnessConfig c2 = FitnessConfig::from_json(nlohmann::json::parse(
      R"({"pynas": {"alpha": 2, "beta": 0.5, "gamma": 2, "fps_target": 30}})"));
  EXPECT_NEAR(compute_fitness(c2, metrics(0.5, 1000.0 / 15)).value, 1.6795704571147612, 1e-12);
  // Zero latency is infinitely fast: the FPS term is capped.
  EXPECT_NEAR(compute_fitness(c, metrics(0.0, 0.0)).value, 1.0, 1e-15);
}

TEST(Fitness, MnasNetSoftConstraint) {
  const FitnessConfig c = FitnessConfig::from_json(
      nlohmann::json::parse(R"({"form": "mnasnet", "mnasnet": {"target_latency_ms": 100}})"));
  // Below target: w = alpha = -0.07: 0.7 * 0.8^-0.07
  EXPECT_NEAR(compute_fitness(c, metrics(0.7, 80)).value, 0.7110198754524608, 1e-12);
  // Above target: w = beta = -0.07: 0.7 * 1.2^-0.07
  EXPECT_NEAR(compute_fitness(c, metrics(0.7, 120)).value, 0.6911230105371636, 1e-12);
  // At the target the reward is the accuracy.
  EXPECT_DOUBLE_EQ(compute_fitness(c, metrics(0.7, 100)).value, 0.7);
  // Hard-ish form: alpha 0, beta -0.5.
  EXPECT_NEAR(mnasnet_reward(0.7, 120, 100, 0.0, -0.5), 0.6390096504226938, 1e-12);
  EXPECT_DOUBLE_EQ(mnasnet_reward(0.7, 50, 100, 0.0, -0.5), 0.7);
}

TEST(Fitness, MnasNetThreeObjectiveFormWeighsEnergy) {
  const FitnessConfig c = FitnessConfig::from_json(nlohmann::json::parse(
      R"({"form": "mnasnet", "mnasnet": {"target_latency_ms": 100, "target_energy_mj": 10,
          "alpha": -0.07, "beta": -0.5}})"));
  EvalMetrics m = metrics(0.7, 80);
  m.energy_mj = 20;  // over the energy target: v = beta = -0.5
  // 0.7 * 0.8^-0.07 * 2^-0.5
  EXPECT_NEAR(compute_fitness(c, m).value, 0.7110198754524608 / std::sqrt(2.0), 1e-12);
  m.energy_mj = 5;  // under: v = alpha = -0.07
  EXPECT_NEAR(compute_fitness(c, m).value, 0.7110198754524608 * std::pow(0.5, -0.07), 1e-12);
  // Energy is required by this form, named when missing; the setting round-trips.
  m.energy_mj = std::numeric_limits<double>::quiet_NaN();
  try {
    compute_fitness(c, m);
    FAIL() << "no error for a missing energy";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("energy_mj"), std::string::npos) << e.what();
  }
  EXPECT_DOUBLE_EQ(FitnessConfig::from_json(c.to_json()).target_energy_mj, 10.0);
  // Without the target the form and its recorded settings are as before.
  const FitnessConfig two = FitnessConfig::from_json(
      nlohmann::json::parse(R"({"form": "mnasnet", "mnasnet": {"target_latency_ms": 100}})"));
  EXPECT_FALSE(two.to_json()["mnasnet"].contains("target_energy_mj"));
}

TEST(Fitness, MiouForm) {
  const FitnessConfig c = FitnessConfig::from_json(nlohmann::json::parse(R"({"form": "miou"})"));
  EvalMetrics m;
  m.miou = 0.42;
  m.latency_ms = 3;
  m.params = 1;
  EXPECT_DOUBLE_EQ(compute_fitness(c, m).value, 0.42);
}

TEST(Fitness, HardConstraintsMakeInfeasibleWithViolation) {
  const FitnessConfig c = FitnessConfig::from_json(
      nlohmann::json::parse(R"({"constraints": {"max_params": 400000, "max_latency_ms": 10}})"));
  FitnessResult ok = compute_fitness(c, metrics(0.8, 10, 400000));  // limits are inclusive
  EXPECT_TRUE(ok.feasible);
  EXPECT_EQ(ok.violation, 0);
  EXPECT_EQ(ok.score(), ok.value);
  EXPECT_EQ(ok.reason(), "");

  FitnessResult over = compute_fitness(c, metrics(0.8, 12.5, 500000));
  EXPECT_FALSE(over.feasible);
  EXPECT_NEAR(over.violation, 0.25 + 0.25, 1e-12);
  EXPECT_TRUE(std::isfinite(over.value));
  EXPECT_EQ(over.score(), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(over.reason(),
            "params 500000 > max_params 400000; latency_ms 12.5 > max_latency_ms 10");

  FitnessConfig mem = FitnessConfig::from_json(nlohmann::json::parse(
      R"({"constraints": {"max_peak_memory_bytes": 1000, "max_energy_mj": 2}})"));
  EvalMetrics m = metrics(0.5, 5);
  m.peak_memory_bytes = 1500;
  m.energy_mj = 1;
  FitnessResult r = compute_fitness(mem, m);
  EXPECT_FALSE(r.feasible);
  EXPECT_NEAR(r.violation, 0.5, 1e-12);
  const Observation o = make_observation(7, r);
  EXPECT_EQ(o.id, 7u);
  EXPECT_TRUE(o.ok);
  EXPECT_FALSE(o.feasible);
  EXPECT_NEAR(o.violation, 0.5, 1e-12);
  EXPECT_EQ(o.fitness, r.value);
}

TEST(Fitness, ObjectivesAreMinimised) {
  FitnessConfig c;
  const FitnessResult r = compute_fitness(c, metrics(0.8, 16, 90000));
  ASSERT_EQ(r.objectives.size(), 3u);
  EXPECT_DOUBLE_EQ(r.objectives[0], -0.8);
  EXPECT_DOUBLE_EQ(r.objectives[1], 16);
  EXPECT_DOUBLE_EQ(r.objectives[2], 90000);
  c = FitnessConfig::from_json(
      nlohmann::json::parse(R"({"objectives": ["fitness", "energy_mj"]})"));
  EvalMetrics m = metrics(0.8, 1000.0 / 60);
  m.energy_mj = 3;
  const FitnessResult f = compute_fitness(c, m);
  ASSERT_EQ(f.objectives.size(), 2u);
  EXPECT_NEAR(f.objectives[0], -2.280432742793974, 1e-12);
  EXPECT_DOUBLE_EQ(f.objectives[1], 3);
}

TEST(Fitness, MissingMetricsAreNamed) {
  FitnessConfig c;
  EvalMetrics m;
  m.miou = 0.5;
  EXPECT_EQ(error_of([&] { compute_fitness(c, m); }),
            "fitness: form 'pynas' needs latency_ms, which the evaluation did not report");
  c = FitnessConfig::from_json(nlohmann::json::parse(
      R"({"form": "miou", "objectives": ["miou"], "constraints": {"max_energy_mj": 1}})"));
  EXPECT_EQ(error_of([&] { compute_fitness(c, m); }),
            "fitness: constraint max_energy_mj needs energy_mj, which the evaluation did not "
            "report");
}

TEST(Fitness, ConfigErrorsAndRoundTrip) {
  auto err = [](const char* text) {
    return error_of([&] { FitnessConfig::from_json(nlohmann::json::parse(text)); });
  };
  EXPECT_EQ(err(R"({"form": "mnas"})"),
            "fitness.form: unknown form 'mnas' (allowed: pynas, mnasnet, miou)");
  EXPECT_EQ(err(R"({"form": "mnasnet"})"),
            "fitness.mnasnet.target_latency_ms: required (> 0) for form 'mnasnet'");
  EXPECT_EQ(err(R"({"pynas": {"delta": 1}})"),
            "fitness.pynas.delta: unknown setting (allowed: alpha, beta, gamma, fps_target)");
  EXPECT_EQ(err(R"({"pynas": {"fps_target": 0}})"),
            "fitness.pynas.fps_target: must be greater than 0");
  EXPECT_EQ(err(R"({"constraints": {"max_params": -5}})"),
            "fitness.constraints.max_params: expected a number >= 0, found -5");
  EXPECT_EQ(err(R"({"objectives": ["miou", "accuracy"]})"),
            "fitness.objectives: unknown objective 'accuracy' (allowed: miou, latency_ms, params, "
            "peak_memory_bytes, energy_mj, fitness)");
  EXPECT_EQ(err(R"({"objectives": ["miou", "miou"]})"),
            "fitness.objectives: 'miou' is listed twice");
  EXPECT_EQ(err(R"({"weights": 1})").rfind("fitness.weights: unknown setting", 0), 0u);

  const FitnessConfig c = FitnessConfig::from_json(nlohmann::json::parse(
      R"({"form": "mnasnet", "mnasnet": {"target_latency_ms": 40, "beta": -0.3},
          "constraints": {"max_params": 1000}, "objectives": ["miou", "params"]})"));
  const FitnessConfig back = FitnessConfig::from_json(c.to_json());
  EXPECT_EQ(back.to_json(), c.to_json());
  EXPECT_EQ(back.form, FitnessForm::MnasNet);
  EXPECT_EQ(back.mnas_beta, -0.3);
  EXPECT_EQ(back.max_params, 1000);
}

TEST(Fitness, MetricsJson) {
  const EvalMetrics m = EvalMetrics::from_json(
      nlohmann::json::parse(R"({"miou": 0.5, "latency_ms": 4, "params": 1000, "other": "x"})"));
  EXPECT_EQ(m.miou, 0.5);
  EXPECT_EQ(m.latency_ms, 4);
  EXPECT_EQ(m.params, 1000);
  EXPECT_TRUE(std::isnan(m.energy_mj));
  EXPECT_EQ(m.to_json(),
            nlohmann::json::parse(R"({"miou": 0.5, "latency_ms": 4, "params": 1000})"));
  EXPECT_EQ(error_of([] { EvalMetrics::from_json(nlohmann::json::parse(R"({"miou": "high"})")); }),
            "metrics.miou: expected a number, found \"high\"");
  const Observation f = failed_observation(3);
  EXPECT_FALSE(f.ok);
  EXPECT_FALSE(f.feasible);
}

}  // namespace
}  // namespace dalnas
