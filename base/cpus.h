// The number of CPUs this process may run on.
#ifndef GCHEAP_BASE_CPUS_H_
#define GCHEAP_BASE_CPUS_H_

namespace gcheap::internal {

// CPUs in the process's affinity mask (taskset, cgroup cpusets), or the
// machine's count if that cannot be read; at least 1.
int NumCpus();

}  // namespace gcheap::internal

#endif  // GCHEAP_BASE_CPUS_H_
