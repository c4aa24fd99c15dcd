// The write barrier's slow path entry on x86-64: a call that preserves
// every register, as Go's gcWriteBarrier does. See include/gcheap/ref.h.
//
// Ref<T> and WriteBarrier reach it from inline assembly while marking runs,
// so the compiler keeps everything in registers across the call. With an
// ordinary call it had to spill caller-saved registers around it, into
// stack slots that nothing overwrites afterwards: under conservative stack
// scanning each such slot kept the last object stored through it alive
// (docs/collector.md, "Conservative roots and the barrier's spill slot").
//
//   entry: rdi = slot, rsi = value; rsp 8 bytes below a 128-byte gap the
//          caller left for its red zone; any alignment.
//   0. The common case, in three scratch registers: the thread holds a P
//      (gcheap_internal_held_wbuf, a thread-local pointer to its buffer)
//      with room for two more values. Append the old value of *slot and
//      the new value (each unless null or a small tagged integer, below
//      4096) and return, clearing the registers' saved copies.
//   1. Otherwise (buffer full, no P, not attached) save the caller-saved
//      general registers and the whole extended state (XSAVE, or FXSAVE
//      without OS support for it), and call gcheap_internal_wb_slow, the
//      ordinary C++ slow path, which flushes the buffer or reports the
//      error.
//   2. Restore the registers and clear their saved copies, so the stack
//      below the caller holds no stale pointers either.
#if defined(__x86_64__) && defined(__ELF__)

#include "runtime/wbuf_layout.h"

// Restores the fast path's three scratch registers and zeroes their
// saved copies.
.macro RESTORE_SCRATCH
  popq %rdx
  .cfi_adjust_cfa_offset -8
  popq %rcx
  .cfi_adjust_cfa_offset -8
  popq %rax
  .cfi_adjust_cfa_offset -8
  movq $0, -8(%rsp)
  movq $0, -16(%rsp)
  movq $0, -24(%rsp)
.endm

  .text
  .globl gcheap_write_barrier_stub
  .type gcheap_write_barrier_stub, @function
  .p2align 4
gcheap_write_barrier_stub:
  .cfi_startproc
  endbr64
  pushq %rax
  .cfi_adjust_cfa_offset 8
  pushq %rcx
  .cfi_adjust_cfa_offset 8
  pushq %rdx
  .cfi_adjust_cfa_offset 8
  movq gcheap_internal_held_wbuf@GOTTPOFF(%rip), %rax
  movq %fs:(%rax), %rax
  testq %rax, %rax
  jz .Lnot_here
  movq GCHEAP_WBUF_N_OFFSET(%rax), %rcx
  cmpq $(GCHEAP_WBUF_ENTRIES - 2), %rcx
  ja .Lnot_here
  movq (%rdi), %rdx
  cmpq $4096, %rdx
  jb 1f
  movq %rdx, GCHEAP_WBUF_DATA_OFFSET(%rax,%rcx,8)
  addq $1, %rcx
1:
  cmpq $4096, %rsi
  jb 2f
  movq %rsi, GCHEAP_WBUF_DATA_OFFSET(%rax,%rcx,8)
  addq $1, %rcx
2:
  movq %rcx, GCHEAP_WBUF_N_OFFSET(%rax)
  RESTORE_SCRATCH
  ret
.Lnot_here:
  .cfi_adjust_cfa_offset 24
  RESTORE_SCRATCH
  pushq %rbp
  .cfi_def_cfa_offset 16
  .cfi_offset %rbp, -16
  movq %rsp, %rbp
  .cfi_def_cfa_register %rbp
  pushq %rax   // -8(%rbp)
  pushq %rcx   // -16
  pushq %rdx   // -24
  pushq %rsi   // -32
  pushq %rdi   // -40
  pushq %r8    // -48
  pushq %r9    // -56
  pushq %r10   // -64
  pushq %r11   // -72
  andq $-16, %rsp
  jmp .Lslow
.Lrestore:
  movq -8(%rbp), %rax
  movq -16(%rbp), %rcx
  movq -24(%rbp), %rdx
  movq -32(%rbp), %rsi
  movq -40(%rbp), %rdi
  movq -48(%rbp), %r8
  movq -56(%rbp), %r9
  movq -64(%rbp), %r10
  movq -72(%rbp), %r11
  movq $0, -8(%rbp)
  movq $0, -16(%rbp)
  movq $0, -24(%rbp)
  movq $0, -32(%rbp)
  movq $0, -40(%rbp)
  movq $0, -48(%rbp)
  movq $0, -56(%rbp)
  movq $0, -64(%rbp)
  movq $0, -72(%rbp)
  leave
  .cfi_def_cfa %rsp, 8
  ret
  .cfi_def_cfa %rbp, 16
.Lslow:
  // 4 KiB, 64-byte aligned, holds the standard XSAVE layout of x87, SSE,
  // AVX and AVX-512 state (2688 bytes); its header must start zeroed.
  subq $4096, %rsp
  andq $-64, %rsp
  xorl %eax, %eax
  movq %rax, 512(%rsp)
  movq %rax, 520(%rsp)
  movq %rax, 528(%rsp)
  movq %rax, 536(%rsp)
  movq %rax, 544(%rsp)
  movq %rax, 552(%rsp)
  movq %rax, 560(%rsp)
  movq %rax, 568(%rsp)
  cmpl $0, gcheap_internal_wb_xsave(%rip)
  je .Lfxsave
  movl $0xe7, %eax  // x87, SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM
  xorl %edx, %edx
  xsave64 (%rsp)
  movq -40(%rbp), %rdi
  movq -32(%rbp), %rsi
  call gcheap_internal_wb_slow
  movl $0xe7, %eax
  xorl %edx, %edx
  xrstor64 (%rsp)
  jmp .Lrestore
.Lfxsave:
  fxsave64 (%rsp)
  movq -40(%rbp), %rdi
  movq -32(%rbp), %rsi
  call gcheap_internal_wb_slow
  fxrstor64 (%rsp)
  jmp .Lrestore
  .cfi_endproc
  // The end of the stub's code: a thread interrupted between here and
  // gcheap_write_barrier_stub may be appending to its P's buffer, and is
  // not stopped there (runtime/preempt.cc).
  .globl gcheap_write_barrier_stub_end
  .hidden gcheap_write_barrier_stub_end
gcheap_write_barrier_stub_end:
  .size gcheap_write_barrier_stub, .-gcheap_write_barrier_stub

#endif

  .section .note.GNU-stack,"",@progbits
