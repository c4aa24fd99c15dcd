// Signal stops: bounded time to safepoint for threads that never poll. See
// runtime/heap_impl.h for the scheduler and docs/collector.md ("Stopping
// threads that do not poll") for the guarantees.
//
// A stop (or a ragged flush) raises the poll flag, and the stopping thread
// sends Options::preempt_signal at once (after Options::preempt_after_us,
// if set, spent spinning while threads that poll stop at their safepoints)
// to each thread still running (a loop that neither allocates nor polls, a
// blocking call outside a BlockingScope, a thread the OS had not
// scheduled, or one about to poll), and sleeps on a futex word
// (HeapImpl::safepoint_seq_) that each thread bumps as it stops, the
// handler too: it is woken by the last one, not by a timer it would need a
// CPU to answer.
// Its handler, on the thread itself, looks at where the signal landed:
//
//   in the program's own code                 stop here: save every
//   or at a system call (blocked in read,     general register and the
//   pthread_join, futex...), except the       stack pointer, then wait on
//   memory calls malloc makes with an         a futex until the collector
//   arena locked (mmap, munmap, brk...)       lets the thread go
//   inside an inline fast path (allocation,   refuse: the P's state is
//   Pool), a RuntimeFrames or NoPreempt       halfway through a change, or
//   scope (gcheap's own slow paths, which     the thread may hold a lock
//   hold locks), the write barrier's stub,    the collector needs; the
//   or elsewhere in the C library             collector asks again 20 us
//   (malloc's locks), or holding a runtime    after its last signal
//   lock (base/mutex.h; waiting for one,
//   asleep in the kernel, is not holding)
//
// A signal is sent again only once the handler has refused the last one:
// while it is pending (the thread has not run since, as with more threads
// than CPUs) a second would change nothing. After 10 ms it is sent anyway,
// in case the program took it (sigwaitinfo) or the send failed.
//
// A thread stopped in its handler is, for the collector, a thread parked at
// a safepoint: its P's cache, barrier buffer and Pool slots are consistent
// (no fast path is halfway), so the collector releases, flushes and rotates
// them as it does a parked P's; its stack is scanned from the interrupted
// stack pointer less the 128-byte red zone, and its registers from the
// signal's context (conservative mode; precise mode scans its handles).
//
// A ragged flush (the first step of mark termination) flushes the P of a
// thread its signal stopped and keeps the thread stopped
// (MutatorState::sig_held): the stop that normally follows parks that P at
// once (PreemptLocked with no thread list) instead of signalling the thread
// again, and if
// marking goes on instead the collector lets it go (ReleaseHeld). Waking it
// in between would have it run for microseconds and, with every CPU busy,
// take the CPU of the thread that is about to stop the world.
//
// The handler uses only async-signal-safe operations: atomics, and the
// futex system call. Only threads that asked are stopped: the request flag
// (MutatorState::preempt_req) is set by the collector before it signals;
// a signal without one goes to the handler the program had installed. So
// does one that reaches a thread after it detached (signals go out after
// the scheduler lock is dropped): Detach clears the thread's mutator before
// it frees its state.
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <mutex>

#include "base/check.h"
#include "base/clock.h"
#include "base/futex.h"
#include "gcheap/weak.h"
#include "runtime/heap_impl.h"

extern "C" char gcheap_write_barrier_stub[] __attribute__((weak));
extern "C" char gcheap_write_barrier_stub_end[] __attribute__((weak));

namespace gcheap::internal {
namespace {

// The executable segments of the system libraries (found once, at
// install): the C library, the dynamic linker (symbol binding and dynamic
// TLS, which allocate), and whatever object provides the malloc the
// program runs (jemalloc, tcmalloc, a sanitizer's runtime). Code there may
// hold an allocator's or the linker's locks, so the handler stops a thread
// there only at a system call (StoppableSyscall). A malloc linked into the
// program itself cannot be told apart from the program's code: docs/
// collector.md says what that costs.
constexpr int kMaxLibcRanges = 16;
uintptr_t libc_lo[kMaxLibcRanges], libc_hi[kMaxLibcRanges];
int libc_ranges = 0;

// The load address of the shared object that defines `malloc` as the
// program binds it, or 0 when the program itself defines it.
uintptr_t MallocProviderBase() {
  Dl_info info;
  void* (*fn)(size_t) = &malloc;
  if (dladdr(reinterpret_cast<void*>(fn), &info) == 0) return 0;
  return reinterpret_cast<uintptr_t>(info.dli_fbase);
}

bool SystemLibrary(const dl_phdr_info* info, uintptr_t malloc_base) {
  const char* name = info->dlpi_name;
  if (name == nullptr || name[0] == '\0') return false;  // the program
  if (strstr(name, "/libc.so") != nullptr) return true;
  if (strstr(name, "/ld-linux") != nullptr) return true;
  // The object's first loadable segment starts at its load base.
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    return malloc_base != 0 && info->dlpi_addr + ph.p_vaddr == malloc_base;
  }
  return false;
}

int FindLibc(dl_phdr_info* info, size_t, void* data) {
  if (!SystemLibrary(info, *static_cast<uintptr_t*>(data))) return 0;
  for (int i = 0; i < info->dlpi_phnum && libc_ranges < kMaxLibcRanges; i++) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
    libc_lo[libc_ranges] = info->dlpi_addr + ph.p_vaddr;
    libc_hi[libc_ranges] = libc_lo[libc_ranges] + ph.p_memsz;
    libc_ranges++;
  }
  return 0;
}

bool InLibc(uintptr_t pc) {
  for (int i = 0; i < libc_ranges; i++) {
    if (pc >= libc_lo[i] && pc < libc_hi[i]) return true;
  }
  return false;
}

// The calls malloc makes with an arena locked.
bool MemorySyscall(int64_t nr) {
  return nr == SYS_mmap || nr == SYS_munmap || nr == SYS_mprotect ||
         nr == SYS_brk || nr == SYS_mremap || nr == SYS_madvise;
}

// The thread is at a system call in the C library where it may stop (rax:
// the interrupted context's). The bytes at or before pc are the syscall
// instruction (0f 05):
//   - at it: a blocking call the signal interrupted, about to restart
//     (SA_RESTART: rax is its number again), or a call about to start;
//   - just after it: a blocking call that returns EINTR, or a call that
//     completed with the signal pending (rax its result): its number is
//     read from the `mov $nr, %eax` before the syscall (b8 imm32), and an
//     unknown one does not count.
// Never at a memory call malloc makes with an arena locked (mmap, munmap,
// brk...): a stop there would hold the arena lock until the world
// restarts, and past a fork, which takes every arena lock (a deadlock).
bool StoppableSyscall(uintptr_t pc, int64_t rax) {
  auto* b = reinterpret_cast<const unsigned char*>(pc);
  if (b[0] == 0x0f && b[1] == 0x05) return !MemorySyscall(rax);
  if (b[-2] != 0x0f || b[-1] != 0x05) return false;
  if (rax == -EINTR) return true;
  if (b[-7] != 0xb8) return false;
  int32_t nr;
  memcpy(&nr, b - 6, sizeof(nr));
  return !MemorySyscall(nr);
}

bool InBarrierStub(uintptr_t pc) {
  auto lo = reinterpret_cast<uintptr_t>(gcheap_write_barrier_stub);
  auto hi = reinterpret_cast<uintptr_t>(gcheap_write_barrier_stub_end);
  return lo != 0 && pc >= lo && pc < hi;
}

struct sigaction previous_action;
int installed_signal = 0;

void ChainToPrevious(int sig, siginfo_t* info, void* uc) {
  if (previous_action.sa_flags & SA_SIGINFO) {
    if (previous_action.sa_sigaction != nullptr) {
      previous_action.sa_sigaction(sig, info, uc);
    }
  } else if (previous_action.sa_handler != SIG_IGN &&
             previous_action.sa_handler != SIG_DFL &&
             previous_action.sa_handler != nullptr) {
    previous_action.sa_handler(sig);
  }
}

bool SafeToStop(const Mutator& m, MutatorState* st, uintptr_t pc, int64_t rax) {
  if (HeapImpl::InFastPath(m) || st->nopreempt != 0 ||
      st->runtime_frames != 0 || st->p == nullptr || st->blocking) {
    return false;
  }
  // Between the inline barrier's test and its store: a store that saw
  // marking off must not be made after marking began.
  if (gch_internal_tls_in_barrier != 0 || InBarrierStub(pc)) return false;
  const bool at_syscall = InLibc(pc) && StoppableSyscall(pc, rax);
  if (InLibc(pc) && !at_syscall) return false;
  // Holding a runtime lock (a public call that takes one while its thread
  // keeps the P): the collector may take it while the world is stopped. A
  // thread asleep waiting for one (Mutex::Lock, CondVar::Wait) does not
  // hold it yet, and may stop there, in the kernel, not once it has it.
  if (tls_locks_held != tls_lock_waits) return false;
  if (tls_lock_waits != 0 && !at_syscall) return false;
  return true;
}

void PreemptHandler(int sig, siginfo_t* info, void* ucv) {
  const int saved_errno = errno;
  Mutator* m = tls_current;
  MutatorState* st = m != nullptr ? HeapImpl::StateOf(*m) : nullptr;
  if (st == nullptr || !st->preempt_req.load(std::memory_order_acquire)) {
    ChainToPrevious(sig, info, ucv);
    errno = saved_errno;
    return;
  }
  st->sig_handled.fetch_add(1, std::memory_order_release);
  auto* uc = static_cast<ucontext_t*>(ucv);
#if defined(__x86_64__)
  const greg_t* g = uc->uc_mcontext.gregs;
  const uintptr_t pc = static_cast<uintptr_t>(g[REG_RIP]);
  if (!SafeToStop(*m, st, pc, static_cast<int64_t>(g[REG_RAX]))) {
    errno = saved_errno;
    return;
  }
  static constexpr int kRegs[16] = {
      REG_RAX, REG_RBX, REG_RCX, REG_RDX, REG_RSI, REG_RDI, REG_RBP, REG_R8,
      REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15, REG_RSP};
  for (int i = 0; i < 16; i++) {
    st->sig_regs[i] = static_cast<uintptr_t>(g[kRegs[i]]);
  }
  // The red zone below the stack pointer may hold a leaf function's data.
  st->sig_sp = static_cast<uintptr_t>(g[REG_RSP]) - 128;
#else
  (void)uc;
  errno = saved_errno;
  return;
#endif
  st->sig_stops.fetch_add(1, std::memory_order_relaxed);
  st->sig_state.store(1, std::memory_order_seq_cst);
  // The request may have been withdrawn meanwhile (the stop ended): then
  // nobody would let this thread go.
  if (!st->preempt_req.load(std::memory_order_seq_cst)) {
    int one = 1;
    st->sig_state.compare_exchange_strong(one, 0, std::memory_order_seq_cst);
  } else {
    // The stopping thread sleeps until a P stops: this one has.
    st->safepoint_seq->fetch_add(1, std::memory_order_release);
    FutexWakeAll(st->safepoint_seq);
  }
  while (st->sig_state.load(std::memory_order_acquire) == 1) {
    FutexWait(&st->sig_state, 1);
  }
  errno = saved_errno;
}

}  // namespace

NoPreempt::NoPreempt()
    : st_(tls_current != nullptr ? HeapImpl::StateOf(*tls_current) : nullptr) {
  if (st_ != nullptr) {
    st_->nopreempt++;
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
}

NoPreempt::~NoPreempt() {
  if (st_ != nullptr) {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    st_->nopreempt--;
  }
}

Mutex& PreemptInstallMutex() {
  static Mutex mu(LockRank::kLeaf);
  return mu;
}

void InstallPreemptHandler(int sig) {
  MutexLock l(&PreemptInstallMutex());
  if (installed_signal != 0) {
    GCHEAP_CHECK(installed_signal == sig,
                 "Options::preempt_signal: heaps of one process must use one "
                 "signal (%d is installed, %d asked)",
                 installed_signal, sig);
    return;
  }
  uintptr_t malloc_base = MallocProviderBase();
  dl_iterate_phdr(FindLibc, &malloc_base);
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = PreemptHandler;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigfillset(&sa.sa_mask);
  GCHEAP_CHECK(sigaction(sig, &sa, &previous_action) == 0,
               "cannot install the signal handler for signal %d", sig);
  installed_signal = sig;
}

void HeapImpl::SendPreemptSignals(const std::vector<int>& tids) const {
  const int pid = getpid();
  // By thread id, not pthread_t: the thread may have detached and exited
  // since sched_mu_ was dropped (then the call fails, harmlessly).
  for (int tid : tids) syscall(SYS_tgkill, pid, tid, opts_.preempt_signal);
}

void HeapImpl::PreemptLocked(bool flush, std::vector<int>* tids) {
  const uint64_t now = MonoNs();
  const uint64_t resend_ns = static_cast<uint64_t>(PreemptResendNs());
  for (P& p : ps_) {
    if (p.status != P::Status::kRunning || p.owner == nullptr) continue;
    if (flush && !p.flush_requested.load(std::memory_order_relaxed)) continue;
    MutatorState* st = p.owner->state_;
    if (st->sig_state.load(std::memory_order_acquire) == 1) {
      if (flush) {
        // Stopped where its P's state is consistent: flush for it, and
        // keep it stopped for the stop that normally comes next (waking it
        // now would have it run a few microseconds, take the CPU from the
        // collector's thread, and be signalled again).
        FlushP(&p);
        AckFlushLocked(&p);
        st->sig_held = true;
      } else {
        p.status = P::Status::kParked;
        st->sig_parked = true;
        st->sig_held = false;
      }
      continue;
    }
    if (tids == nullptr) continue;  // taking over only
    const uint32_t handled = st->sig_handled.load(std::memory_order_acquire);
    if (st->preempt_req.load(std::memory_order_relaxed)) {
      // Asked already: again once the handler has refused, resend_ns after
      // the last signal. While that signal is pending (with more threads
      // than CPUs the thread may not have run since) a second changes
      // nothing: again only after kPendingResendNs, in case it was lost.
      const uint64_t wait =
          handled == st->sig_handled_at_send ? kPendingResendNs : resend_ns;
      if (now - st->preempt_sent_ns < wait) continue;
    }
    st->preempt_req.store(true, std::memory_order_seq_cst);
    st->preempt_sent_ns = now;
    st->sig_handled_at_send = handled;
    st->sig_sent++;
    tids->push_back(st->tid);
  }
}

void HeapImpl::ResumeSignaledLocked(bool keep_held) {
  for (Mutator* mu : mutators_) {
    MutatorState* st = mu->state_;
    if (st->sig_held) {
      if (keep_held) continue;
      st->sig_held = false;
    }
    if (st->sig_parked) {
      st->sig_parked = false;
      if (st->p != nullptr) st->p->status = P::Status::kRunning;
    }
    if (st->preempt_req.load(std::memory_order_relaxed)) {
      WithdrawPreemptLocked(st);
    }
  }
}

void HeapImpl::WithdrawPreemptLocked(MutatorState* st) {
  st->preempt_req.store(false, std::memory_order_seq_cst);
  if (st->sig_state.load(std::memory_order_seq_cst) == 1) {
    st->sig_state.store(0, std::memory_order_release);
    FutexWake(&st->sig_state);
  }
}

}  // namespace gcheap::internal

namespace gcheap {

// As NoPreempt, for the public headers (include/gcheap/weak.h).
NoSignalStop::NoSignalStop()
    : depth_(
          internal::tls_current != nullptr
              ? &internal::HeapImpl::StateOf(*internal::tls_current)->nopreempt
              : nullptr) {
  if (depth_ != nullptr) {
    ++*depth_;
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
}

NoSignalStop::~NoSignalStop() {
  if (depth_ != nullptr) {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    --*depth_;
  }
}

}  // namespace gcheap
