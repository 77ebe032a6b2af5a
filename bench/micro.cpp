// goro-micro: Google Benchmark micro benchmarks of goro's primitives, one cost each.
//
// Every benchmark body runs inside a goroutine (goro::run), because most calls park or
// switch goroutines and must not be timed on a plain thread. Consequences:
//  - Times are wall-clock (UseRealTime): goroutine 1 may run on a worker thread other than the
//    benchmark's thread, so the per-thread CPU time Google Benchmark would use is meaningless.
//  - The worker count is GORO_MAXPROCS, default 1 here (not #cores): with one worker a yield or
//    a wake is a pure user-space switch, which is what these rows are meant to isolate.
//    Run with GORO_MAXPROCS=2 to see the cross-worker costs.
#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <goro/detail/spinlock.hpp>
#include <goro/goro.hpp>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

goro::options g_opts;

// Runs body(state) as goroutine 1 of a fresh goro::run.
template <class Body>
void in_goroutine(benchmark::State& state, Body body) {
  goro::run([&] { body(state); }, g_opts);
}

// Context switch: two goroutines hand the worker back and forth with yield(). One iteration is
// one yield of goroutine 1, i.e. two switches when both share one worker.
void BM_yield_pair(benchmark::State& state) {
  in_goroutine(state, [](benchmark::State& st) {
    std::atomic<bool> stop{false};
    goro::wait_group wg;
    wg.add(1);
    goro::go([&] {
      while (!stop.load(std::memory_order_relaxed)) goro::yield();
      wg.done();
    });
    for (auto _ : st) goro::yield();
    stop.store(true, std::memory_order_relaxed);
    wg.wait();
  });
  state.SetItemsProcessed(state.iterations());
}

// Uncontended buffered channel: send then recv on one goroutine; nobody ever waits.
void BM_buffered_send_recv(benchmark::State& state) {
  in_goroutine(state, [](benchmark::State& st) {
    auto ch = goro::make_chan<std::int64_t>(1);
    std::int64_t i = 0;
    for (auto _ : st) {
      ch.send(i++);
      benchmark::DoNotOptimize(ch.recv());
    }
  });
  state.SetItemsProcessed(state.iterations());
}

// The floor under every channel operation: one uncontended lock/unlock of goro's spinlock
// around a store (the xchg that takes the lock drains the store buffer). A message through a
// channel pays it twice, once for the send and once for the receive.
void BM_spinlock_pair(benchmark::State& state) {
  in_goroutine(state, [](benchmark::State& st) {
    goro::detail::spinlock lock;
    std::int64_t slot = 0;
    std::int64_t i = 0;
    for (auto _ : st) {
      lock.lock();
      slot = i++;
      benchmark::DoNotOptimize(slot);
      lock.unlock();
    }
  });
  state.SetItemsProcessed(state.iterations());
}

// Non-blocking failures, the cost of a "would block" answer.
void BM_try_send_full(benchmark::State& state) {
  in_goroutine(state, [](benchmark::State& st) {
    auto ch = goro::make_chan<std::int64_t>(1);
    ch.send(0);
    const std::int64_t v = 1;
    for (auto _ : st) benchmark::DoNotOptimize(ch.try_send(v));
  });
  state.SetItemsProcessed(state.iterations());
}

void BM_try_recv_empty(benchmark::State& state) {
  in_goroutine(state, [](benchmark::State& st) {
    auto ch = goro::make_chan<std::int64_t>(1);
    std::int64_t v = 0;
    for (auto _ : st) benchmark::DoNotOptimize(ch.try_recv(v));
  });
  state.SetItemsProcessed(state.iterations());
}

// select over K channels that are never ready, with default: a full poll pass every time.
template <std::size_t... I>
std::size_t poll_select(std::array<goro::chan<std::int64_t>, sizeof...(I)>& chans,
                        std::index_sequence<I...>) {
  return goro::select(goro::on_recv(chans[I], [](std::optional<std::int64_t>) {})...,
                      goro::on_default([] {}));
}

template <std::size_t K>
void BM_select_default(benchmark::State& state) {
  in_goroutine(state, [](benchmark::State& st) {
    std::array<goro::chan<std::int64_t>, K> chans;
    for (auto& c : chans) c = goro::make_chan<std::int64_t>(1);
    for (auto _ : st) benchmark::DoNotOptimize(poll_select(chans, std::make_index_sequence<K>{}));
  });
  state.SetItemsProcessed(state.iterations());
}

// A 2-case select with one case ready: a send into one of two buffered channels (alternating),
// then a select over both receives. One iteration is one send and one select.
void BM_send_select_ready(benchmark::State& state) {
  in_goroutine(state, [](benchmark::State& st) {
    std::array<goro::chan<std::int64_t>, 2> chans{goro::make_chan<std::int64_t>(1),
                                                  goro::make_chan<std::int64_t>(1)};
    std::int64_t i = 0, got = 0;
    for (auto _ : st) {
      chans[i & 1].send(i);
      i++;
      goro::select(goro::on_recv(chans[0], [&](std::optional<std::int64_t> v) { got = *v; }),
                   goro::on_recv(chans[1], [&](std::optional<std::int64_t> v) { got = *v; }));
      benchmark::DoNotOptimize(got);
    }
  });
  state.SetItemsProcessed(state.iterations());
}

// Spawn and join one goroutine at a time: stack from the pool, first run, exit, wake of the
// waiter.
void BM_spawn_join(benchmark::State& state) {
  in_goroutine(state, [](benchmark::State& st) {
    for (auto _ : st) {
      goro::wait_group wg;
      wg.add(1);
      goro::go([&wg] { wg.done(); });
      wg.wait();
    }
  });
  state.SetItemsProcessed(state.iterations());
}

// Wake of a parked goroutine: unbuffered ping-pong, one iteration is one round trip (two
// parks and two wakes).
void BM_unbuffered_pingpong_body(benchmark::State& st) {
  auto ping = goro::make_chan<std::int64_t>();
  auto pong = goro::make_chan<std::int64_t>();
  goro::wait_group wg;
  wg.add(1);
  goro::go([&] {
    while (auto v = ping.recv()) pong.send(*v);
    wg.done();
  });
  std::int64_t i = 0;
  for (auto _ : st) {
    ping.send(i++);
    benchmark::DoNotOptimize(pong.recv());
  }
  ping.close();
  wg.wait();
}

void BM_unbuffered_pingpong(benchmark::State& state) {
  in_goroutine(state, [](benchmark::State& st) { BM_unbuffered_pingpong_body(st); });
  state.SetItemsProcessed(state.iterations());
}

// The same with a timer pending the whole time (a long timeout somewhere in the program):
// the scheduler checks timers between goroutines, and should pay only when one is due.
void BM_unbuffered_pingpong_timer_pending(benchmark::State& state) {
  in_goroutine(state, [](benchmark::State& st) {
    goro::timer t(std::chrono::hours(1));
    BM_unbuffered_pingpong_body(st);
    t.stop();
  });
  state.SetItemsProcessed(state.iterations());
}

// Go's `select { case v := <-ch: ...; case <-time.After(time.Hour): ... }` in a loop, with
// ch always ready: what one after() costs when it never fires (made, put in a heap, and
// removed when the select's temporary handle goes).
void BM_select_ready_with_after_timeout(benchmark::State& state) {
  in_goroutine(state, [](benchmark::State& st) {
    auto ch = goro::make_chan<int>(1);
    long sum = 0;
    for (auto _ : st) {
      ch.send(1);
      goro::select(goro::on_recv(ch, [&](std::optional<int> v) { sum += *v; }),
                   goro::on_recv(goro::after(std::chrono::hours(1)), [] {}));
    }
    benchmark::DoNotOptimize(sum);
  });
  state.SetItemsProcessed(state.iterations());
}

// ---- Go's sync and context benchmarks, with Go's definition of ns/op --------------------------
// `go test -bench . sync context` runs the same scenarios. Go's b.RunParallel splits b.N
// operations over GOMAXPROCS goroutines and reports wall time / b.N; run_parallel does the same
// over GORO_MAXPROCS goroutines (KeepRunningBatch: one batch of all the operations), so the
// Time column here is Go's ns/op.

// body(ops) runs `ops` operations on the calling goroutine (its own state set up inside).
template <class Body>
void run_parallel(benchmark::State& state, Body body) {
  in_goroutine(state, [&](benchmark::State& st) {
    const auto n = static_cast<std::int64_t>(st.max_iterations);
    const unsigned procs = g_opts.max_procs;
    while (st.KeepRunningBatch(st.max_iterations)) {
      goro::wait_group wg;
      wg.add(static_cast<int>(procs));
      for (unsigned i = 0; i < procs; i++) {
        const std::int64_t ops = n / procs + (i < n % procs ? 1 : 0);
        goro::go([&body, &wg, ops] {
          body(ops);
          wg.done();
        });
      }
      wg.wait();
    }
  });
}

// Go's BenchmarkRWMutexUncontended: each goroutine its own (padded) rwmutex.
void BM_go_RWMutexUncontended(benchmark::State& state) {
  run_parallel(state, [](std::int64_t ops) {
    struct alignas(64) padded {
      goro::rwmutex m;
    } rwm;
    for (std::int64_t i = 0; i < ops; i++) {
      rwm.m.lock_shared();
      rwm.m.lock_shared();
      rwm.m.unlock_shared();
      rwm.m.unlock_shared();
      rwm.m.lock();
      rwm.m.unlock();
    }
  });
}

// Go's BenchmarkMutexUncontended.
void BM_go_MutexUncontended(benchmark::State& state) {
  run_parallel(state, [](std::int64_t ops) {
    struct alignas(64) padded {
      goro::mutex m;
    } mu;
    for (std::int64_t i = 0; i < ops; i++) {
      mu.m.lock();
      mu.m.unlock();
    }
  });
}

// Go's BenchmarkOnce: every goroutine calls one once, done after the first call.
void BM_go_Once(benchmark::State& state) {
  goro::once once;
  run_parallel(state, [&once](std::int64_t ops) {
    for (std::int64_t i = 0; i < ops; i++) once.call([] {});
  });
}

// Go's BenchmarkCond32: 33 goroutines take turns on one cond; an operation is one round.
void BM_go_Cond32(benchmark::State& state) {
  in_goroutine(state, [](benchmark::State& st) {
    constexpr int waiters = 32;
    const auto n = static_cast<std::int64_t>(st.max_iterations);
    while (st.KeepRunningBatch(st.max_iterations)) {
      goro::mutex m;
      goro::cond c(m);
      int id = 0;
      goro::wait_group wg;
      wg.add(waiters + 1);
      for (int g = 0; g < waiters + 1; g++) {
        goro::go([&] {
          for (std::int64_t i = 0; i < n; i++) {
            std::unique_lock lock(m);
            if (id == -1) break;
            if (++id == waiters + 1) {
              id = 0;
              c.broadcast();
            } else {
              c.wait();
            }
          }
          {
            std::unique_lock lock(m);
            id = -1;
            c.broadcast();
          }
          wg.done();
        });
      }
      wg.wait();
    }
  });
}

// Go's BenchmarkCancelTree/depth=N/Root=Background: a chain of N with_cancel contexts, dropped.
void BM_go_CancelTree(benchmark::State& state) {
  const auto depth = state.range(0);
  in_goroutine(state, [depth](benchmark::State& st) {
    for (auto _ : st) {
      goro::context root = goro::background();
      for (std::int64_t d = 0; d < depth; d++) root = goro::with_cancel(root).first;
    }
  });
}

// Go's BenchmarkContextCancelDone: a non-blocking select on a live context's done().
void BM_go_ContextCancelDone(benchmark::State& state) {
  const auto live = goro::with_cancel(goro::background());
  const goro::context& ctx = live.first;
  run_parallel(state, [&ctx](std::int64_t ops) {
    for (std::int64_t i = 0; i < ops; i++)
      goro::select(goro::on_recv(ctx.done(), [] {}), goro::on_default([] {}));
  });
  live.second();
}

// Go's BenchmarkWithTimeout/concurrency=40: 40 live timeouts, and each operation makes and
// cancels 10 more.
void BM_go_WithTimeout(benchmark::State& state) {
  constexpr int concurrency = 40;
  std::vector<goro::cancel_func> live;
  live.reserve(concurrency);
  for (int i = 0; i < concurrency; i++)
    live.push_back(goro::with_timeout(goro::background(), std::chrono::hours(1)).second);
  run_parallel(state, [](std::int64_t ops) {
    std::array<goro::cancel_func, 10> cancels;
    for (std::int64_t i = 0; i < ops; i++) {
      for (auto& c : cancels)
        c = goro::with_timeout(goro::background(), std::chrono::hours(1)).second;
      for (auto& c : cancels) c();
    }
  });
  for (auto& c : live) c();
}

BENCHMARK(BM_yield_pair)->UseRealTime();
BENCHMARK(BM_spinlock_pair)->UseRealTime();
BENCHMARK(BM_buffered_send_recv)->UseRealTime();
BENCHMARK(BM_try_send_full)->UseRealTime();
BENCHMARK(BM_try_recv_empty)->UseRealTime();
BENCHMARK(BM_select_default<2>)->Name("BM_select_default/2")->UseRealTime();
BENCHMARK(BM_select_default<8>)->Name("BM_select_default/8")->UseRealTime();
BENCHMARK(BM_send_select_ready)->UseRealTime();
BENCHMARK(BM_spawn_join)->UseRealTime();
BENCHMARK(BM_unbuffered_pingpong)->UseRealTime();
BENCHMARK(BM_unbuffered_pingpong_timer_pending)->UseRealTime();
BENCHMARK(BM_select_ready_with_after_timeout)->UseRealTime();
BENCHMARK(BM_go_RWMutexUncontended)->UseRealTime();
BENCHMARK(BM_go_MutexUncontended)->UseRealTime();
BENCHMARK(BM_go_Once)->UseRealTime();
BENCHMARK(BM_go_Cond32)->UseRealTime();
BENCHMARK(BM_go_CancelTree)->Arg(10)->Arg(100)->Arg(1000)->UseRealTime();
BENCHMARK(BM_go_ContextCancelDone)->UseRealTime();
BENCHMARK(BM_go_WithTimeout)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  g_opts.max_procs = 1;
  if (const char* s = std::getenv("GORO_MAXPROCS")) {
    if (int p = std::atoi(s); p > 0) g_opts.max_procs = static_cast<unsigned>(p);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("goro_maxprocs", std::to_string(g_opts.max_procs));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
