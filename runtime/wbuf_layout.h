// The layout of a P's write-barrier buffer (WriteBuffer in
// runtime/heap_impl.h), shared with the barrier stub's assembly
// (runtime/barrier_stub_x86_64.S), which appends to it directly.
// heap_impl.h checks these against the struct.
#ifndef GCHEAP_RUNTIME_WBUF_LAYOUT_H_
#define GCHEAP_RUNTIME_WBUF_LAYOUT_H_

#define GCHEAP_WBUF_ENTRIES 512    // capacity, in words
#define GCHEAP_WBUF_N_OFFSET 0     // size_t: entries in use
#define GCHEAP_WBUF_DATA_OFFSET 8  // uintptr_t[GCHEAP_WBUF_ENTRIES]

#endif  // GCHEAP_RUNTIME_WBUF_LAYOUT_H_
