// goro/runtime.hpp: starting goroutines and the scheduler's public controls.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <new>
#include <tuple>
#include <type_traits>
#include <utility>

#include "goro/detail/core.hpp"
#include "goro/source_location.hpp"

namespace goro {

// Runtime settings. They take effect when the runtime starts (the first run() or go()); a later
// run() with a different non-zero max_procs resizes the worker pool, and a different non-zero
// stack_size applies to stacks made from then on (a worker first uses up the few stacks it has
// cached, of the old size).
struct options {
  unsigned max_procs = 0;      // worker threads; 0 = $GORO_MAXPROCS or the CPUs this process
                               // may use (see max_procs() below)
  std::size_t stack_size = 0;  // bytes per goroutine stack; 0 = $GORO_STACK_SIZE or 256 KiB
                               // (1 MiB under sanitizers). Virtual: pages are committed on use.
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
}  // namespace debug

}  // namespace goro
