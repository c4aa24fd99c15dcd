// Finding a leak in a VM-shaped program (docs/debugging.md, "Why is it
// alive"). A toy interpreter runs requests; each builds a call frame with a
// 4 KB scratch buffer and should drop both when it returns. A call-site
// cache meant to remember the last frame keeps every frame instead, so the
// heap grows by a frame and its buffer per request.
//
//   bazel build //examples:leak_hunt
//   bazel-bin/examples/leak_hunt /tmp/leak.dump
//   python3 tools/heap_dominators.py /tmp/leak.dump
//
// The program prints why an old buffer is still alive (the retention
// path), and writes a heap dump; tools/heap_dominators.py shows what
// retains the most bytes.
#include <cstdio>
#include <cstring>

#include "gcheap/gcheap.h"

namespace {

using gcheap::Ref;

struct Frame {
  Ref<Frame> caller;
  Ref<unsigned char> scratch;  // a 4 KB pointer-free buffer
  long pc;
};
constexpr gcheap::Type kFrameType = GCHEAP_TYPE(Frame, caller, scratch);

// Element type of pointer arrays.
constexpr gcheap::Type kSlotType = gcheap::Type::Of<void*>("Slot").Pointers(0);

struct CallSiteCache {
  Ref<Frame*> history;  // an array of frames: the bug, it only grows
  long count;
  long capacity;
};
constexpr gcheap::Type kCacheType = GCHEAP_TYPE(CallSiteCache, history);

struct Globals {
  Ref<char*> names;  // an array of small strings
  long count;
};
constexpr gcheap::Type kGlobalsType = GCHEAP_TYPE(Globals, names);

struct Interp {
  Ref<Globals> globals;
  Ref<CallSiteCache> cache;
  Ref<Frame> top;  // the running frame, if any
};
constexpr gcheap::Type kInterpType = GCHEAP_TYPE(Interp, globals, cache, top);

void Remember(gcheap::Mutator& m, CallSiteCache* c, Frame* f) {
  Frame** h = c->history.Get();
  if (c->count == c->capacity) {  // grow: copy into an array twice as big
    const long cap = c->capacity == 0 ? 8 : 2 * c->capacity;
    auto** bigger = static_cast<Frame**>(m.AllocateArray(kSlotType, cap));
    gcheap::CopyPointers(reinterpret_cast<void**>(bigger),
                         reinterpret_cast<void* const*>(h), c->count);
    c->history = bigger;
    c->capacity = cap;
    h = bigger;
  }
  gcheap::WriteBarrier(reinterpret_cast<void**>(&h[c->count++]), f);
}

long RunRequest(gcheap::Mutator& m, Interp* vm, long n) {
  Frame* f = m.New<Frame>(kFrameType);
  f->caller = vm->top.Get();
  auto* scratch = static_cast<unsigned char*>(m.AllocateNoscan(4096));
  std::memset(scratch, static_cast<int>(n), 4096);
  f->scratch = scratch;
  f->pc = n;
  vm->top = f;
  Remember(m, vm->cache.Get(), f);  // meant to keep the last frame only
  long sum = 0;
  for (int i = 0; i < 4096; i += 512) sum += scratch[i];
  vm->top = f->caller.Get();  // return: the frame should now be garbage
  return sum;
}

// The program's main loop: 500 requests. Returns the first request's
// scratch buffer (which should be garbage by now).
__attribute__((noinline)) const void* Serve(gcheap::Mutator& m, Interp* vm,
                                            long* sum) {
  const void* first_scratch = nullptr;
  for (long n = 0; n < 500; n++) {
    *sum += RunRequest(m, vm, n);
    if (n == 0)
      first_scratch = vm->top.Get() == nullptr
                          ? vm->cache->history.Get()[0]->scratch.Get()
                          : nullptr;
  }
  return first_scratch;
}

}  // namespace

int main(int argc, char** argv) {
  const char* dump = argc > 1 ? argv[1] : "leak.dump";
  gcheap::Options o;
  o.record_types = true;  // name every object in the path and the dump
  gcheap::Heap heap(o);
  gcheap::Mutator& m = heap.AttachCurrentThread();
  gcheap::Persistent<Interp> vm(heap, m.New<Interp>(kInterpType));
  vm->globals = m.New<Globals>(kGlobalsType);
  vm->globals->names = static_cast<char**>(m.AllocateArray(kSlotType, 64));
  for (int i = 0; i < 64; i++) {
    auto* name = static_cast<char*>(m.AllocateNoscan(16));
    std::snprintf(name, 16, "global%u", static_cast<unsigned>(i) % 100u);
    gcheap::WriteBarrier(reinterpret_cast<void**>(&vm->globals->names.Get()[i]),
                         name);
  }
  vm->cache = m.New<CallSiteCache>(kCacheType);

  long sum = 0;
  const void* first_scratch = Serve(m, vm.Get(), &sum);
  heap.Collect();
  const gcheap::MemStats s = heap.ReadMemStats();
  std::printf(
      "500 requests done (checksum %ld); HeapAlloc=%llu KB after a "
      "collection\n",
      sum, static_cast<unsigned long long>(s.heap_alloc >> 10));
  std::printf("%s", heap.FindRetentionPath(first_scratch).ToString().c_str());
  const bool ok = heap.WriteHeapDump(dump);
  if (ok) std::printf("heap dump written to %s\n", dump);
  heap.DetachCurrentThread();
  return ok ? 0 : 1;
}
