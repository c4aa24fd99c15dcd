#include "base/cpus.h"

#include <sched.h>

#include <algorithm>
#include <thread>

namespace gcheap::internal {

int NumCpus() {
  cpu_set_t set;
  int n = sched_getaffinity(0, sizeof(set), &set) == 0
              ? CPU_COUNT(&set)
              : static_cast<int>(std::thread::hardware_concurrency());
  return std::max(n, 1);
}

}  // namespace gcheap::internal
