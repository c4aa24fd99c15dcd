// Replays every input of the seed corpus (tests/fuzz/corpus) through the
// heap fuzzing harness, so inputs that once found bugs stay fixed.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/fuzz/heap_fuzz_lib.h"

namespace gcheap::fuzz {
namespace {

std::filesystem::path TestDir(const char* dir) {
  const char* srcdir = getenv("TEST_SRCDIR");
  const char* workspace = getenv("TEST_WORKSPACE");
  if (srcdir != nullptr && workspace != nullptr) {
    return std::filesystem::path(srcdir) / workspace / "tests/fuzz" / dir;
  }
  return std::filesystem::path("tests/fuzz") / dir;
}

std::vector<std::filesystem::path> Inputs(const char* dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(TestDir(dir))) {
    if (e.is_regular_file() && e.path().extension() != ".md") {
      files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<uint8_t> Read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

TEST(HeapFuzzReplayTest, EveryCorpusInputPasses) {
  std::vector<std::filesystem::path> files = Inputs("corpus");
  ASSERT_FALSE(files.empty()) << "no corpus in " << TestDir("corpus");
  for (const auto& path : files) {
    SCOPED_TRACE(path.filename().string());
    std::vector<uint8_t> data = Read(path);
    EXPECT_EQ(RunHeapFuzzInput(data.data(), data.size()), 0);
  }
}

// Inputs that reproduce open heap bugs (known_bugs/README.md); each traps
// until its bug is fixed. Run with --gtest_also_run_disabled_tests.
TEST(HeapFuzzReplayTest, DISABLED_KnownBugs) {
  for (const auto& path : Inputs("known_bugs")) {
    SCOPED_TRACE(path.filename().string());
    std::vector<uint8_t> data = Read(path);
    EXPECT_EQ(RunHeapFuzzInputWithOptions(data.data(), data.size(),
                                          /*odd_pointers_in_persistents=*/true),
              0);
  }
}

}  // namespace
}  // namespace gcheap::fuzz
