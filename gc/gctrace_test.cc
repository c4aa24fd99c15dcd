#include "gc/gctrace.h"

#include <string>

#include "gtest/gtest.h"

namespace gcheap::internal {
namespace {

std::string Ms(uint64_t ns) {
  char buf[24];
  FormatNsAsMs(ns, buf);
  return buf;
}

TEST(GcTraceTest, TimesUseGoFormatting) {
  EXPECT_EQ(Ms(0), "0");
  EXPECT_EQ(Ms(999), "0");         // under a microsecond
  EXPECT_EQ(Ms(18'000), "0.018");  // two significant digits
  EXPECT_EQ(Ms(3'000), "0.003");
  EXPECT_EQ(Ms(140'000), "0.14");
  EXPECT_EQ(Ms(1'200'000), "1.2");
  EXPECT_EQ(Ms(1'234'567), "1.2");
  EXPECT_EQ(Ms(9'999'999), "9.9");
  EXPECT_EQ(Ms(10'000'000), "10");  // whole ms from 10 ms
  EXPECT_EQ(Ms(25'700'000), "25");
}

TEST(GcTraceTest, LineMatchesGoFormat) {
  GcTraceLine l;
  l.num_gc = 7;
  l.since_start_ns = 1'234'000'000;
  l.cpu_percent = 3;
  l.sweep_term_ns = 18'000;
  l.mark_ns = 1'200'000;
  l.mark_term_ns = 3'000;
  l.sweep_term_cpu_ns = 144'000;
  l.assist_cpu_ns = 0;
  l.background_cpu_ns = 2'300'000;
  l.idle_cpu_ns = 0;
  l.mark_term_cpu_ns = 24'000;
  l.heap0 = 4 << 20;
  l.heap1 = 5 << 20;
  l.heap2 = 1 << 20;
  l.goal = 8 << 20;
  l.stacks = 0;
  l.globals = 0;
  l.procs = 8;
  char buf[512];
  FormatGcTrace(l, buf, sizeof(buf));
  EXPECT_STREQ(buf,
               "gc 7 @1.234s 3%: 0.018+1.2+0.003 ms clock, "
               "0.14+0/2.3/0+0.024 ms cpu, 4->5->1 MB, 8 MB goal, 0 MB "
               "stacks, 0 MB globals, 8 P\n");
  l.forced = true;
  FormatGcTrace(l, buf, sizeof(buf));
  EXPECT_NE(std::string(buf).find("8 P (forced)\n"), std::string::npos);
  // The pacer's own suffixes: the limiter on, and an overshoot left out of
  // the next goal (under 1 MB: not printed).
  l.forced = false;
  l.limited = true;
  l.overshoot = 3 << 20;
  FormatGcTrace(l, buf, sizeof(buf));
  EXPECT_NE(std::string(buf).find("8 P (limited) (over goal 3 MB)\n"),
            std::string::npos)
      << buf;
  l.limited = false;
  l.overshoot = 512 << 10;
  FormatGcTrace(l, buf, sizeof(buf));
  EXPECT_NE(std::string(buf).find("globals, 8 P\n"), std::string::npos) << buf;
}

TEST(PacerTraceTest, LineHasEveryField) {
  PacerTraceLine l;
  l.num_gc = 7;
  l.gc_percent = 100;
  l.soft_limit = 0;
  l.marked = 30 << 20;
  l.black = 6 << 20;
  l.over_goal = 1 << 20;
  l.roots = 1 << 19;
  l.heap0 = 40 << 20;
  l.heap1 = 46 << 20;
  l.goal = 44 << 20;
  l.cons_mark = 0.25;
  l.assist_cpu_ns = 30;
  l.background_cpu_ns = 60;
  l.idle_cpu_ns = 10;
  l.next_marked = 29 << 20;
  l.next_goal = 58 << 20;
  l.next_trigger = 51 << 20;
  l.runway = 7 << 20;
  char buf[640];
  size_t n = FormatPacerTrace(l, buf, sizeof buf);
  EXPECT_EQ(std::string(buf, n),
            "pacer: gc 7: GOGC=100 limit=off: marked 30.0 MB (scanned 24.0, "
            "black 6.0, over goal 1.0) + roots 0.5 MB; heap 40.0->46.0 MB, "
            "goal 44.0 MB (H1/G 1.05); cons/mark 0.25; mark CPU: assists 30%, "
            "background 60%, idle 10%; next: goal 58.0 MB, trigger 51.0 MB "
            "(75% of the way from 29.0), runway 7.0 MB\n");
  l.gc_percent = -1;
  l.soft_limit = 64 << 20;
  l.goal = 0;
  l.next_goal = 0;
  n = FormatPacerTrace(l, buf, sizeof buf);
  const std::string off(buf, n);
  EXPECT_NE(off.find("GOGC=off limit=64.0 MB:"), std::string::npos) << off;
  EXPECT_NE(off.find("goal none (H1/G -)"), std::string::npos) << off;
  EXPECT_NE(off.find("next: goal none\n"), std::string::npos) << off;
}

}  // namespace
}  // namespace gcheap::internal
