// run() called again with another max_procs resizes the worker pool, both ways, many times
// over, while timers, sleeps and channels are in use.
//
// Regression: growing the pool woke every worker, busy ones too. A busy worker kept the stray
// wake in its park word, so its next idle wait returned at once with the worker still on the
// idle list, and its next idle push linked it to itself: the idle list became a cycle and
// every worker spun on the idle lock (3 -> 4 hung about one run in two). Shrinking it could
// leave the spinning token with a worker gone dormant, so wakep() never woke anyone again and
// the next run()'s first goroutine sat in the global queue while the last worker slept.
#include <vector>

#include "test_util.hpp"

namespace {

using namespace std::chrono_literals;
using goro_test::scaled;

// What each run does: the timer kinds, a sleep, and channel traffic among a few goroutines.
int workload() {
  for (int i = 0; i < 3; i++) goro::after(1ms).recv();
  goro::sleep_for(1ms);
  goro::timer t(1ms);
  t.c().recv();
  goro::ticker tk(500us);
  tk.c().recv();
  tk.c().recv();
  auto ch = goro::make_chan<int>();
  auto sum = goro::make_chan<int>(4);
  for (int g = 0; g < 4; g++) {
    goro::go([ch, sum]() mutable {
      int s = 0;
      for (int v : ch) s += v;
      sum.send(s);
    });
  }
  for (int v = 1; v <= 100; v++) ch.send(v);
  ch.close();
  int total = 0;
  for (int g = 0; g < 4; g++) total += *sum.recv();
  return total;
}

class resize_test : public goro_test::runtime_test {
 protected:
  void TearDown() override {
    // Leave the pool as the ctest variant configured it, for nothing else, but tidily.
    goro::run([] {}, {.max_procs = goro_test::configured_max_procs()});
    runtime_test::TearDown();
  }
};

TEST_F(resize_test, EveryPairOfSizesBothWays) {
  for (unsigned a = 1; a <= 5; a++) {
    for (unsigned b = 1; b <= 5; b++) {
      if (a == b) continue;
      for (int rep = 0; rep < static_cast<int>(scaled(4, 2, 1)); rep++) {
        ASSERT_EQ(goro::run(workload, {.max_procs = a}), 5050) << a << " -> " << b;
        ASSERT_EQ(goro::run(workload, {.max_procs = b}), 5050) << a << " -> " << b;
      }
    }
  }
}

TEST_F(resize_test, RandomSizesManyTimes) {
  std::uint64_t seed = 0x5eed;
  const int runs = static_cast<int>(scaled(200, 60, 30));
  for (int i = 0; i < runs; i++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    const auto procs = static_cast<unsigned>(1 + (seed >> 33) % 6);
    ASSERT_EQ(goro::run(workload, {.max_procs = procs}), 5050)
        << "run " << i << ", procs " << procs;
  }
}

}  // namespace
