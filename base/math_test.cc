// base/math.h against libm.
#include "base/math.h"

#include <cmath>

#include "gtest/gtest.h"

namespace gcheap::internal {
namespace {

TEST(MathTest, LogMatchesLibm) {
  for (double x :
       {1e-300, 4.9e-324, 1e-10, 0.001, 0.3, 0.5, 0.70710678, 0.9999999, 1.0,
        1.0000001, 1.41421357, 2.0, 3.0, 10.0, 12345.678, 1e100, 1.7e308}) {
    EXPECT_NEAR(Log(x), std::log(x), 1e-13 * std::fabs(std::log(x)) + 1e-15)
        << x;
  }
  // (0, 1]: the sampling distances' range, densely.
  for (int i = 1; i <= 100000; i++) {
    const double u = i / 100000.0;
    ASSERT_NEAR(Log(u), std::log(u), 1e-13 * std::fabs(std::log(u)) + 1e-15)
        << u;
  }
  EXPECT_EQ(Log(0), 0);
  EXPECT_EQ(Log(-1), 0);
}

TEST(MathTest, ExpMatchesLibm) {
  for (int i = -70000; i <= 70000; i += 7) {
    const double x = i / 100.0;
    ASSERT_NEAR(Exp(x) / std::exp(x), 1.0, 1e-13) << x;
  }
  for (double x : {0.0, -1e-12, 1e-12, -0.5, 0.5, -1.0, 1.0}) {
    EXPECT_NEAR(Exp(x) / std::exp(x), 1.0, 1e-15) << x;
  }
}

}  // namespace
}  // namespace gcheap::internal
