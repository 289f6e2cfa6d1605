#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "core/atomic_file.h"
#include "core/error.h"
#include "train/train_state.h"

namespace dalnas {
namespace {

std::string temp(const std::string& name) {
  return ::testing::TempDir() + "/" + name;
}

TrainState sample() {
  TrainState s;
  s.epochs_done = 3;
  s.last = {torch::arange(6, torch::kFloat32).reshape({2, 3}), torch::tensor({7}, torch::kInt64)};
  s.best = {torch::full({2, 3}, 0.5f), torch::tensor({2}, torch::kInt64)};
  s.best_loss = 0.125;
  s.best_epoch = 2;
  s.since_best = 1;
  s.stopped = true;
  s.optimizer = std::string("opt\0state", 9);
  s.last_ranges = {{"input", {-1.5f, 2.0f}}, {"enc0.conv", {0.0f, 6.0f}}};
  s.best_ranges = {{"input", {-1.25f, 2.5f}}};
  s.last_steps = {{"enc0.conv.weight", {-6.5f, -7.0f}}, {"head.weight", {-3.0f}}};
  s.best_steps = {{"enc0.conv.weight", {-6.25f, -7.125f}}};
  return s;
}

std::string error_of(const std::string& path) {
  try {
    TrainState::load(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(TrainState, RoundTripKeepsEveryField) {
  const std::string path = temp("round.train");
  const TrainState a = sample();
  a.save(path);
  const TrainState b = TrainState::load(path);
  EXPECT_EQ(b.epochs_done, 3);
  EXPECT_EQ(b.best_loss, 0.125);
  EXPECT_EQ(b.best_epoch, 2);
  EXPECT_EQ(b.since_best, 1);
  EXPECT_TRUE(b.stopped);
  EXPECT_EQ(b.optimizer, a.optimizer);
  EXPECT_EQ(b.last_ranges, a.last_ranges);
  EXPECT_EQ(b.best_ranges, a.best_ranges);
  EXPECT_EQ(b.last_steps, a.last_steps);
  EXPECT_EQ(b.best_steps, a.best_steps);
  ASSERT_EQ(b.last.size(), 2u);
  ASSERT_EQ(b.best.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(torch::equal(b.last[i], a.last[i])) << i;
    EXPECT_TRUE(torch::equal(b.best[i], a.best[i])) << i;
  }
  // An empty state (before any training) too: infinite best loss, no tensors.
  TrainState{}.save(path);
  const TrainState e = TrainState::load(path);
  EXPECT_TRUE(std::isinf(e.best_loss));
  EXPECT_TRUE(e.last.empty() && e.best.empty() && e.optimizer.empty());
  EXPECT_TRUE(e.last_ranges.empty() && e.best_ranges.empty());
  EXPECT_TRUE(e.last_steps.empty() && e.best_steps.empty());
}

TEST(TrainState, DamagedFilesAreErrorsNamingTheFile) {
  const std::string path = temp("damaged.train");
  sample().save(path);
  std::string bytes = read_file(path);

  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x40;
  write_file_atomic(path, flipped);
  EXPECT_NE(error_of(path).find("checksum mismatch"), std::string::npos) << error_of(path);

  write_file_atomic(path, bytes.substr(0, bytes.size() - 20));
  EXPECT_NE(error_of(path).find(path), std::string::npos);

  write_file_atomic(path, "DALNASCK" + bytes.substr(8));
  EXPECT_NE(error_of(path).find("bad magic"), std::string::npos) << error_of(path);

  std::string newer = bytes;
  newer[8] = 9;  // the version
  write_file_atomic(path, newer);
  EXPECT_NE(error_of(path).find("version 9"), std::string::npos) << error_of(path);

  EXPECT_NE(error_of(temp("absent.train")).find("absent.train"), std::string::npos);
}

}  // namespace
}  // namespace dalnas
