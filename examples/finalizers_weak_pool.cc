// The examples of docs/finalizers.md and docs/pool.md, in one program:
// finalizers, weak references, an intern table, cleanups and pools.
//   bazel run //examples:finalizers_weak_pool
#include <assert.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <string>

#include "gcheap/gcheap.h"

struct Buffer {
  char bytes[64];
  size_t used;
};
constexpr gcheap::Type kBufferType =
    gcheap::Type::Noscan("Buffer", sizeof(Buffer));

void Flush(int fd, Buffer* b) {
  if (b != nullptr && b->used > 0) {
    ssize_t n = write(fd, b->bytes, b->used);
    (void)n;
  }
}

// --- docs/finalizers.md: Finalizers

struct File {
  int fd;
  gcheap::Ref<Buffer> buffer;  // still readable in the finalizer
};
constexpr gcheap::Type kFileType =
    gcheap::Type::Of<File>("File").Pointers(offsetof(File, buffer));

void FlushAndClose(void* object, void* /*arg*/) {
  File* f = static_cast<File*>(object);
  Flush(f->fd, f->buffer);
  close(f->fd);
}

File* OpenFile(gcheap::Heap& heap, gcheap::Mutator& m, int fd) {
  File* f = m.New<File>(kFileType);
  f->fd = fd;
  f->buffer = m.New<Buffer>(kBufferType);
  heap.SetFinalizer(f, &FlushAndClose);
  return f;
}

void VmLoopStep(gcheap::Heap& heap) {
  // ... run some bytecode ...
  size_t ran = heap.RunFinalizers();  // finalizers and cleanups, in order
  (void)ran;
}

// --- Weak references

void WeakExample(gcheap::Heap& heap, gcheap::Mutator& m) {
  gcheap::Persistent<Buffer> strong(heap, m.New<Buffer>(kBufferType));
  gcheap::WeakRef<Buffer> weak(heap, strong.Get());
  heap.Collect();
  assert(weak.Get() == strong.Get());  // still reachable
  strong.Reset();  // now only the weak reference refers to it
  heap.Collect();
  if (Buffer* b = weak.Get()) {
    // Still alive: something reached it (with conservative stack scanning,
    // perhaps a stale copy of the pointer on the stack).
    b->used = 0;
  } else {
    // Collected: the weak reference was cleared.
  }
}

struct Str {
  size_t len;
  char chars[32];
};
constexpr gcheap::Type kStrType = gcheap::Type::Noscan("Str", sizeof(Str));

Str* NewStr(gcheap::Mutator& m, const std::string& s) {
  Str* p = m.New<Str>(kStrType);
  p->len = s.copy(p->chars, sizeof(p->chars));
  return p;
}

using Interned = gcheap::WeakValueMap<std::string, Str>;

Str* Intern(Interned& table, gcheap::Mutator& m, const std::string& s) {
  return table.FindOrInsert(s, [&] { return NewStr(m, s); });
}

// --- Cleanups

void CloseFd(void* arg) {
  close(static_cast<int>(reinterpret_cast<intptr_t>(arg)));
}

gcheap::CleanupHandle TrackFd(gcheap::Heap& heap, Buffer* owner, int fd) {
  return heap.AddCleanup(owner, &CloseFd,
                         reinterpret_cast<void*>(static_cast<intptr_t>(fd)));
}

// --- docs/pool.md

struct Scratch {
  char bytes[4096];
  size_t used;
};

// Plain C++ objects: dropped ones are deleted (or passed to your deleter).
gcheap::Pool<Scratch>* NewScratchPool(gcheap::Heap& heap) {
  return new gcheap::Pool<Scratch>(heap, gcheap::kPlainObjects,
                                   [] { return new Scratch(); });
}

void UseScratch(gcheap::Pool<Scratch>& pool, gcheap::Mutator& m) {
  Scratch* s = pool.Get(m);  // a cached one, or New's
  s->used = 0;
  // ... use it ...
  pool.Put(m, s);  // for the next Get, on this thread or another
}

// Objects of the heap: the pool keeps them alive until it drops them.
gcheap::Pool<Buffer>* NewBufferPool(gcheap::Heap& heap) {
  return new gcheap::Pool<Buffer>(
      heap, [](gcheap::Mutator& m) { return m.New<Buffer>(kBufferType); });
}

__attribute__((noinline)) void MakeFile(gcheap::Heap& heap, gcheap::Mutator& m,
                                        int fd) {
  File* f = OpenFile(heap, m, fd);
  memcpy(f->buffer->bytes, "flushed by a finalizer\n", 23);
  f->buffer->used = 23;
}

__attribute__((noinline)) void MakeTracked(gcheap::Heap& heap,
                                           gcheap::Mutator& m, int fd) {
  TrackFd(heap, m.New<Buffer>(kBufferType), fd);
}

int main() {
  gcheap::Options o;
  o.max_procs = 2;
  o.finalizer_mode = gcheap::FinalizerMode::kEmbedderDrains;
  gcheap::Heap heap(o);
  gcheap::Mutator& m = heap.AttachCurrentThread();

  // A File whose finalizer flushes its buffer to a pipe and closes it. (The
  // stack is scanned conservatively: a stale copy of the pointer could keep
  // the File alive a while, so the read does not wait.)
  int fds[2];
  if (pipe(fds) != 0) return 1;
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  MakeFile(heap, m, fds[1]);
  heap.Collect();
  VmLoopStep(heap);
  char got[64] = {};
  ssize_t n = read(fds[0], got, sizeof(got) - 1);
  printf("pipe: %s", n > 0 ? got : "(nothing: the File is still reachable)\n");
  // The read end stays open until the end: if a stale pointer kept the
  // File alive, its finalizer still writes to the pipe in a later cycle.

  WeakExample(heap, m);

  {
    Interned table(heap);
    Str* a = Intern(table, m, "lambda");
    Str* b = Intern(table, m, "lambda");
    printf("interned twice, same object: %s\n", a == b ? "yes" : "no");
  }

  // Ten buffers, each closing a descriptor when it is freed. (A stale copy
  // of a pointer on the conservatively scanned stack may keep one a while.)
  for (int i = 0; i < 10; i++) MakeTracked(heap, m, dup(1));
  heap.Collect();
  size_t ran = heap.RunFinalizers();
  printf("cleanups run: %zu of 10\n", ran);

  gcheap::Pool<Scratch>* scratch = NewScratchPool(heap);
  gcheap::Pool<Buffer>* buffers = NewBufferPool(heap);
  for (int i = 0; i < 3; i++) UseScratch(*scratch, m);
  buffers->Put(m, buffers->Get(m));
  delete scratch;
  delete buffers;

  heap.DetachCurrentThread();
  close(fds[0]);
}
