// Atomic, durable file writes and the removal of their stale temporary files.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "temp_dir.h"

namespace dalnas {
namespace {

namespace fs = std::filesystem;
using test_util::TempDir;

// A pid that is certainly not running: a child that has exited and been reaped.
pid_t dead_pid() {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  int status = 0;
  waitpid(pid, &status, 0);
  return pid;
}

TEST(AtomicFile, WritesReplacesAndLeavesNoTemporaryFile) {
  TempDir d("atomic");
  const std::string path = (d.path / "sub" / "a.txt").string();
  write_file_atomic(path, "first");
  write_file_atomic(path, std::string("second\0with nul", 15));
  EXPECT_EQ(read_file(path), std::string("second\0with nul", 15));
  int files = 0;
  for (const auto& e : fs::directory_iterator(d.path / "sub")) {
    ++files;
    EXPECT_FALSE(is_atomic_temp_name(e.path().filename().string())) << e.path();
  }
  EXPECT_EQ(files, 1);
}

TEST(AtomicFile, AFailedWriteKeepsThePreviousFileAndNamesThePath) {
  TempDir d("atomic");
  const std::string path = (d.path / "a.txt").string();
  write_file_atomic(path, "kept");
  // A folder where the temporary file would go makes the write fail.
  fs::create_directories(path + ".tmp-" + std::to_string(::getpid()));
  try {
    write_file_atomic(path, "lost");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": cannot write", 0), 0u) << e.what();
  }
  EXPECT_EQ(read_file(path), "kept");
}

TEST(AtomicFile, FsyncFolderNamesAMissingFolder) {
  TempDir d("atomic");
  EXPECT_NO_THROW(fsync_folder(d.path.string()));
  try {
    fsync_folder((d.path / "missing").string());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
  }
}

TEST(AtomicFile, TemporaryNamesAreRecognised) {
  EXPECT_TRUE(is_atomic_temp_name("summary.json.tmp-1234"));
  EXPECT_TRUE(is_atomic_temp_name("0123456789abcdef.ck.tmp-7"));
  EXPECT_FALSE(is_atomic_temp_name("summary.json"));
  EXPECT_FALSE(is_atomic_temp_name("notes.tmp-draft"));
  EXPECT_FALSE(is_atomic_temp_name("a.tmp-"));
  EXPECT_FALSE(is_atomic_temp_name(".tmp-12"));
  EXPECT_FALSE(is_atomic_temp_name("a.tmp-0"));
}

TEST(AtomicFile, StaleTemporaryFilesOfDeadWritersAreRemovedOthersKept) {
  TempDir d("atomic");
  const std::string dead = std::to_string(dead_pid());
  const std::string live = std::to_string(::getppid());  // running, not us
  const std::string stale1 = d.write("summary.json.tmp-" + dead, "half");
  fs::create_directories(d.path / "checkpoints");
  const std::string stale2 = d.write("checkpoints/00ff.ck.tmp-" + dead, "half");
  const std::string mine = d.write("config.toml.tmp-" + std::to_string(::getpid()), "old");
  const std::string busy = d.write("cache.json.tmp-" + live, "being written");
  const std::string user = d.write("notes.tmp-draft", "a user's file");
  const std::string real = d.write("summary.json", "{}");

  EXPECT_EQ(remove_stale_temp_files(d.path.string(), /*recursive=*/false), 2);
  EXPECT_FALSE(fs::exists(stale1));
  EXPECT_FALSE(fs::exists(mine));
  EXPECT_TRUE(fs::exists(stale2)) << "not recursive";
  EXPECT_EQ(remove_stale_temp_files(d.path.string()), 1);
  EXPECT_FALSE(fs::exists(stale2));
  for (const auto& kept : {busy, user, real}) EXPECT_TRUE(fs::exists(kept)) << kept;
  EXPECT_EQ(remove_stale_temp_files((d.path / "missing").string()), 0);
}

}  // namespace
}  // namespace dalnas
