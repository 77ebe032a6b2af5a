// test_util.hpp: what every goro runtime test shares.
//
// - goro_test::runtime_test: a gtest fixture whose TearDown checks that the test left no
//   goroutine and no goroutine stack behind.
// - sanitizer detection and count scaling, so one test source serves release, ASan and TSan.
// - configured_max_procs(): the worker count this ctest variant asked for.
// - panic_text(): the text of the goro::panic_error a call throws.
// - wait_until_parked(): waits until goro::dump() shows a goroutine parked for a wait reason.
#pragma once

#include <gtest/gtest.h>
#include <sched.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <goro/goro.hpp>
#include <string>
#include <thread>
#include <utility>

#if defined(__SANITIZE_ADDRESS__)
#define GORO_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GORO_TEST_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define GORO_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GORO_TEST_TSAN 1
#endif
#endif

// A function the optimizer must treat as unknown at every call (no inlining, no
// interprocedural deductions): for reading a thread-local afresh after a switch.
#if defined(__clang__)
#define GORO_TEST_OPAQUE __attribute__((noinline, optnone))
#else
#define GORO_TEST_OPAQUE __attribute__((noinline, noipa))
#endif

namespace goro_test {

#if defined(GORO_TEST_ASAN)
inline constexpr bool asan = true;
#else
inline constexpr bool asan = false;
#endif
#if defined(GORO_TEST_TSAN)
inline constexpr bool tsan = true;
#else
inline constexpr bool tsan = false;
#endif
inline constexpr bool sanitized = asan || tsan;

// `release` in an uninstrumented build, `tsan` under TSan (which makes every goroutine a TSan
// fiber and every atomic a library call), `asan` under ASan+UBSan.
constexpr std::size_t scaled(std::size_t release, std::size_t asan_count, std::size_t tsan_count) {
  return tsan ? tsan_count : asan ? asan_count : release;
}

// The worker count requested through GORO_MAXPROCS, or 0 when unset. Tests use it only to
// decide which orderings they may assert (a strict turn order needs exactly one worker).
inline unsigned configured_max_procs() {
  const char* v = std::getenv("GORO_MAXPROCS");
  return v ? static_cast<unsigned>(std::strtoul(v, nullptr, 10)) : 0;
}

// Waits until every goroutine has finished and returned its stack, or `limit` passes.
// A goroutine that called wg.done() may still be on its way out when run() returns, so the
// count is polled rather than read once; the poll yields instead of sleeping a fixed time.
inline bool wait_until_quiescent(std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (unsigned spins = 0;; ++spins) {
    if (goro::num_goroutine() == 0 && goro::debug::live_stacks() == 0) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    if (spins < 10000) {
      sched_yield();
    } else {
      // Slow exits (sanitizers, an oversubscribed CI machine): stop burning the core the
      // exiting goroutines need.
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }
}

// Runs `fn` and returns the what() of the goro::panic_error it throws, or "<no panic>".
// Any other exception escapes (and fails the test as a panic).
template <class F>
std::string panic_text(F&& fn) {
  try {
    std::forward<F>(fn)();
  } catch (const goro::panic_error& e) {
    return e.what();
  }
  return "<no panic>";
}

// What goro::dump() prints now.
inline std::string dump_now() {
  char* buf = nullptr;
  std::size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  if (!f) return {};
  goro::dump(f);
  std::fclose(f);
  std::string text(buf, len);
  std::free(buf);
  return text;
}

// Yields until goro::dump() shows goroutine `id` parked for `reason` (Go's words, e.g.
// "sync.RWMutex.RLock"): a way to know that a goroutine has really blocked, with no clock. The
// goroutine must stay blocked until the caller acts, or this may spin for ever (ctest's
// timeout then fails the test).
inline void wait_until_parked(std::uint64_t id, const std::string& reason) {
  const std::string line = "goroutine " + std::to_string(id) + " [" + reason + "]:";
  while (dump_now().find(line) == std::string::npos) goro::yield();
}

// Calls wg.done() when the scope ends, however it ends: a goroutine that stops early on a
// failed ASSERT_* still releases its waiter, so the test fails instead of ending in a deadlock
// report.
class done_guard {
 public:
  explicit done_guard(goro::wait_group& wg) : wg_(wg) {}
  done_guard(const done_guard&) = delete;
  done_guard& operator=(const done_guard&) = delete;
  ~done_guard() { wg_.done(); }

 private:
  goro::wait_group& wg_;
};

// The leak check every runtime test ends with: no goroutine and no goroutine stack is left,
// once those on their way out have finished (waited for up to 10 s: the bound only turns a
// real leak into a failure instead of a hang).
inline void expect_nothing_leaked() {
  wait_until_quiescent(std::chrono::seconds(10));
  EXPECT_EQ(goro::num_goroutine(), 0u) << "goroutines leaked by this test";
  EXPECT_EQ(goro::debug::live_stacks(), 0u) << "goroutine stacks leaked by this test";
}

// Fixture for tests that run goroutines: afterwards nothing may be left alive.
class runtime_test : public ::testing::Test {
 protected:
  void TearDown() override { expect_nothing_leaked(); }
};

}  // namespace goro_test
