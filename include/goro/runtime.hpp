// goro/runtime.hpp: starting goroutines and the scheduler's public controls.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "goro/detail/core.hpp"
#include "goro/source_location.hpp"

#pragma GCC visibility push(default)  // exported from libgoro.so: see CMakeLists.txt
namespace goro {

// Runtime settings. They take effect when the runtime starts (the first run() or go()); a later
// run() with a different non-zero max_procs resizes the worker pool, and a different non-zero
// stack_size applies to stacks made from then on (a worker first uses up the few stacks it has
// cached, of the old size).
struct options {
  unsigned max_procs = 0;      // processors (threads running goroutines at once); 0 =
                               // $GORO_MAXPROCS or the CPUs this process may use (see
                               // max_procs() below)
  std::size_t stack_size = 0;  // bytes per goroutine stack; 0 = $GORO_STACK_SIZE or 256 KiB
                               // (1 MiB under sanitizers). Virtual: pages are committed on use.
  // Threads the runtime may create over the program's life, 0 = $GORO_MAXTHREADS or 10,000
  // (Go's limit). Going past it ends the program as Go does: "runtime: program exceeds N-thread
  // limit", "fatal error: thread exhaustion", the dump, exit status 2. Fixed at the first start.
  unsigned max_threads = 0;
};

namespace detail {

struct invoke_fwd_t {
  template <class F, class... A>
  decltype(auto) operator()(F& f, A&... a) const {
    return std::invoke(std::move(f), std::move(a)...);
  }
};

template <class F, class... Args>
void spawn(const goro::source_location& where, F&& f, Args&&... args) {
  using tuple_t = std::tuple<std::decay_t<F>, std::decay_t<Args>...>;
  static constexpr closure_ops ops{
      [](void* p) { std::apply(invoke_fwd_t{}, *static_cast<tuple_t*>(p)); },
      [](void* p) noexcept { static_cast<tuple_t*>(p)->~tuple_t(); }};
  goroutine* g = nullptr;
  void* mem = goroutine_alloc(sizeof(tuple_t), alignof(tuple_t), &g);
  try {
    ::new (mem) tuple_t(std::forward<F>(f), std::forward<Args>(args)...);
  } catch (...) {
    goroutine_abandon(g);
    throw;
  }
  goroutine_launch(g, &ops, where);
}

}  // namespace detail

// Starts std::invoke(decay-copy(f), decay-copy(args)...) as a new goroutine and returns at once.
// Works in a goroutine or on a plain thread (the runtime then starts with default options). The
// call site is remembered for diagnostics. Everything the caller did before go() happens before
// the goroutine starts. An exception escaping the goroutine ends the program like a Go panic.
// One overload per argument count (up to 6), so that the call site can follow the arguments
// as a defaulted parameter. Not a variadic class template: `goro::go(f);` would declare a
// variable named f.
template <class F>
void go(F&& f, goro::source_location where = goro::source_location::current()) {
  detail::spawn(where, std::forward<F>(f));
}
template <class F, class A1>
void go(F&& f, A1&& a1, goro::source_location where = goro::source_location::current()) {
  detail::spawn(where, std::forward<F>(f), std::forward<A1>(a1));
}
template <class F, class A1, class A2>
void go(F&& f, A1&& a1, A2&& a2, goro::source_location where = goro::source_location::current()) {
  detail::spawn(where, std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2));
}
template <class F, class A1, class A2, class A3>
void go(F&& f, A1&& a1, A2&& a2, A3&& a3,
        goro::source_location where = goro::source_location::current()) {
  detail::spawn(where, std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2),
                std::forward<A3>(a3));
}
template <class F, class A1, class A2, class A3, class A4>
void go(F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4,
        goro::source_location where = goro::source_location::current()) {
  detail::spawn(where, std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2),
                std::forward<A3>(a3), std::forward<A4>(a4));
}
template <class F, class A1, class A2, class A3, class A4, class A5>
void go(F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, A5&& a5,
        goro::source_location where = goro::source_location::current()) {
  detail::spawn(where, std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2),
                std::forward<A3>(a3), std::forward<A4>(a4), std::forward<A5>(a5));
}
template <class F, class A1, class A2, class A3, class A4, class A5, class A6>
void go(F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, A5&& a5, A6&& a6,
        goro::source_location where = goro::source_location::current()) {
  detail::spawn(where, std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2),
                std::forward<A3>(a3), std::forward<A4>(a4), std::forward<A5>(a5),
                std::forward<A6>(a6));
}

// Runs main_fn as goroutine 1 and returns its int result (0 for void) once it returns. Like Go's
// main, it does not wait for other goroutines. While it runs, the deadlock detector is armed.
// Must be called from a plain thread, not from a goroutine, and calls must not overlap: either
// mistake throws std::logic_error.
template <class F>
int run(F&& main_fn, options opts = {},
        goro::source_location where = goro::source_location::current()) {
  struct ctx {
    F& f;
    int result = 0;
  } c{main_fn};
  detail::run_main(
      [](void* p) {
        auto* cp = static_cast<ctx*>(p);
        if constexpr (std::is_void_v<std::invoke_result_t<F&>>)
          std::invoke(cp->f);
        else
          cp->result = static_cast<int>(std::invoke(cp->f));
      },
      &c, opts, where);
  return c.result;
}

namespace detail {
goroutine* blocking_enter(const goro::source_location& where) noexcept;
void blocking_exit(goroutine* g) noexcept;
struct blocking_scope {
  goroutine* g;
  ~blocking_scope() {
    if (g) blocking_exit(g);
  }
};
}  // namespace detail

// Runs f() on the calling goroutine's thread and returns its result (an exception from f
// propagates), while the goroutine's processor may go on with the goroutines queued behind it
// on another thread: wrap calls that may block in the OS (read on a pipe or a file, a database
// client, std::mutex, a C library). A short call keeps the processor and costs a few plain
// loads and stores beside the call itself (no atomic read-modify-write, no fence); once the
// call has lasted about 20 µs (one to two looks of the runtime's monitor thread) while other
// goroutines wait for that processor, the processor is handed to another thread, as Go's
// retake does. A goroutine whose last call lost its processor is taken to block again: its next
// call hands the processor on at once if goroutines wait for it (as Go does for calls it knows
// to block), and a call that keeps its processor ends that. On return the goroutine continues
// on its processor if it kept it; otherwise it queues for any processor and its thread parks
// as a spare (up to 16 spares are kept; more end), so it may continue on another thread.
// Inside f the goroutine counts as a thread: goro calls there (channel operations, locks,
// sleeps) block the thread, as on a plain thread, and goro::go() starts goroutines as from a
// plain thread; goroutine_id() still answers. Dumps show the goroutine as [syscall], blocked at
// `where`, and the deadlock detector counts it as able to wake others.
// On a plain thread, or nested inside another blocking(), it just calls f().
template <class F>
std::invoke_result_t<F&> blocking(F&& f,
                                  goro::source_location where = goro::source_location::current()) {
  detail::blocking_scope scope{detail::blocking_enter(where)};
  return std::invoke(f);
}

// Go's runtime.LockOSThread / UnlockOSThread: while locked, the calling goroutine always runs
// on the thread it runs on now, and that thread runs no other goroutine (for C libraries that
// keep per-thread state: OpenGL, some database clients, thread-local errno-style APIs). When
// the goroutine parks, its processor goes on with others on another thread, and comes back
// with the goroutine (a thread switch each way, as in Go). Calls nest: the goroutine is
// unlocked after as many unlock_os_thread() calls. A goroutine that ends locked frees its
// thread for others (Go ends the thread instead). On a plain thread, or inside blocking(),
// they do nothing.
void lock_os_thread() noexcept;
void unlock_os_thread() noexcept;

// Go's runtime.Gosched: lets other goroutines run, then continues. On a plain thread it yields
// the thread.
void yield();

// 1 for run()'s main goroutine, a unique positive id for every other goroutine, 0 on a plain
// thread.
std::uint64_t goroutine_id() noexcept;

// The number of goroutines that exist (started and not yet returned).
std::size_t num_goroutine() noexcept;

// Go's runtime.GOMAXPROCS(0): how many worker threads run goroutines now. Unless run() or
// $GORO_MAXPROCS set it, that is the number of CPUs this process may use, as Go 1.25 counts
// them: the CPUs of its affinity mask (taskset, cpusets), lowered to its cgroup's CPU quota
// rounded up (at least 2). Starts the runtime with default options if it has not started, as
// go() does.
unsigned max_procs();

// Parks the calling goroutine (its worker runs others meanwhile) or sleeps the calling thread.
void sleep_for(std::chrono::nanoseconds d,
               goro::source_location where = goro::source_location::current());
void sleep_until(std::chrono::steady_clock::time_point t,
                 goro::source_location where = goro::source_location::current());

// Prints every goroutine as a deadlock report does (id, state, wait reason, blocking site,
// creation site) without stopping anything.
void dump(std::FILE* out = stderr);

namespace debug {
// Stacks currently owned by goroutines (pooled stacks do not count). For leak checks in tests.
std::size_t live_stacks() noexcept;
// What a dump would print in the brackets for goroutine `id` ("running", "runnable", "chan
// receive", "syscall", ...), or "" if it does not exist (any more). A racy snapshot: for tests
// that must wait until a goroutine has parked.
std::string goroutine_status(std::uint64_t id);
// Threads the runtime runs now (processor holders, spares, those inside blocking(), and its
// monitor), and how many of them are parked spares.
std::size_t runtime_threads() noexcept;
std::size_t spare_threads() noexcept;
}  // namespace debug

}  // namespace goro
#pragma GCC visibility pop
