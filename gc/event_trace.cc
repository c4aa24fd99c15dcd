// The collector's event trace. See gc/event_trace.h.
#include "gc/event_trace.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "base/json.h"

namespace gcheap::internal {
namespace {

int Tid() {
  thread_local int tid = static_cast<int>(syscall(SYS_gettid));
  return tid;
}

// Each trace gets an id; a thread remembers the last trace it named
// itself in.
std::atomic<uint64_t> next_trace_id{1};
thread_local uint64_t named_in = 0;

// Escapes a name for a JSON string (names are the program's).
std::string Escaped(const char* s) {
  std::string out;
  AppendJsonEscaped(&out, s);
  return out;
}

}  // namespace

EventTrace::EventTrace(FILE* out)
    : id_(next_trace_id.fetch_add(1, std::memory_order_relaxed)),
      pid_(static_cast<int>(getpid())),
      out_(out) {
  fputs("[\n", out_);
  fflush(out_);
}

EventTrace::~EventTrace() {
  Flush();
  fputs("\n]\n", out_);
  fflush(out_);
}

void EventTrace::Append(const std::string& line) {
  SpinLockHolder l(&mu_);
  if (!first_) buf_ += ",\n";
  first_ = false;
  buf_ += line;
}

void EventTrace::Complete(const char* name, uint64_t t0_ns, uint64_t t1_ns,
                          const char* args) {
  char head[256];
  snprintf(head, sizeof head,
           "{\"name\":\"%s\",\"cat\":\"gc\",\"ph\":\"X\",\"ts\":%.3f,"
           "\"dur\":%.3f,\"pid\":%d,\"tid\":%d",
           name, static_cast<double>(t0_ns) / 1000,
           static_cast<double>(t1_ns > t0_ns ? t1_ns - t0_ns : 0) / 1000, pid_,
           Tid());
  std::string line = head;
  if (args != nullptr) {
    line += ",\"args\":{";
    line += args;
    line += '}';
  }
  line += '}';
  Append(line);
}

void EventTrace::Counter(const char* name, uint64_t t_ns, const char* args) {
  char head[160];
  snprintf(head, sizeof head,
           "{\"name\":\"%s\",\"ph\":\"C\",\"ts\":%.3f,\"pid\":%d,\"args\":{",
           name, static_cast<double>(t_ns) / 1000, pid_);
  std::string line = head;
  line += args;
  line += "}}";
  Append(line);
}

void EventTrace::NameThread(const char* name) {
  if (named_in == id_) return;
  named_in = id_;
  char head[96];
  snprintf(head, sizeof head,
           "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":%d,"
           "\"args\":{\"name\":\"",
           pid_, Tid());
  std::string line = head;
  line += Escaped(name);
  line += "\"}}";
  Append(line);
}

void EventTrace::NameThreadFromSystem(const char* fallback) {
  if (named_in == id_) return;
  char name[32] = {};
  char self[4096] = {};
  // A thread the program did not name has the program's name.
  if (pthread_getname_np(pthread_self(), name, sizeof name) != 0 ||
      name[0] == 0 ||
      (readlink("/proc/self/exe", self, sizeof self - 1) > 0 &&
       strstr(self, name) != nullptr)) {
    NameThread(fallback);
    return;
  }
  NameThread(name);
}

void EventTrace::Flush() {
  SpinLockHolder w(&write_mu_);
  std::string out;
  {
    SpinLockHolder l(&mu_);
    out.swap(buf_);
  }
  if (out.empty()) return;
  fwrite(out.data(), 1, out.size(), out_);
  fflush(out_);
}

}  // namespace gcheap::internal
