// Goroutine dumps and the fatal reports, in Go's words.
//
// Everything here may run in a signal handler (SIGSEGV on the alternate stack, SIGQUIT) or
// while other workers are running, so it formats into a fixed buffer, writes with write(2),
// allocates only with mmap, and reads goroutine records with relaxed loads: a dump of a
// running program is a snapshot, not a consistent cut. The leak report is the exception that
// waits: it runs on run()'s caller after run() returned, and polls (yielding, then sleeping)
// until the goroutines still running have blocked or finished, for at most kLeakSettleMs.
#include "diag/diag.hpp"

#include <cxxabi.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
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
    case wait_reason::rwmutex_lock:
      return "sync.RWMutex.Lock";
    case wait_reason::rwmutex_rlock:
      return "sync.RWMutex.RLock";
    case wait_reason::cond_wait:
      return "sync.Cond.Wait";
    case wait_reason::io_wait:
      return "IO wait";
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
  } else if (st == g_state::syscall) {
    out.str("syscall");  // inside goro::blocking(), since blocked_since
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
  if (!running_override && (st == g_state::waiting || st == g_state::syscall) && bf)
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

// Which live goroutines a listing takes.
enum class which : std::uint8_t {
  none,
  all,
  blocked,  // parked on something only another goroutine or thread ends (not asleep)
  active,   // running, runnable, or inside goro::blocking()
};

bool selected(goroutine* g, which w) noexcept {
  g_state st = g->state.load(std::memory_order_relaxed);
  if (g->id.load(std::memory_order_relaxed) == 0 || st == g_state::dead) return false;
  switch (w) {
    case which::none:
      return false;
    case which::all:
      return true;
    case which::blocked:
      return st == g_state::waiting &&
             g->reason.load(std::memory_order_relaxed) != wait_reason::sleep;
    case which::active:
      return st == g_state::running || st == g_state::runnable || st == g_state::syscall;
  }
  return false;
}

// The goroutines `w` selects, but `except`, sorted by id, in memory from mmap (usable in a
// signal handler). Empty if the memory cannot be had.
class g_list {
 public:
  g_list(which w, goroutine* except) noexcept {
    std::size_t total = goroutine_count_all();
    // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, sized by the pointer.
    bytes_ = (total ? total : 1) * sizeof(goroutine*);
    void* mem = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return;
    items_ = static_cast<goroutine**>(mem);
    for (std::size_t i = 0; i < total; i++) {
      goroutine* g = goroutine_at(i);
      if (g != except && selected(g, w)) items_[n_++] = g;
    }
    std::sort(items_, items_ + n_, [](goroutine* a, goroutine* b) {
      return a->id.load(std::memory_order_relaxed) < b->id.load(std::memory_order_relaxed);
    });
  }
  ~g_list() {
    if (items_) munmap(items_, bytes_);
  }
  g_list(const g_list&) = delete;
  g_list& operator=(const g_list&) = delete;
  std::size_t size() const noexcept { return n_; }
  // Each goroutine after a blank line, as the dump shows it.
  void write(writer& out) const noexcept {
    for (std::size_t i = 0; i < n_; i++) {
      out.str("\n");
      write_goroutine(out, items_[i], false);
    }
  }

 private:
  goroutine** items_ = nullptr;
  std::size_t n_ = 0, bytes_ = 0;
};

// Writes every live goroutine, `first` (if any) first as [running], then by id. Returns how
// many were written.
std::size_t write_all(writer& out, goroutine* first) noexcept {
  std::size_t written = 0;
  if (first) {
    out.str("\n");
    write_goroutine(out, first, true);
    written++;
  }
  g_list rest(which::all, first);
  rest.write(out);
  return written + rest.size();
}

// Counts the goroutines `w` selects (a racy snapshot, like every listing).
std::size_t count(which w) noexcept {
  std::size_t total = goroutine_count_all(), n = 0;
  for (std::size_t i = 0; i < total; i++) n += selected(goroutine_at(i), w);
  return n;
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
    write_all(out, g);
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
  write_all(out, nullptr);
  out.flush();
  die();
}

}  // namespace

void fatal_deadlock() noexcept {
  first_fatal();
  std::fflush(nullptr);
  writer out(2);
  out.str("fatal error: all goroutines are asleep - deadlock!\n");
  write_all(out, nullptr);
  out.flush();
  die();
}

constexpr std::size_t kSignalStackSize = std::size_t{64} << 10;

void fatal_error(const char* before, const char* what) noexcept {
  first_fatal();
  goroutine* g = current_g();
  writer out(2);
  if (before) out.str(before).str("\n");
  out.str("fatal error: ").str(what).str("\n");
  write_all(out, g);
  out.flush();
  die();
}

void fatal_panic(const char* what) noexcept {
  first_fatal();
  std::fflush(nullptr);
  goroutine* g = current_g();
  writer out(2);
  out.str("panic: ").str(what).str("\n");
  write_all(out, g);
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
  write_all(out, g);
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
  void* mem =
      mmap(nullptr, kSignalStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return;
  stack_t ss{};
  ss.ss_sp = mem;
  ss.ss_size = kSignalStackSize;
  sigaltstack(&ss, nullptr);
}

void teardown_signal_stack() noexcept {
  stack_t off{};
  off.ss_flags = SS_DISABLE;
  stack_t old{};
  if (sigaltstack(&off, &old) == 0 && old.ss_sp && !(old.ss_flags & SS_DISABLE))
    munmap(old.ss_sp, old.ss_size);
}

const char* goroutine_status_text(unsigned long long id) noexcept {
  std::size_t total = goroutine_count_all();
  for (std::size_t i = 0; i < total; i++) {
    goroutine* g = goroutine_at(i);
    if (g->id.load(std::memory_order_relaxed) != id) continue;
    switch (g->state.load(std::memory_order_relaxed)) {
      case g_state::dead:
        return nullptr;
      case g_state::running:
        return "running";
      case g_state::runnable:
        return "runnable";
      case g_state::syscall:
        return "syscall";
      case g_state::waiting:
        return reason_text(g->reason.load(std::memory_order_relaxed));
    }
  }
  return nullptr;
}

void dump_to(std::FILE* out) noexcept {
  writer w(out);
  write_all(w, nullptr);
  w.flush();
  std::fflush(out);
}

namespace {

// Lets the goroutines still running or runnable when run() returned go on (they run on the
// workers; this thread only watches) until none is left or kLeakSettleMs pass. "None left"
// is seen twice over: the scheduler finds every worker idle and every run queue empty at one
// instant, and no goroutine record says running or runnable. What remains then can only be
// woken from outside (a plain thread, a timer): the blocked goroutines are leaked. Returns
// false if it gave up waiting.
bool settle(bool (*no_goroutine_runnable)() noexcept) noexcept {
  const std::int64_t deadline = now_ns() + std::int64_t{kLeakSettleMs} * 1000000;
  for (unsigned polls = 0;; polls++) {
    if (no_goroutine_runnable() && count(which::active) == 0) return true;
    if (now_ns() >= deadline) return false;
    if (polls < 100) {
      sched_yield();  // most programs settle within a few goroutine switches
    } else {
      timespec pause{0, 100000};  // 100 us
      nanosleep(&pause, nullptr);
    }
  }
}

// "goroutine leak: N goroutine(s) <rest>", then the listing. Returns N.
std::size_t report(writer& out, const g_list& list, const char* rest) noexcept {
  if (!list.size()) return 0;
  out.str("goroutine leak: ")
      .num(list.size())
      .str(list.size() == 1 ? " goroutine " : " goroutines ")
      .str(rest)
      .str("\n");
  list.write(out);
  return list.size();
}

}  // namespace

int leak_report(bool (*no_goroutine_runnable)() noexcept) noexcept {
  const bool settled = settle(no_goroutine_runnable);
  g_list blocked(which::blocked, nullptr);
  // Once settled, a goroutine running now was woken from outside after the check: not one
  // that kept running all along.
  g_list active(settled ? which::none : which::active, nullptr);
  if (!blocked.size() && !active.size()) return 0;
  std::fflush(nullptr);
  writer out(2);
  std::size_t n = report(out, blocked, "still blocked when run returned");
  if (n && active.size()) out.str("\n");
  char rest[64];
  std::snprintf(rest, sizeof rest, "still running %d ms after run returned", kLeakSettleMs);
  n += report(out, active, rest);
  out.flush();
  return static_cast<int>(n);
}

}  // namespace goro::detail

namespace goro {
void dump(std::FILE* out) { detail::dump_to(out); }
}  // namespace goro
