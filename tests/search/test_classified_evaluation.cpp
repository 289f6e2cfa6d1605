// search/classified_evaluation: which failures are a candidate's, which are transient, and
// which are programming errors that stop the search.
#include <gtest/gtest.h>

#include <functional>
#include <new>
#include <stdexcept>

#include "core/error.h"
#include "core/transient_error.h"
#include "search/classified_evaluation.h"

namespace dalnas {
namespace {

template <class E>
std::exception_ptr thrown(E e) {
  try {
    throw e;
  } catch (...) {
    return std::current_exception();
  }
}

TEST(ClassifyFailure, TransientErrorsAndOutOfMemoryAreTransientFailures) {
  EvalOutcome o;
  ASSERT_TRUE(classify_failure(thrown(TransientError("device timeout\nsecond line")), o));
  EXPECT_EQ(o.status, EvalStatus::Failed);
  EXPECT_TRUE(o.transient);
  EXPECT_EQ(o.reason, "device timeout");  // the first line only
  EvalOutcome m;
  ASSERT_TRUE(classify_failure(thrown(std::bad_alloc()), m));
  EXPECT_EQ(m.status, EvalStatus::Failed);
  EXPECT_TRUE(m.transient);
  EXPECT_EQ(m.reason, "out of memory (std::bad_alloc)");
}

TEST(ClassifyFailure, AnErrorIsALastingFailureThatKeepsWhatWasMeasured) {
  EvalOutcome o;
  o.metrics = {{"latency_ms", 3.5}};
  o.transient = true;  // left from an earlier attempt: an Error is not transient
  ASSERT_TRUE(classify_failure(thrown(Error("training diverged")), o));
  EXPECT_EQ(o.status, EvalStatus::Failed);
  EXPECT_FALSE(o.transient);
  EXPECT_EQ(o.reason, "training diverged");
  EXPECT_EQ(o.metrics.at("latency_ms"), 3.5);
}

TEST(ClassifyFailure, AnythingElseIsNotClassified) {
  EvalOutcome o;
  EXPECT_FALSE(classify_failure(thrown(std::out_of_range("map::at")), o));
  EXPECT_FALSE(classify_failure(thrown(42), o));
  EXPECT_EQ(o.status, EvalStatus::Ok);  // untouched
  EXPECT_TRUE(o.reason.empty());
}

// An evaluator that throws what it is given, `transient_left` times, then succeeds.
class Throwing : public Evaluator {
 public:
  std::function<void()> raise;
  int transient_left = 0;
  int calls = 0;
  EvalOutcome evaluate(const Candidate&, const std::vector<EvaluationRecord>&) override {
    ++calls;
    if (transient_left > 0) {
      --transient_left;
      throw TransientError("device busy");
    }
    if (raise) raise();
    EvalOutcome o;
    o.metrics = {{"miou", 0.5}};
    return o;
  }
};

TEST(EvaluateClassified, ATransientFailureIsTriedAgainUpToTheRetries) {
  Throwing ev;
  ev.transient_left = 2;
  Candidate c;
  c.id = 4;
  EvalOutcome o = evaluate_classified(ev, c, {}, 2);
  EXPECT_EQ(o.status, EvalStatus::Ok);
  EXPECT_FALSE(o.transient);
  EXPECT_EQ(ev.calls, 3);
  ev.calls = 0;
  ev.transient_left = 5;
  o = evaluate_classified(ev, c, {}, 1);
  EXPECT_EQ(o.status, EvalStatus::Failed);
  EXPECT_TRUE(o.transient);
  EXPECT_EQ(ev.calls, 2);
}

TEST(EvaluateClassified, AProgrammingErrorBecomesAnEvaluationBugNamingTheCandidate) {
  Throwing ev;
  ev.raise = [] { throw std::out_of_range("map::at\nmore"); };
  Candidate c;
  c.id = 9;
  try {
    evaluate_classified(ev, c, {}, 3);
    FAIL() << "expected an EvaluationBug";
  } catch (const EvaluationBug& bug) {
    EXPECT_EQ(bug.candidate_id, 9u);
    EXPECT_STREQ(bug.what(), "std::out_of_range: map::at");
  }
  EXPECT_EQ(ev.calls, 1);  // a bug is not retried
  ev.raise = [] { throw Error("bad genome"); };
  const EvalOutcome o = evaluate_classified(ev, c, {}, 3);
  EXPECT_EQ(o.status, EvalStatus::Failed);
  EXPECT_FALSE(o.transient);
  EXPECT_EQ(ev.calls, 2);  // a lasting failure is not retried either
}

}  // namespace
}  // namespace dalnas
