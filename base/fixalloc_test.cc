#include "base/fixalloc.h"

#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace gcheap::internal {
namespace {

TEST(FixAllocTest, HandsOutDistinctZeroedObjectsAndReusesFreed) {
  FixAlloc fa(40);
  EXPECT_EQ(fa.size(), 48u);
  std::vector<char*> ps;
  std::set<char*> seen;
  for (int i = 0; i < 5000; i++) {  // spans several chunks
    char* p = static_cast<char*>(fa.Alloc());
    ASSERT_NE(p, nullptr);
    for (size_t j = 0; j < fa.size(); j++) ASSERT_EQ(p[j], 0);
    memset(p, 0x5A, fa.size());
    EXPECT_TRUE(seen.insert(p).second);
    ps.push_back(p);
  }
  EXPECT_EQ(fa.inuse(), 5000 * fa.size());
  EXPECT_GE(fa.sys(), fa.inuse());
  char* freed = ps.back();
  fa.Free(freed);
  EXPECT_EQ(fa.inuse(), 4999 * fa.size());
  char* again = static_cast<char*>(fa.Alloc());
  EXPECT_EQ(again, freed);
  for (size_t j = 0; j < fa.size(); j++) ASSERT_EQ(again[j], 0);
}

}  // namespace
}  // namespace gcheap::internal
