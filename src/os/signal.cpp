// src/os: layer 9, where the program meets the operating system. signal.cpp: os::notify and
// os::stop (goro/os.hpp), Go's os/signal: signals become channel sends.
//
// The path of a signal:
//  1. on_signal(), the handler, runs on whichever thread the kernel picked, maybe inside malloc
//     or holding a lock, so it does only what is async-signal-safe: it sets the signal's
//     `pending` flag and, if the flag was clear, sets `wake` and wakes the relay thread with one
//     futex syscall. Lock-free atomics and a raw syscall, nothing else; errno is restored.
//     Two deliveries of a signal before the relay takes the flag make one send (Go's sigsend
//     sets a bit in a mask the same way).
//  2. The relay thread, a plain OS thread (not a goroutine: it must run while every worker is
//     busy), started by the first notify and never ended, sleeps on `wake`. Woken, it clears
//     `wake`, then takes each set `pending` flag and, under `mu`, try_sends the signal number
//     to every channel registered for it (Go's process(): a full channel drops it).
// A handler that sets a flag after the relay looked at it also sets `wake` after the relay
// cleared it (seq_cst: the flag, then `wake`; the relay: `wake`, then the flags), so the relay's
// next wait returns at once: no signal is left behind.
//
// Invariants (the relay_state fields, all under relay_state::mu):
//  - regs has one entry per registered channel, with the signals it wants (never none).
//  - watchers[s] counts the entries that want s; our handler is installed for s exactly while
//    watchers[s] > 0, and saved[s] is the disposition it replaced (restored when it drops to 0).
//  - Signal numbers are sent only under mu: once stop(ch) has taken ch out of regs, under mu,
//    nothing more is sent to it.
//  - The deadlock detector is told of each entry (deadlock_external_wakers, +1 when a channel
//    is registered, -1 when it stops), and of the relay thread once it exists
//    (deadlock_count_service_thread): it never parks in a goro call, and must not veto a
//    report after the last stop().
// `in_flight` (outside mu) counts handlers running now, for stop(): see there.
#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <atomic>
#include <bitset>
#include <cerrno>
#include <cstdint>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "base/clock.hpp"
#include "base/futex.hpp"
#include "base/sanitizers.hpp"
#include "diag/diag.hpp"
#include "goro/errors.hpp"
#include "goro/os.hpp"
#include "sched/sched.hpp"

namespace goro::os {

namespace {

constexpr int kNsig = NSIG;  // signal numbers are 1 .. kNsig - 1 (64 on Linux)

// What the handler touches: constant-initialized, so no lazy initialization runs in a handler.
constinit std::atomic<std::uint32_t> pending[kNsig] = {};  // 1: caught, not yet relayed
constinit std::atomic<std::uint32_t> wake{0};              // 1: the relay has flags to look at
constinit std::atomic<int> in_flight{0};                   // handlers running now

void on_signal(int sig) {
  const int saved_errno = errno;
  in_flight.fetch_add(1, std::memory_order_seq_cst);
  if (sig > 0 && sig < kNsig && pending[sig].exchange(1, std::memory_order_seq_cst) == 0) {
    wake.store(1, std::memory_order_seq_cst);
    detail::futex_wake_one(&wake);
  }
  in_flight.fetch_sub(1, std::memory_order_seq_cst);
  errno = saved_errno;
}

struct registration {
  send_chan<int> ch;
  std::bitset<kNsig> wants;
};

struct relay_state {
  std::mutex mu;
  std::vector<registration> regs;      // mu
  int watchers[kNsig] = {};            // mu
  struct sigaction saved[kNsig] = {};  // mu
  bool relay_started = false;          // mu
};

relay_state& R() {
  static relay_state* r = new relay_state;  // never destroyed: the relay thread outlives exit()
  return *r;
}

// ---- Which signals may be relayed -----------------------------------------------------------

const char* name_of(int sig) noexcept {
  switch (sig) {
    case SIGKILL:
      return "SIGKILL";
    case SIGSTOP:
      return "SIGSTOP";
    case SIGSEGV:
      return "SIGSEGV";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGILL:
      return "SIGILL";
    case SIGTRAP:
      return "SIGTRAP";
    case SIGSYS:
      return "SIGSYS";
    default:
      return nullptr;
  }
}

// Why `sig` cannot be relayed, or null if it can.
const char* refusal(int sig) noexcept {
  if (sig <= 0 || sig >= kNsig || sig > SIGRTMAX || (sig >= 32 && sig < SIGRTMIN))
    return "is not a signal number that can be caught";
  if (sig == SIGKILL || sig == SIGSTOP) return "cannot be caught";
  if (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGTRAP ||
      sig == SIGSYS)
    return "is synchronous: the kernel raises it on a fault of the instruction just run, which a "
           "handler that returns would run again";
  return nullptr;
}

std::bitset<kNsig> signals_of(std::initializer_list<int> signals) {
  std::bitset<kNsig> set;
  if (signals.size() == 0) {  // Go: no signals means all of them
    for (int s = 1; s < kNsig; s++)
      if (!refusal(s)) set.set(static_cast<std::size_t>(s));
    return set;
  }
  for (int s : signals) {
    if (const char* why = refusal(s)) {
      const char* name = name_of(s);
      throw std::invalid_argument("goro::os::notify: signal " + std::to_string(s) +
                                  (name ? std::string(" (") + name + ")" : std::string()) + " " +
                                  why);
    }
    set.set(static_cast<std::size_t>(s));
  }
  return set;
}

// ---- Relaying (mu held) ----------------------------------------------------------------------

void send_locked(const send_chan<int>& ch, int sig) noexcept {
  try {
    (void)ch.try_send(sig);  // not_ready: the buffer is full, the signal is dropped (as in Go)
  } catch (const std::exception& e) {  // a closed channel: Go's signal loop panics too
    detail::fatal_panic(e.what());
  }
}

// Takes every pending flag and sends its signal to each registered channel that wants it, and
// to `stopping` (just taken out of regs by stop()) if that wants it.
void deliver_locked(relay_state& r, const registration* stopping) noexcept {
  for (int s = 1; s < kNsig; s++) {
    if (pending[s].load(std::memory_order_seq_cst) == 0 ||
        pending[s].exchange(0, std::memory_order_seq_cst) == 0)
      continue;
    const auto bit = static_cast<std::size_t>(s);
    for (const registration& reg : r.regs)
      if (reg.wants[bit]) send_locked(reg.ch, s);
    if (stopping && stopping->wants[bit]) send_locked(stopping->ch, s);
  }
}

void* relay_main(void*) {
  relay_state& r = R();
  for (;;) {
    detail::futex_wait_nonzero(&wake, detail::kNever);
    wake.store(0, std::memory_order_seq_cst);  // before looking at the flags: see the top
    std::lock_guard<std::mutex> lk(r.mu);
    deliver_locked(r, nullptr);
  }
  return nullptr;
}

void start_relay_locked(relay_state& r) {
  if (r.relay_started) return;
  // The relay blocks every signal (it inherits this thread's mask), so that handlers run on
  // the program's threads and the relay's waits are never interrupted.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);  // as the workers (lifecycle.cpp)
  pthread_t th;
  const int rc = pthread_create(&th, &attr, relay_main, nullptr);
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (rc != 0)
    throw std::system_error(rc, std::generic_category(),
                            "goro::os::notify: cannot start the signal relay thread");
  pthread_setname_np(th, "goro-signal");
  r.relay_started = true;
  detail::deadlock_count_service_thread();
}

void install_locked(relay_state& r, int sig) {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  // SA_RESTART: a system call the signal interrupts resumes instead of failing with EINTR (Go
  // installs its handlers so too). SA_ONSTACK: on a worker, the handler runs on its alternate
  // stack, not on the goroutine's.
  sa.sa_flags = SA_RESTART | SA_ONSTACK;
#ifdef GORO_TSAN
  // Not under TSan: it runs a handler only inside calls it intercepts or at the thread's next
  // instrumented code, so a signal that lands on a thread asleep in the runtime's raw futex
  // wait (an idle worker, run()'s caller) would wait there for ever, the wait being restarted.
  // Interrupted instead, the wait re-reads its word, an instrumented load, and the handler runs.
  sa.sa_flags &= ~SA_RESTART;
#endif
  sigfillset(&sa.sa_mask);
  sigaction(sig, &sa, &r.saved[sig]);
}

registration* find_locked(relay_state& r, const send_chan<int>& ch) noexcept {
  for (registration& reg : r.regs)
    if (reg.ch == ch) return &reg;
  return nullptr;
}

}  // namespace

void notify(send_chan<int> ch, std::initializer_list<int> signals) {
  if (!ch) throw panic_error("os/signal: Notify using nil channel");
  const std::bitset<kNsig> wanted = signals_of(signals);  // throws before anything changes
  // The runtime first: its SIGQUIT handler is then what a last stop() restores, and under TSan
  // it counts the sanitizer's own thread (started by the first pthread_create) before ours.
  detail::ensure_started(nullptr);
  relay_state& r = R();
  std::lock_guard<std::mutex> lk(r.mu);
  start_relay_locked(r);
  registration* reg = find_locked(r, ch);
  if (!reg) {
    r.regs.push_back(registration{std::move(ch), {}});
    reg = &r.regs.back();
    detail::deadlock_external_wakers(1);
  }
  for (int s = 1; s < kNsig; s++) {
    const auto bit = static_cast<std::size_t>(s);
    if (!wanted[bit] || reg->wants[bit]) continue;
    reg->wants.set(bit);
    if (r.watchers[s]++ == 0) install_locked(r, s);
  }
}

void stop(send_chan<int> ch) {
  if (!ch) return;
  relay_state& r = R();
  std::lock_guard<std::mutex> lk(r.mu);
  registration* reg = find_locked(r, ch);
  if (!reg) return;
  registration gone = std::move(*reg);
  r.regs.erase(r.regs.begin() + (reg - r.regs.data()));
  for (int s = 1; s < kNsig; s++)
    if (gone.wants[static_cast<std::size_t>(s)] && --r.watchers[s] == 0)
      sigaction(s, &r.saved[s], nullptr);
  // Go's signalWaitUntilIdle: a signal caught before its disposition was restored is sent to
  // ch, not lost. A handler that has begun has its flag set once in_flight is 0 (it increments
  // before, decrements after), and the pass below sends what is pending, to ch too. The one
  // gap, as in Go: a handler the kernel has entered but that has not yet counted itself.
  while (in_flight.load(std::memory_order_seq_cst) != 0) sched_yield();
  deliver_locked(r, &gone);
  detail::deadlock_external_wakers(-1);
}

}  // namespace goro::os
