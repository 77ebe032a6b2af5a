// Goroutine dumps and the fatal reports, in Go's words.
//
// Everything here may run in a signal handler (SIGSEGV on the alternate stack, SIGQUIT) or
// while other workers are running, so it formats into a fixed buffer, writes with write(2),
// allocates only with mmap, and reads goroutine records with relaxed loads: a dump of a
// running program is a snapshot, not a consistent cut.
#include "diag/diag.hpp"

#include <cxxabi.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <typeinfo>

#include "base/clock.hpp"
#include "fiber/fiber.hpp"
#include "goro/runtime.hpp"
#include "goroutine/goroutine.hpp"

namespace goro::detail {

namespace {

// Buffered output to a file descriptor or a FILE*.
class writer {
 public:
  explicit writer(int fd) noexcept : fd_(fd) {}
  explicit writer(std::FILE* f) noexcept : f_(f) {}
  ~writer() { flush(); }
  writer& str(const char* s) noexcept { return put(s, std::strlen(s)); }
  writer& put(const char* s, std::size_t n) noexcept {
    while (n) {
      if (n_ == sizeof(buf_)) flush();
      std::size_t k = std::min(n, sizeof(buf_) - n_);
      std::memcpy(buf_ + n_, s, k);
      n_ += k;
      s += k;
      n -= k;
    }
    return *this;
  }
  writer& num(std::uint64_t v) noexcept {
    char tmp[24];
    int i = 24;
    do {
      tmp[--i] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v);
    return put(tmp + i, static_cast<std::size_t>(24 - i));
  }
  void flush() noexcept {
    if (!n_) return;
    if (f_) {
      std::fwrite(buf_, 1, n_, f_);
    } else {
      const char* p = buf_;
      std::size_t left = n_;
      while (left) {
        ssize_t w = ::write(fd_, p, left);
        if (w <= 0) break;
        p += w;
        left -= static_cast<std::size_t>(w);
      }
    }
    n_ = 0;
  }

 private:
  int fd_ = -1;
  std::FILE* f_ = nullptr;
  char buf_[2048];
  std::size_t n_ = 0;
};

const char* reason_text(wait_reason r) noexcept {
  switch (r) {
    case wait_reason::chan_send:
      return "chan send";
    case wait_reason::chan_recv:
      return "chan receive";
    case wait_reason::select:
      return "select";
    case wait_reason::select_no_cases:
      return "select (no cases)";
    case wait_reason::chan_send_nil:
      return "chan send (nil chan)";
    case wait_reason::chan_recv_nil:
      return "chan receive (nil chan)";
    case wait_reason::semacquire:
      return "semacquire";
    case wait_reason::mutex_lock:
      return "sync.Mutex.Lock";
    case wait_reason::sleep:
      return "sleep";
    case wait_reason::none:
      break;
  }
  return "waiting";
}

void write_goroutine(writer& out, goroutine* g, bool running_override) noexcept {
  std::uint64_t id = g->id.load(std::memory_order_relaxed);
  g_state st = g->state.load(std::memory_order_relaxed);
  out.str("goroutine ").num(id).str(" [");
  if (running_override || st == g_state::running) {
    out.str("running");
  } else if (st == g_state::runnable) {
    out.str("runnable");
  } else {
    out.str(reason_text(g->reason.load(std::memory_order_relaxed)));
    std::int64_t since = g->blocked_since.load(std::memory_order_relaxed);
    if (since > 0) {
      std::int64_t minutes = (now_ns() - since) / 60000000000LL;
      if (minutes >= 1) out.str(", ").num(static_cast<std::uint64_t>(minutes)).str(" minutes");
    }
  }
  out.str("]:\n");
  const char* bf = g->blocked_file.load(std::memory_order_relaxed);
  if (!running_override && st == g_state::waiting && bf)
    out.str("\tblocked at ")
        .str(bf)
        .str(":")
        .num(g->blocked_line.load(std::memory_order_relaxed))
        .str("\n");
  const char* cf = g->created_file.load(std::memory_order_relaxed);
  std::uint64_t parent = g->parent_id.load(std::memory_order_relaxed);
  out.str("\tcreated by ");
  if (id == 1)
    out.str("goro::run");
  else if (parent == 0)
    out.str("a thread");
  else
    out.str("goroutine ").num(parent);
  if (cf) out.str(" at ").str(cf).str(":").num(g->created_line.load(std::memory_order_relaxed));
  out.str("\n");
}

// Writes every live goroutine, `first` first, then by id. `only_blocked`: just those parked
// on something (the leak report). Returns how many were written.
std::size_t write_all(writer& out, goroutine* first, bool only_blocked) noexcept {
  std::size_t total = goroutine_count_all();
  std::size_t written = 0;
  if (first) {
    out.str("\n");
    write_goroutine(out, first, true);
    written++;
  }
  std::size_t bytes = (total ? total : 1) * sizeof(goroutine*);
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return written;
  auto** list = static_cast<goroutine**>(mem);
  std::size_t n = 0;
  for (std::size_t i = 0; i < total; i++) {
    goroutine* g = goroutine_at(i);
    if (g == first || g->id.load(std::memory_order_relaxed) == 0) continue;
    g_state st = g->state.load(std::memory_order_relaxed);
    if (st == g_state::dead) continue;
    if (only_blocked &&
        (st != g_state::waiting || g->reason.load(std::memory_order_relaxed) == wait_reason::sleep))
      continue;
    list[n++] = g;
  }
  std::sort(list, list + n, [](goroutine* a, goroutine* b) {
    return a->id.load(std::memory_order_relaxed) < b->id.load(std::memory_order_relaxed);
  });
  for (std::size_t i = 0; i < n; i++) {
    out.str("\n");
    write_goroutine(out, list[i], false);
  }
  munmap(mem, bytes);
  return written + n;
}

[[noreturn]] void die() noexcept { _exit(2); }

// Only the first fatal report is printed: several workers can reach one at once (two panics,
// or idle workers that all see the deadlock). The others wait for the process to end.
bool first_fatal() noexcept {
  static std::atomic<bool> taken{false};
  // acq_rel: one winner; the others only wait, they read nothing the winner wrote.
  if (!taken.exchange(true, std::memory_order_acq_rel)) return true;
  for (;;) pause();
}

struct sigaction old_segv, old_bus;

void on_fault(int sig, siginfo_t* info, void* ctx) {
  goroutine* g = current_g();
  if (g && stack_guard_hit(g->stk, info->si_addr)) {
    first_fatal();
    writer out(2);
    out.str("fatal error: stack overflow\n");
    write_all(out, g, false);
    out.flush();
    die();
  }
  // Not a goroutine's guard page: hand it to whoever was there before (e.g. a sanitizer), or
  // let the default action happen when the faulting instruction runs again.
  struct sigaction& old = sig == SIGSEGV ? old_segv : old_bus;
  if ((old.sa_flags & SA_SIGINFO) && old.sa_sigaction) {
    old.sa_sigaction(sig, info, ctx);
    return;
  }
  if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN && old.sa_handler) {
    old.sa_handler(sig);
    return;
  }
  signal(sig, SIG_DFL);
}

void on_quit(int) {
  first_fatal();
  writer out(2);
  out.str("SIGQUIT: quit\n");
  write_all(out, nullptr, false);
  out.flush();
  die();
}

}  // namespace

void fatal_deadlock() noexcept {
  first_fatal();
  std::fflush(nullptr);
  writer out(2);
  out.str("fatal error: all goroutines are asleep - deadlock!\n");
  write_all(out, nullptr, false);
  out.flush();
  die();
}

void fatal_panic_current_exception(goroutine* g) noexcept {
  first_fatal();
  std::fflush(nullptr);
  writer out(2);
  out.str("panic: ");
  try {
    throw;
  } catch (const std::exception& e) {
    out.str(e.what());
  } catch (...) {
    std::type_info* t = abi::__cxa_current_exception_type();
    out.str("unknown exception");
    if (t) {
      int status = 0;
      char* name = abi::__cxa_demangle(t->name(), nullptr, nullptr, &status);
      out.str(" of type ").str(status == 0 && name ? name : t->name());
      std::free(name);
    }
  }
  out.str("\n");
  write_all(out, g, false);
  out.flush();
  die();
}

void install_signal_handlers() noexcept {
  struct sigaction sa {};
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &old_segv);
  sigaction(SIGBUS, &sa, &old_bus);
  struct sigaction cur {};
  if (sigaction(SIGQUIT, nullptr, &cur) == 0 && cur.sa_handler == SIG_DFL) {
    struct sigaction q {};
    q.sa_handler = on_quit;
    q.sa_flags = SA_ONSTACK;
    sigemptyset(&q.sa_mask);
    sigaction(SIGQUIT, &q, nullptr);
  }
}

void setup_signal_stack() noexcept {
  constexpr std::size_t kSize = 64 * 1024;
  void* mem = mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return;
  stack_t ss{};
  ss.ss_sp = mem;
  ss.ss_size = kSize;
  sigaltstack(&ss, nullptr);
}

void dump_to(std::FILE* out) noexcept {
  writer w(out);
  write_all(w, nullptr, false);
  w.flush();
  std::fflush(out);
}

int leak_report() noexcept {
  std::size_t total = goroutine_count_all(), blocked = 0;
  for (std::size_t i = 0; i < total; i++) {
    goroutine* g = goroutine_at(i);
    if (g->id.load(std::memory_order_relaxed) != 0 &&
        g->state.load(std::memory_order_relaxed) == g_state::waiting &&
        g->reason.load(std::memory_order_relaxed) != wait_reason::sleep)
      blocked++;
  }
  if (!blocked) return 0;
  std::fflush(nullptr);
  writer out(2);
  out.str("goroutine leak: ")
      .num(blocked)
      .str(blocked == 1 ? " goroutine" : " goroutines")
      .str(" still blocked when run returned\n");
  write_all(out, nullptr, true);
  out.flush();
  return static_cast<int>(blocked);
}

}  // namespace goro::detail

namespace goro {
void dump(std::FILE* out) { detail::dump_to(out); }
}  // namespace goro
