#include "base/check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>

namespace gcheap::internal {
namespace {

void WriteAll(const char* buf, size_t n) {
  while (n > 0) {
    ssize_t w = write(STDERR_FILENO, buf, n);
    if (w <= 0) return;
    buf += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

void RawLog(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  size_t len = static_cast<size_t>(n) < sizeof(buf) - 1 ? n : sizeof(buf) - 2;
  if (len == 0 || buf[len - 1] != '\n') buf[len++] = '\n';
  WriteAll(buf, len);
}

namespace {

std::atomic<FatalErrorHook> fatal_hook{nullptr};
std::atomic<void*> fatal_hook_arg{nullptr};
std::atomic<bool> fatal_hook_entered{false};

[[noreturn]] void VFail(const char* file, int line, const char* cond,
                        const char* fmt, va_list ap) {
  char buf[1024];
  int head =
      cond != nullptr
          ? snprintf(buf, sizeof(buf),
                     "gcheap: fatal error: %s:%d: check failed: %s: ", file,
                     line, cond)
          : snprintf(buf, sizeof(buf), "gcheap: fatal error: %s:%d: ", file,
                     line);
  if (head < 0) head = 0;
  if (static_cast<size_t>(head) > sizeof(buf) - 2) head = sizeof(buf) - 2;
  int n = vsnprintf(buf + head, sizeof(buf) - head - 1, fmt, ap);
  size_t len = head + (n > 0 ? n : 0);
  if (len > sizeof(buf) - 2) len = sizeof(buf) - 2;
  buf[len++] = '\n';
  WriteAll(buf, len);
  FatalErrorHook hook = fatal_hook.load(std::memory_order_acquire);
  if (hook != nullptr && !fatal_hook_entered.exchange(true)) {
    buf[len - 1] = 0;
    hook(buf, fatal_hook_arg.load(std::memory_order_relaxed));
  }
  abort();
}

}  // namespace

void SetFatalErrorHook(FatalErrorHook hook, void* arg) {
  fatal_hook_arg.store(arg, std::memory_order_relaxed);
  fatal_hook.store(hook, std::memory_order_release);
}

void FatalError(const char* file, int line, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  VFail(file, line, nullptr, fmt, ap);
}

void CheckFailed(const char* file, int line, const char* cond, const char* fmt,
                 ...) {
  va_list ap;
  va_start(ap, fmt);
  VFail(file, line, cond, fmt, ap);
}

}  // namespace gcheap::internal
