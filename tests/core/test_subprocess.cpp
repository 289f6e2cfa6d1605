// run_command: exit codes, output capture (both streams, large outputs, the cap), the
// timeout killing the whole process group, the working folder; expand_placeholders: quoting
// that survives the shell, literal braces, unknown keys.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/subprocess.h"
#include "temp_dir.h"

namespace dalnas {
namespace {

namespace fs = std::filesystem;

using test_util::TempDir;

// Alive and not a zombie (an orphan is reaped by whatever adopts it, maybe later).
bool running(pid_t pid) {
  for (int i = 0; i < 20; ++i) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!std::getline(stat, text)) return false;
    const size_t paren = text.rfind(')');
    if (paren == std::string::npos || paren + 2 >= text.size()) return false;
    if (text[paren + 2] == 'Z' || text[paren + 2] == 'X') return false;
    ::usleep(20000);
  }
  return true;
}

TEST(Subprocess, ExitCodes) {
  EXPECT_EQ(run_command("true", 5).exit_code, 0);
  EXPECT_EQ(run_command("false", 5).exit_code, 1);
  const ProcessResult r = run_command("exit 42", 5);
  EXPECT_EQ(r.exit_code, 42);
  EXPECT_FALSE(r.timed_out);
  EXPECT_GE(r.seconds, 0.0);
  EXPECT_LT(r.seconds, 5.0);
  // Killed by a signal: 128 + signal, like the shell reports it.
  EXPECT_EQ(run_command("kill -9 $$", 5).exit_code, 128 + SIGKILL);
  // A command that does not exist is a failing command (127), not an exception.
  EXPECT_EQ(run_command("/nonexistent/tool --flag", 5).exit_code, 127);
}

TEST(Subprocess, CapturesStdoutAndStderrInOrder) {
  const ProcessResult r = run_command("echo one; echo two 1>&2; printf three", 5);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output, "one\ntwo\nthree");
  // stdin is empty, not the test's terminal.
  EXPECT_EQ(run_command("cat", 5).output, "");
}

TEST(Subprocess, LargeOutputIsCompleteBelowTheCapAndCappedAbove) {
  // 1 MB of 'a' then a marker: far beyond a pipe buffer, so reading must keep up.
  ProcessResult r = run_command("head -c 1000000 /dev/zero | tr '\\0' a; echo END", 10);
  EXPECT_EQ(r.exit_code, 0);
  ASSERT_EQ(r.output.size(), 1000004u);
  EXPECT_EQ(r.output.substr(0, 3), "aaa");
  EXPECT_EQ(r.output.substr(r.output.size() - 4), "END\n");
  // 10 MB: the first 2 MiB and the last 2 MiB kept (the end, where tools print summaries).
  r = run_command("echo START; head -c 10000000 /dev/zero | tr '\\0' b; echo END", 20);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_LT(r.output.size(), size_t(5) << 20);
  EXPECT_GT(r.output.size(), size_t(4) << 20);
  EXPECT_EQ(r.output.substr(0, 6), "START\n");
  EXPECT_EQ(r.output.substr(r.output.size() - 4), "END\n");
  EXPECT_NE(r.output.find("bytes left out"), std::string::npos);
}

TEST(Subprocess, TimeoutKillsTheWholeGroupPromptly) {
  TempDir d("subprocess");
  const std::string pidfile = (d.path / "pid").string();
  // The shell starts a background sleep (same process group) and waits for it.
  const ProcessResult r =
      run_command("sleep 30 & echo $! > '" + pidfile + "'; echo started; wait", 0.3);
  EXPECT_TRUE(r.timed_out);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_GE(r.seconds, 0.3);
  EXPECT_LT(r.seconds, 1.0);  // well under a second past the timeout
  EXPECT_EQ(r.output, "started\n");
  // The grandchild is gone too (no stray sleep 30 left behind).
  std::ifstream in(pidfile);
  pid_t child = 0;
  ASSERT_TRUE(in >> child);
  EXPECT_FALSE(running(child)) << "sleep " << child << " survived the timeout";
}

TEST(Subprocess, TimeoutEscalatesToSigkill) {
  // The shell ignores SIGTERM: SIGKILL follows after the grace period.
  const ProcessResult r = run_command("trap '' TERM; while :; do sleep 0.05; done", 0.2);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, 128 + SIGKILL);
  EXPECT_LT(r.seconds, 1.5);
}

TEST(Subprocess, NoTimeoutWhenNotPositive) {
  const ProcessResult r = run_command("sleep 0.1; echo done", 0);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.output, "done\n");
}

TEST(Subprocess, ReturnsWhenTheShellExitsEvenIfABackgroundJobHoldsThePipe) {
  TempDir d("subprocess");
  const std::string pidfile = (d.path / "pid").string();
  const ProcessResult r = run_command("sleep 5 & echo $! > '" + pidfile + "'; echo bye", 10);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_LT(r.seconds, 2.0);
  EXPECT_EQ(r.output, "bye\n");
  std::ifstream in(pidfile);
  pid_t child = 0;
  if (in >> child) ::kill(child, SIGKILL);
}

TEST(Subprocess, WorkingFolder) {
  TempDir d("subprocess");
  const ProcessResult r = run_command("pwd; echo hi > f.txt", 5, d.path.string());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(fs::canonical(r.output.substr(0, r.output.size() - 1)), fs::canonical(d.path));
  EXPECT_TRUE(fs::exists(d.path / "f.txt"));
  try {
    run_command("true", 5, (d.path / "missing").string());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
  }
}

TEST(Subprocess, PlaceholdersAreQuotedAndSurviveTheShell) {
  const std::map<std::string, std::string> v = {
      {"onnx", "/tmp/my model's dir/a b.onnx"}, {"n", "3"}, {"evil", "$(echo pwned); `x` \\"}};
  EXPECT_EQ(expand_placeholders("run -m {onnx} -n {n}", v),
            "run -m '/tmp/my model'\\''s dir/a b.onnx' -n '3'");
  // Through the shell, each value arrives as exactly one argument, unexpanded.
  const std::string cmd = expand_placeholders("printf '[%s]' {onnx} {evil} {n}", v);
  EXPECT_EQ(run_command(cmd, 5).output, "[/tmp/my model's dir/a b.onnx][$(echo pwned); `x` \\][3]");
}

TEST(Subprocess, LiteralBracesAndUnknownPlaceholders) {
  const std::map<std::string, std::string> v = {{"onnx", "m.onnx"}};
  // Not placeholders: awk programs, ${VAR}, braces around non-identifiers, JSON; "{{" is a
  // literal brace.
  EXPECT_EQ(expand_placeholders("awk '{print $1}' ${HOME} {1} {{onnx}", v),
            "awk '{print $1}' ${HOME} {1} {onnx}");
  EXPECT_EQ(expand_placeholders("echo '{\"a\": {\"b\": 1}}' {onnx}", v),
            "echo '{\"a\": {\"b\": 1}}' 'm.onnx'");
  EXPECT_EQ(expand_placeholders("{onnx}{onnx}", v), "'m.onnx''m.onnx'");
  EXPECT_EQ(expand_placeholders("", v), "");
  EXPECT_EQ(expand_placeholders("trailing {", v), "trailing {");
  try {
    expand_placeholders("bench -m {model} -d {onnx}", v);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("{model}"), std::string::npos) << m;
    EXPECT_NE(m.find("{onnx}"), std::string::npos) << m;  // the known keys are listed
  }
}

}  // namespace
}  // namespace dalnas
