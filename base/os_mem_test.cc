#include "base/os_mem.h"

#include <string.h>

#include <cstdint>

#include "gtest/gtest.h"

namespace gcheap::internal {
namespace {

TEST(OsMemTest, ReserveIsAlignedAndCommitReadsZero) {
  OsResult res;
  const size_t kSize = 4 << 20, kAlign = 64 << 20;
  char* p = static_cast<char*>(OsReserve(kSize, kAlign, &res));
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(res.ok);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % kAlign, 0u);
  ASSERT_TRUE(OsCommit(p, kSize).ok);
  for (size_t i = 0; i < kSize; i += 4096) EXPECT_EQ(p[i], 0);
  memset(p, 0xAB, kSize);
  ASSERT_TRUE(OsRelease(p, kSize).ok);
  // Released pages stay mapped and read back as zero.
  for (size_t i = 0; i < kSize; i += 512) ASSERT_EQ(p[i], 0) << i;
  EXPECT_TRUE(OsUnreserve(p, kSize).ok);
}

TEST(OsMemTest, ReservedButUncommittedMemoryFaults) {
  OsResult res;
  char* p = static_cast<char*>(OsReserve(1 << 20, 1 << 20, &res));
  ASSERT_NE(p, nullptr);
  EXPECT_DEATH(p[100] = 1, "");
  OsUnreserve(p, 1 << 20);
}

TEST(OsMemTest, ErrorsAreReportedNotFatal) {
  // An absurd reservation fails with a clear error instead of aborting.
  OsResult res;
  void* p = OsReserve(size_t{1} << 62, 1 << 20, &res);
  EXPECT_EQ(p, nullptr);
  EXPECT_FALSE(res.ok);
  char buf[128];
  EXPECT_STREQ(OsErrorString(res, buf, sizeof(buf)),
               "mmap: Cannot allocate memory");
  // Releasing an unaligned address is reported too.
  OsResult bad = OsRelease(reinterpret_cast<void*>(1), 4096);
  EXPECT_FALSE(bad.ok);
  EXPECT_STREQ(bad.op, "madvise");
}

}  // namespace
}  // namespace gcheap::internal
