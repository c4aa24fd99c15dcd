// A tiny Lisp-ish VM on a gcheap heap: tagged values, cons cells traced by
// a callback, interned symbols whose names are pointer-free bytes, and a
// value stack that the collector reads through a root callback. The worked
// example of docs/embedding.md.
//
//   bazel run //examples:tiny_vm
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <vector>

#include "gcheap/gcheap.h"

namespace {

// A value is one word. Low bit 1: a fixnum, the integer is value >> 1.
// Otherwise a pointer whose low three bits are a tag: 000 a cons cell,
// 010 a symbol. The word 0 is nil.
using Value = uintptr_t;
constexpr Value kNil = 0;
constexpr uintptr_t kTagMask = 7;
constexpr uintptr_t kSymbolTag = 2;

struct Cons {
  Value car;
  Value cdr;
};

struct Symbol {
  gcheap::Ref<char> name;  // NUL-terminated, allocated noscan
  uint64_t length;
};

Value Fixnum(int64_t n) { return (static_cast<uintptr_t>(n) << 1) | 1; }
bool IsFixnum(Value v) { return (v & 1) != 0; }
int64_t FixnumValue(Value v) { return static_cast<int64_t>(v) >> 1; }
bool IsCons(Value v) { return v != kNil && (v & kTagMask) == 0; }
bool IsSymbol(Value v) { return (v & kTagMask) == kSymbolTag; }
Cons* AsCons(Value v) { return reinterpret_cast<Cons*>(v); }
Symbol* AsSymbol(Value v) { return reinterpret_cast<Symbol*>(v & ~kTagMask); }

// The heap object a value refers to; null for nil and fixnums (the
// Visitor ignores null).
void* ObjectOf(Value v) {
  if (v == kNil || IsFixnum(v)) return nullptr;
  return reinterpret_cast<void*>(v & ~kTagMask);
}

// Stores into a tagged field go through the raw write barrier.
void SetField(Value* field, Value v) {
  gcheap::WriteBarrier(reinterpret_cast<void**>(field),
                       reinterpret_cast<void*>(v));
}

// Cons cells hold tagged values, so a pointer map cannot describe them: the
// collector asks this callback for the real pointers.
void TraceCons(void* object, gcheap::Visitor& visitor) {
  auto* c = static_cast<Cons*>(object);
  visitor.Visit(ObjectOf(c->car));
  visitor.Visit(ObjectOf(c->cdr));
}

constexpr gcheap::Type kConsType =
    gcheap::Type::Traced("Cons", sizeof(Cons), &TraceCons);
constexpr gcheap::Type kSymbolType =
    gcheap::Type::Of<Symbol>("Symbol").Pointers(offsetof(Symbol, name));

class Vm {
 public:
  Vm(gcheap::Heap& heap, gcheap::Mutator& m) : heap_(heap), m_(m) {
    heap_.AddRootCallback(&Vm::VisitRoots, this);
  }
  ~Vm() { heap_.RemoveRootCallback(&Vm::VisitRoots, this); }

  void Push(Value v) { stack_.push_back(v); }
  Value Pop() {
    Value v = stack_.back();
    stack_.pop_back();
    return v;
  }
  Value Top() const { return stack_.back(); }

  // [... cdr car] -> [... (car . cdr)]. Both operands stay on the stack,
  // where the collector sees them, until the new cell holds them.
  void MakeCons() {
    Cons* c = m_.New<Cons>(kConsType);  // may collect
    SetField(&c->car, stack_[stack_.size() - 1]);
    SetField(&c->cdr, stack_[stack_.size() - 2]);
    stack_.pop_back();
    stack_.back() = reinterpret_cast<Value>(c);
  }

  // Pushes the symbol called `name`, creating it on first use.
  void Intern(const char* name) {
    for (Value l = symbols_; l != kNil; l = AsCons(l)->cdr) {
      Value s = AsCons(l)->car;
      if (strcmp(AsSymbol(s)->name, name) == 0) {
        Push(s);
        return;
      }
    }
    size_t n = strlen(name);
    gcheap::HandleScope scope(m_);
    gcheap::Local<char> bytes(m_, static_cast<char*>(m_.AllocateNoscan(n + 1)));
    memcpy(bytes.Get(), name, n + 1);
    auto* sym = m_.New<Symbol>(kSymbolType);  // may collect: bytes is rooted
    sym->name = bytes.Get();
    sym->length = n;
    Value v = reinterpret_cast<Value>(sym) | kSymbolTag;
    Push(symbols_);  // cdr
    Push(v);         // car
    MakeCons();      // may collect: both operands are on the stack
    symbols_ = Pop();
    Push(v);
  }

  // Pushes the list (from from+1 ... to).
  void PushRange(int64_t from, int64_t to) {
    Push(kNil);
    for (int64_t i = to; i >= from; i--) {
      Push(Fixnum(i));
      MakeCons();
    }
  }

  // Length and sum of a list of fixnums. The loop does not allocate, so it
  // polls for a stop-the-world request itself.
  void Measure(Value list, int64_t* length, int64_t* sum) {
    *length = *sum = 0;
    for (Value l = list; IsCons(l); l = AsCons(l)->cdr) {
      ++*length;
      *sum += FixnumValue(AsCons(l)->car);
      m_.Safepoint();
    }
  }

  void Print(Value v, int max_items) {
    if (v == kNil) {
      printf("()");
    } else if (IsFixnum(v)) {
      printf("%lld", static_cast<long long>(FixnumValue(v)));
    } else if (IsSymbol(v)) {
      printf("%s", AsSymbol(v)->name.Get());
    } else {
      printf("(");
      int n = 0;
      for (Value l = v; IsCons(l); l = AsCons(l)->cdr, n++) {
        if (n == max_items) {
          printf(" ...");
          break;
        }
        if (n > 0) printf(" ");
        Print(AsCons(l)->car, max_items);
      }
      printf(")");
    }
  }

 private:
  // Runs with the world stopped, on the collecting thread.
  static void VisitRoots(gcheap::Visitor& visitor, void* arg) {
    auto* vm = static_cast<Vm*>(arg);
    for (Value v : vm->stack_) visitor.Visit(ObjectOf(v));
    visitor.Visit(ObjectOf(vm->symbols_));
  }

  gcheap::Heap& heap_;
  gcheap::Mutator& m_;
  std::vector<Value> stack_;
  Value symbols_ = kNil;  // the symbol table: a list of symbols
};

int SizeClassIndex(const gcheap::MemStats& s, uint32_t size) {
  for (int i = 0; i < 61; i++) {
    if (s.by_size[i].size == size) return i;
  }
  return 0;
}

void PrintStats(gcheap::Heap& heap, const char* when) {
  gcheap::MemStats s = heap.ReadMemStats();
  int c16 = SizeClassIndex(s, 16), c24 = SizeClassIndex(s, 24);
  printf(
      "%-22s objects %7llu  heap_alloc %8llu  heap_inuse %8llu  "
      "num_gc %2u (forced %u)  16B live %6llu  24B live %6llu\n",
      when, static_cast<unsigned long long>(s.heap_objects),
      static_cast<unsigned long long>(s.heap_alloc),
      static_cast<unsigned long long>(s.heap_inuse), s.num_gc, s.num_forced_gc,
      static_cast<unsigned long long>(s.by_size[c16].mallocs -
                                      s.by_size[c16].frees),
      static_cast<unsigned long long>(s.by_size[c24].mallocs -
                                      s.by_size[c24].frees));
}

}  // namespace

int main() {
  gcheap::Options options;
  options.max_procs = 1;
  // Every live value is on the VM's stack or in its symbol table, so the
  // C++ stack need not be scanned.
  options.stack_scanning = gcheap::StackScanning::kPrecise;
  gcheap::Heap heap(options);
  gcheap::Mutator& m = heap.AttachCurrentThread();
  {
    Vm vm(heap, m);
    PrintStats(heap, "start");

    // Symbols: (hello world), then "hello" again is the same object.
    vm.Push(kNil);
    vm.Intern("world");
    vm.MakeCons();
    vm.Intern("hello");
    vm.MakeCons();
    printf("list: ");
    vm.Print(vm.Top(), 10);
    vm.Intern("hello");
    Value again = vm.Pop();
    printf(", hello interned once: %s\n",
           again == AsCons(vm.Top())->car ? "yes" : "no");
    vm.Pop();
    PrintStats(heap, "after symbols");

    // A list of 100000 fixnums: 100000 cons cells.
    vm.PushRange(1, 100000);
    int64_t length, sum;
    vm.Measure(vm.Top(), &length, &sum);
    printf("list: ");
    vm.Print(vm.Top(), 5);
    printf(" length %lld sum %lld\n", static_cast<long long>(length),
           static_cast<long long>(sum));
    PrintStats(heap, "list built");
    heap.Collect();
    PrintStats(heap, "collected, on stack");

    // Move the list from the VM stack to a Persistent handle.
    {
      gcheap::Persistent<Cons> saved(heap, AsCons(vm.Pop()));
      heap.Collect();
      vm.Measure(reinterpret_cast<Value>(saved.Get()), &length, &sum);
      printf("held by a Persistent: length %lld sum %lld\n",
             static_cast<long long>(length), static_cast<long long>(sum));
      PrintStats(heap, "collected, persistent");
    }
    heap.Collect();
    PrintStats(heap, "dropped, collected");

    // Garbage: 20 lists built and dropped; the pacer starts cycles itself.
    for (int i = 0; i < 20; i++) {
      vm.PushRange(1, 100000);
      vm.Pop();
    }
    PrintStats(heap, "after 2M garbage cells");

    gcheap::MemStats s = heap.ReadMemStats();
    uint64_t last_pause = s.pause_ns[(s.num_gc + 255) % 256];
    printf(
        "mallocs %llu frees %llu total_alloc %llu next_gc %llu\n"
        "heap_sys %llu heap_idle %llu heap_released %llu sys %llu\n"
        "num_gc %u automatic %u last pause %llu ns total pauses %llu ns\n",
        static_cast<unsigned long long>(s.mallocs),
        static_cast<unsigned long long>(s.frees),
        static_cast<unsigned long long>(s.total_alloc),
        static_cast<unsigned long long>(s.next_gc),
        static_cast<unsigned long long>(s.heap_sys),
        static_cast<unsigned long long>(s.heap_idle),
        static_cast<unsigned long long>(s.heap_released),
        static_cast<unsigned long long>(s.sys), s.num_gc,
        s.num_gc - s.num_forced_gc, static_cast<unsigned long long>(last_pause),
        static_cast<unsigned long long>(s.pause_total_ns));
  }
  heap.DetachCurrentThread();
  return 0;
}
