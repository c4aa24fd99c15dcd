// A C++ program outside gcheap's tree: built against an installed gcheap
// (find_package or pkg-config) by tests/consumer_test.sh.
#include <gcheap/gcheap.h>

#include <cstdio>

namespace {

struct Node {
  gcheap::Ref<Node> next;
  long value;
};
constexpr gcheap::Type kNodeType = GCHEAP_TYPE(Node, next);

}  // namespace

int main() {
  gcheap::Heap heap;
  gcheap::Mutator& m = heap.AttachCurrentThread();
  long sum = 0;
  {
    gcheap::Persistent<Node> list(heap, nullptr);
    for (long i = 1; i <= 100500; i++) {
      Node* n = m.New<Node>(kNodeType);
      n->value = i;
      n->next = list.Get();
      list.Set(n);
      if (i % 1000 == 0) list.Set(nullptr);  // drop the chain: garbage
    }
    heap.Collect();
    for (Node* n = list.Get(); n != nullptr; n = n->next.Get()) sum += n->value;
  }
  heap.Collect();
  const gcheap::MemStats s = heap.ReadMemStats();
  heap.DetachCurrentThread();
  std::printf("c++ consumer: sum=%ld mallocs=%llu frees=%llu numgc=%u\n", sum,
              static_cast<unsigned long long>(s.mallocs),
              static_cast<unsigned long long>(s.frees), s.num_gc);
  // The last 500 nodes stay: 100001 + ... + 100500. The stack is scanned
  // conservatively, so a stale word left in a register or a dead stack slot
  // may keep one dropped chain (at most 1000 nodes) alive: allow for two.
  const long want = 500 * (100001 + 100500) / 2;
  return sum == want && s.mallocs >= 100500 && s.frees >= 100500 - 2000 &&
                 s.num_gc >= 2
             ? 0
             : 1;
}
