#include "base/check.h"

#include "gtest/gtest.h"

namespace gcheap::internal {
namespace {

TEST(CheckDeathTest, FailingCheckNamesConditionAndMessage) {
  int n = 3;
  EXPECT_DEATH(GCHEAP_CHECK(n == 4, "n is %d", n),
               "gcheap: fatal error: .*check_test.cc:[0-9]+: check failed: "
               "n == 4: n is 3");
}

TEST(CheckDeathTest, ConditionMayContainPercent) {
  int n = 7;
  EXPECT_DEATH(GCHEAP_CHECK(n % 2 == 0), "check failed: n % 2 == 0: ");
}

TEST(CheckTest, PassingCheckDoesNothing) {
  int evaluated = 0;
  GCHEAP_CHECK(++evaluated == 1);
  EXPECT_EQ(evaluated, 1);
}

TEST(CheckDeathTest, FatalAborts) {
  EXPECT_DEATH(GCHEAP_FATAL("bad thing %s", "here"), "bad thing here");
}

void ReportToStderr(const char* message, void* arg) {
  RawLog("hook(%s): [%s]", static_cast<const char*>(arg), message);
  GCHEAP_FATAL("a failure inside the hook");  // aborts at once
}

TEST(CheckDeathTest, HookSeesTheMessageThenTheProcessAborts) {
  static char kArg[] = "arg";
  int two = 2;
  EXPECT_DEATH(
      {
        SetFatalErrorHook(&ReportToStderr, kArg);
        GCHEAP_CHECK(two == 3, "arithmetic");
      },
      "hook\\(arg\\): \\[gcheap: fatal error: .*check_test.cc:[0-9]+: check "
      "failed: two == 3: arithmetic\\]\n.*a failure inside the hook");
}

}  // namespace
}  // namespace gcheap::internal
