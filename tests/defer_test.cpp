// goro::defer (goro/defer.hpp): runs once at scope exit, in reverse order of declaration, on
// every way out of the scope; an exception from the callable leaves the scope; and the Go idiom
// `defer wg.Done()` in goroutines, with early returns, panics caught inside the goroutine, and a
// deferred close that ends a consumer's range-for.
#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "test_util.hpp"

namespace {

using goro_test::runtime_test;
using goro_test::scaled;

using defer_test = runtime_test;

static_assert(!std::is_copy_constructible_v<goro::defer<void (*)()>>);
static_assert(!std::is_move_constructible_v<goro::defer<void (*)()>>);
static_assert(!std::is_copy_assignable_v<goro::defer<void (*)()>>);
static_assert(!std::is_nothrow_destructible_v<goro::defer<void (*)()>>);  // see ~defer()

int free_function_calls = 0;
void free_function() { free_function_calls++; }

TEST(defer, RunsOnceAtScopeExitNotBefore) {
  int calls = 0;
  {
    goro::defer d([&] { calls++; });
    EXPECT_EQ(calls, 0);
  }
  EXPECT_EQ(calls, 1);
}

TEST(defer, RunsInReverseOrderOfDeclaration) {
  std::string order;
  {
    goro::defer a([&] { order += 'a'; });
    goro::defer b([&] { order += 'b'; });
    goro::defer c([&] { order += 'c'; });
  }
  EXPECT_EQ(order, "cba");  // Go: defers run last-in, first-out
}

TEST(defer, RunsOnReturnBreakAndEveryLoopIteration) {
  std::vector<int> seen;
  auto early = [&](int x) {
    goro::defer d([&, x] { seen.push_back(x); });
    if (x > 0) return x;
    return -x;
  };
  EXPECT_EQ(early(3), 3);
  EXPECT_EQ(early(-4), 4);
  for (int i = 0; i < 5; i++) {
    goro::defer d([&, i] { seen.push_back(10 + i); });  // per iteration: a C++ scope
    if (i == 2) break;
  }
  EXPECT_EQ(seen, (std::vector<int>{3, -4, 10, 11, 12}));
}

TEST(defer, RunsWhenAnExceptionLeavesTheScope) {
  int calls = 0;
  EXPECT_THROW(
      {
        goro::defer d([&] { calls++; });
        throw std::runtime_error("boom");
      },
      std::runtime_error);
  EXPECT_EQ(calls, 1);
}

TEST(defer, CaptureByValueIsEvaluatedAtTheDefer) {
  // Go evaluates a deferred call's arguments at the defer statement: a capture by value does
  // the same, a capture by reference reads the variable when the call runs.
  int x = 1, by_value = 0, by_reference = 0;
  {
    goro::defer v([&by_value, x] { by_value = x; });
    goro::defer r([&] { by_reference = x; });
    x = 2;
  }
  EXPECT_EQ(by_value, 1);
  EXPECT_EQ(by_reference, 2);
}

TEST(defer, TakesMoveOnlyCallablesAndFunctionPointers) {
  auto owned = std::make_unique<int>(7);
  int seen = 0;
  {
    goro::defer d([p = std::move(owned), &seen] { seen = *p; });
  }
  EXPECT_EQ(seen, 7);
  free_function_calls = 0;
  { goro::defer f(&free_function); }
  EXPECT_EQ(free_function_calls, 1);
}

TEST(defer, AnExceptionFromTheCallableLeavesTheScope) {
  // Like a panic in a Go deferred call: closing a closed channel at the end of the scope
  // throws out of it (the destructor is noexcept(false)).
  auto ch = goro::make_chan<int>();
  ch.close();
  bool after = false;
  try {
    {
      goro::defer close_again([&] { ch.close(); });
    }
    after = true;
  } catch (const goro::panic_error& e) {
    EXPECT_STREQ(e.what(), "close of closed channel");
  }
  EXPECT_FALSE(after);
}

TEST_F(defer_test, DeferredDoneReleasesTheWaitGroup) {
  // Go: go func() { defer wg.Done(); ... }(), with goroutines leaving early, normally, and
  // through an exception they catch themselves: every way out calls done() once.
  const int n = static_cast<int>(scaled(1000, 200, 50));
  std::atomic<int> finished{0};
  goro::run([&] {
    goro::wait_group wg;
    auto work = goro::make_chan<int>(static_cast<std::size_t>(n));
    for (int i = 0; i < n; i++) work.send(i);
    work.close();
    for (int i = 0; i < n; i++) {
      wg.add(1);
      goro::go([&wg, &finished, work, i] {
        goro::defer done([&wg] { wg.done(); });
        goro::defer count([&finished] { finished.fetch_add(1, std::memory_order_relaxed); });
        goro::yield();
        if (i % 3 == 0) return;  // early return
        int inner_runs = 0;
        try {
          goro::defer inner([&inner_runs] { inner_runs++; });
          if (i % 3 == 1) throw std::runtime_error("caught below");
        } catch (const std::runtime_error&) {
        }
        EXPECT_EQ(inner_runs, 1);
        static_cast<void>(work.recv());
      });
    }
    wg.wait();
    EXPECT_EQ(finished.load(std::memory_order_relaxed), n);
  });
}

TEST_F(defer_test, DeferredCloseEndsTheConsumersRange) {
  // Go: a producer that `defer close(out)`s, and a consumer ranging over out.
  goro::run([] {
    auto out = goro::make_chan<int>();
    goro::wait_group wg;
    wg.add(1);
    goro::go([&wg, out] {
      goro::defer done([&wg] { wg.done(); });         // runs second
      goro::defer close_out([out] { out.close(); });  // runs first
      for (int i = 1; i <= 10; i++) out.send(i);
    });
    int sum = 0;
    for (int v : out) sum += v;
    EXPECT_EQ(sum, 55);
    wg.wait();
  });
}

}  // namespace
