// Heap profiling: a program allocates from two functions, one keeping what
// it makes and one dropping it, and writes a pprof heap profile that
// `go tool pprof` reads (docs/debugging.md, "What allocates the memory").
//
//   bazel build //examples:heap_profile
//   bazel-bin/examples/heap_profile /tmp/heap.pb.gz
//   go tool pprof -top -sample_index=alloc_space
//       bazel-bin/examples/heap_profile /tmp/heap.pb.gz    (one line)
//   go tool pprof -top bazel-bin/examples/heap_profile /tmp/heap.pb.gz
//
// MakeTable allocates three times the bytes MakeScratch does (24 MB of
// 48-byte nodes against 8 MB of 512-byte buffers, in four rounds each);
// the table stays reachable and the scratch buffers are garbage, so after
// a collection inuse_space shows the table alone.
#include <cstdio>
#include <cstdlib>

#include "gcheap/gcheap.h"

namespace {

struct Node {
  gcheap::Ref<Node> next;
  long key[5];
};
constexpr gcheap::Type kNodeType = GCHEAP_TYPE(Node, next);

constexpr long kTableBytes = 24L << 20;
constexpr long kScratchBytes = 8L << 20;
constexpr int kRounds = 4;

// Keeps every node: a list from head.
__attribute__((noinline)) void MakeTable(gcheap::Mutator& m,
                                         gcheap::Persistent<Node>& head,
                                         long bytes) {
  for (long i = 0; i < bytes / long{sizeof(Node)}; i++) {
    Node* n = m.New<Node>(kNodeType);
    n->key[0] = i;
    n->next = head.Get();
    head.Set(n);
  }
}

// Drops every buffer.
__attribute__((noinline)) long MakeScratch(gcheap::Mutator& m, long bytes) {
  long sum = 0;
  for (long i = 0; i < bytes / 512; i++) {
    auto* b = static_cast<unsigned char*>(m.AllocateNoscan(512));
    b[i % 512] = static_cast<unsigned char>(i);
    sum += b[i % 512];
  }
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : "heap.pb.gz";
  gcheap::Options o;
  o.mem_profile_rate = 16 * 1024;  // Go's default is 512 KiB
  gcheap::Heap heap(o);
  gcheap::Mutator& m = heap.AttachCurrentThread();
  long sum = 0;
  {
    gcheap::Persistent<Node> table(heap, nullptr);
    for (int round = 0; round < kRounds; round++) {
      sum += MakeScratch(m, kScratchBytes / kRounds);
      MakeTable(m, table, kTableBytes / kRounds);
    }
    heap.Collect();  // the profile's in-use figures: what is live now
    const bool ok = heap.WriteHeapProfile(path);
    const gcheap::MemStats s = heap.ReadMemStats();
    std::printf("wrote %s: HeapAlloc=%llu MB (checksum %ld)\n", path,
                static_cast<unsigned long long>(s.heap_alloc >> 20), sum);
    if (!ok) return 1;
  }
  heap.DetachCurrentThread();
  return 0;
}
