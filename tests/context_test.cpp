// goro::context beyond Go's own tests (tests/conformance/context_test.cpp has those): the
// error category, the no-leak guarantee for long-lived parents, deep trees, std::stop_token
// both ways, plain threads, and a goroutine waiting on done() in dumps.
#include <atomic>
#include <chrono>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "test_util.hpp"

namespace {

using namespace std::chrono_literals;
using goro::context_errc;
using goro_test::runtime_test;
using goro_test::scaled;

using context_test = runtime_test;

bool is_done(const goro::context& c) {
  bool done = false;
  goro::select(goro::on_recv(c.done(), [&] { done = true; }), goro::on_default([] {}));
  return done;
}

TEST_F(context_test, ErrorCategoryHasGosMessages) {
  const std::error_code canceled = context_errc::canceled;
  const std::error_code deadline = context_errc::deadline_exceeded;
  EXPECT_STREQ(canceled.category().name(), "context");
  EXPECT_EQ(canceled.message(), "context canceled");
  EXPECT_EQ(deadline.message(), "context deadline exceeded");
  EXPECT_EQ(&canceled.category(), &goro::context_category());
  EXPECT_NE(canceled, deadline);
  EXPECT_TRUE(canceled);  // a done context's err() tests true, {} tests false
  EXPECT_FALSE(goro::background().err());
}

// The acceptance test: a million with_cancel + cancel pairs on one long-lived parent
// leave nothing registered with it (each child's cancel detaches it).
TEST_F(context_test, MillionCancelledChildrenLeaveParentEmpty) {
  auto [parent, cancel_parent] = goro::with_cancel(goro::background());
  const std::size_t n = scaled(1'000'000, 200'000, 100'000);
  for (std::size_t i = 0; i < n; i++) {
    auto [child, cancel] = goro::with_cancel(parent);
    cancel();
  }
  EXPECT_EQ(goro::debug::context_children(parent), 0u);
  // The same for timeouts (their timers go too) and after_funcs that were stopped.
  for (std::size_t i = 0; i < n / 10; i++) {
    auto [child, cancel] = goro::with_timeout(parent, 1h);
    cancel();
    auto stop = goro::after_func(parent, [] {});
    EXPECT_TRUE(stop());
  }
  EXPECT_EQ(goro::debug::context_children(parent), 0u);
  EXPECT_EQ(goro::debug::pending_timers(), 0u);
  // Children destroyed without a cancel leave too: nobody can see them any more (Go's GC
  // collects them; a Go parent holds them until it is done).
  for (std::size_t i = 0; i < n / 10; i++) {
    goro::context leaf = parent;
    for (int d = 0; d < 10; d++) leaf = goro::with_cancel(leaf).first;  // Go's CancelTree
  }
  EXPECT_EQ(goro::debug::context_children(parent), 0u);
  // Except one whose done() channel someone still holds: the parent's cancel must close it.
  goro::recv_chan<goro::signal> done = goro::with_cancel(parent).first.done();
  EXPECT_EQ(goro::debug::context_children(parent), 1u);
  cancel_parent();
  EXPECT_EQ(goro::debug::context_children(parent), 0u);
  goro::signal s;
  EXPECT_EQ(done.try_recv(s), goro::status::closed);
}

#if defined(__cpp_lib_jthread)
// The same for a std::stop_token handed out by a context nobody holds any more.
TEST_F(context_test, DroppedContextsTokenStillStops) {
  auto [parent, cancel_parent] = goro::with_cancel(goro::background());
  std::stop_token token = goro::with_cancel(parent).first.stop_token();
  EXPECT_FALSE(token.stop_requested());
  cancel_parent();
  EXPECT_TRUE(token.stop_requested());
}

#endif

// A cancel runs down the tree without recursion, and a long chain of contexts is released
// without recursion too: neither overflows a goroutine's stack.
TEST_F(context_test, DeepChainCancelsAndReleases) {
  goro::run([] {
    const int depth = static_cast<int>(scaled(200'000, 50'000, 20'000));
    auto [root, cancel] = goro::with_cancel(goro::background());
    goro::context leaf = root;
    goro::context_key<int> key;
    for (int i = 0; i < depth; i++) {
      leaf = goro::with_cancel(leaf).first;
      if (i % 1000 == 0) leaf = goro::with_value(leaf, key, i);
    }
    EXPECT_FALSE(is_done(leaf));
    cancel();
    EXPECT_TRUE(is_done(leaf));
    EXPECT_EQ(leaf.err(), context_errc::canceled);
    ASSERT_NE(leaf.value(key), nullptr);
    EXPECT_EQ(*leaf.value(key), (depth - 1) / 1000 * 1000);
    leaf = goro::context();  // releases the whole chain
  });
}

// done() hands out one channel per context, and the same closed one after the cancel; a
// goroutine blocked on it wakes.
TEST_F(context_test, DoneIsOneChannelAndWakesWaiters) {
  goro::run([] {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    EXPECT_TRUE(ctx.done() == ctx.done());
    const int waiters = 50;
    goro::wait_group wg;
    wg.add(waiters);
    for (int i = 0; i < waiters; i++) {
      goro::go([&wg, c = ctx] {
        c.done().recv();
        EXPECT_EQ(c.err(), context_errc::canceled);
        wg.done();
      });
    }
    cancel();
    cancel();  // idempotent
    wg.wait();
    // Asked for the first time after the cancel: closed at once.
    auto [late, cancel_late] = goro::with_cancel(goro::background());
    cancel_late();
    EXPECT_TRUE(is_done(late));
  });
}

// A goroutine waiting for a context in a select shows as [select]; one receiving from done()
// alone as [chan receive], as in Go.
TEST_F(context_test, WaitReasonsInDumps) {
  goro::run([] {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    auto ids = goro::make_chan<std::uint64_t>(2);
    goro::wait_group wg;
    wg.add(2);
    auto never = goro::make_chan<int>();
    goro::go([&wg, ids, never, c = ctx] {
      ids.send(goro::goroutine_id());
      goro::select(goro::on_recv(c.done(), [] {}), goro::on_recv(never, [] {}));
      wg.done();
    });
    goro_test::wait_until_parked(*ids.recv(), "select");
    goro::go([&wg, ids, c = ctx] {
      ids.send(goro::goroutine_id());
      c.done().recv();
      wg.done();
    });
    goro_test::wait_until_parked(*ids.recv(), "chan receive");
    cancel();
    wg.wait();
  });
}

#if defined(__cpp_lib_jthread)  // a standard library with std::stop_token (libstdc++; not libc++
                                // 19)
// context -> std::stop_token: a std::jthread-style worker stops when the context is done.
TEST_F(context_test, StopTokenFromContext) {
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  std::stop_token token = ctx.stop_token();
  EXPECT_TRUE(token.stop_possible());
  EXPECT_FALSE(token.stop_requested());
  std::atomic<bool> called{false};
  std::stop_callback on_stop(token, [&] { called = true; });
  std::jthread worker([token] {
    while (!token.stop_requested()) std::this_thread::yield();
  });
  cancel();
  EXPECT_TRUE(token.stop_requested());
  EXPECT_TRUE(called.load()) << "stop callbacks run within the cancel";
  worker.join();
  // A token asked for after the cancel is stopped already; background's cannot stop.
  EXPECT_TRUE(ctx.stop_token().stop_requested());
  EXPECT_FALSE(goro::background().stop_token().stop_possible());
  // A child's token stops with its parent; a deadline stops it too.
  auto [p, cancel_p] = goro::with_cancel(goro::background());
  auto [child, cancel_child] = goro::with_cancel(p);
  std::stop_token child_token = child.stop_token();
  cancel_p();
  EXPECT_TRUE(child_token.stop_requested());
  goro::run([] {
    auto [timed, cancel_timed] = goro::with_timeout(goro::background(), 1ms);
    std::stop_token t = timed.stop_token();
    timed.done().recv();
    EXPECT_TRUE(t.stop_requested());
  });
}

// std::stop_token -> context: a stop request cancels the context and everything below it.
TEST_F(context_test, ContextFromStopToken) {
  goro::run([] {
    std::stop_source source;
    auto [ctx, cancel] = goro::with_stop_token(goro::background(), source.get_token());
    auto [child, cancel_child] = goro::with_cancel(ctx);
    EXPECT_FALSE(is_done(ctx));
    goro::wait_group wg;
    wg.add(1);
    goro::go([&wg, c = child] {
      c.done().recv();
      wg.done();
    });
    source.request_stop();
    EXPECT_TRUE(is_done(ctx));
    EXPECT_EQ(ctx.err(), context_errc::canceled);
    wg.wait();
    // Already stopped: done at once. Never stoppable: a plain child of its parent.
    auto [stopped, c2] = goro::with_stop_token(goro::background(), source.get_token());
    EXPECT_TRUE(is_done(stopped));
    auto [plain, c3] = goro::with_stop_token(goro::background(), std::stop_token());
    EXPECT_TRUE(plain.done());
    EXPECT_FALSE(is_done(plain));
    c3();
    // cancel() first: a later stop request changes nothing (the callback is gone).
    std::stop_source s2;
    auto [c4, cancel4] = goro::with_stop_token(goro::background(), s2.get_token());
    cancel4();
    s2.request_stop();
    EXPECT_EQ(c4.err(), context_errc::canceled);
    // A context made from a token, then dropped: the token still cancels it for whoever
    // holds its done() channel.
    std::stop_source s3;
    goro::recv_chan<goro::signal> done =
        goro::with_stop_token(goro::background(), s3.get_token()).first.done();
    s3.request_stop();
    done.recv();
  });
}

// A stop requested from a std::jthread's destructor reaches goroutines working under the
// context: the usual shape of jthread code handing its work to goroutines.
TEST_F(context_test, JthreadStopsGoroutines) {
  goro::wait_group wg;
  {
    std::jthread t([&wg](const std::stop_token& st) {
      auto [ctx, cancel] = goro::with_stop_token(goro::background(), st);
      wg.add(4);
      for (int i = 0; i < 4; i++) {
        goro::go([&wg, c = ctx] {
          c.done().recv();
          wg.done();
        });
      }
      while (!st.stop_requested()) std::this_thread::yield();
    });
  }  // ~jthread requests stop, then joins
  wg.wait();
  EXPECT_TRUE(goro_test::wait_until_quiescent());
}

#endif

// Cancels and waits from plain threads and goroutines at once, on one tree.
TEST_F(context_test, ThreadsAndGoroutinesShareATree) {
  const int rounds = static_cast<int>(scaled(300, 100, 50));
  for (int r = 0; r < rounds; r++) {
    const auto [root, cancel] = goro::with_cancel(goro::background());
    std::vector<std::pair<goro::context, goro::cancel_func>> kids;
    kids.reserve(8);
    for (int i = 0; i < 8; i++) kids.push_back(goro::with_cancel(root));
    const goro::cancel_func either = r % 2 ? cancel : kids[r % 8].second;
    goro::wait_group wg;
    wg.add(8);
    std::vector<std::thread> threads;
    threads.reserve(4);
    for (int i = 0; i < 4; i++) {
      threads.emplace_back([&wg, k = kids[i]] {
        k.first.done().recv();
        wg.done();
      });
    }
    for (int i = 4; i < 8; i++) {
      goro::go([&wg, k = kids[i]] {
        k.first.done().recv();
        wg.done();
      });
    }
    std::thread canceller([either] { either(); });
    cancel();
    canceller.join();
    wg.wait();
    for (auto& t : threads) t.join();
    EXPECT_EQ(goro::debug::context_children(root), 0u);
  }
  EXPECT_TRUE(goro_test::wait_until_quiescent());
}

// A deadline that cannot be represented is no deadline (and no timer); deadline() reports the
// earlier of a child's and its parent's.
TEST_F(context_test, DeadlineEdges) {
  auto [never, c1] = goro::with_deadline(goro::background(), goro::time_point::max());
  EXPECT_FALSE(never.deadline().has_value());
  EXPECT_EQ(goro::debug::pending_timers(), 0u);
  auto [huge, c2] = goro::with_timeout(goro::background(), std::chrono::nanoseconds::max());
  EXPECT_FALSE(huge.deadline().has_value());
  const auto soon = std::chrono::steady_clock::now() + 1h;
  auto [p, c3] = goro::with_deadline(goro::background(), soon);
  auto [later, c4] = goro::with_deadline(p, soon + 1h);
  auto [earlier, c5] = goro::with_deadline(p, soon - 30min);
  EXPECT_EQ(later.deadline(), soon);
  EXPECT_EQ(earlier.deadline(), soon - 30min);
  EXPECT_EQ(goro::debug::pending_timers(), 2u);  // p's and earlier's
  c3();
  EXPECT_EQ(earlier.err(), context_errc::canceled);
  EXPECT_EQ(goro::debug::pending_timers(), 0u);
}

// An after_func on a context that can never be done never runs; stop() says it stopped it.
TEST_F(context_test, AfterFuncOnBackground) {
  auto stop = goro::after_func(goro::background(), [] { ADD_FAILURE() << "ran"; });
  EXPECT_TRUE(stop());
  EXPECT_FALSE(stop());
  EXPECT_FALSE(goro::after_func_stop()());
}

// An after_func keeps its context registered: f runs when an ancestor is cancelled, even if
// nobody holds the context any more (Go's parent holds its children too).
TEST_F(context_test, AfterFuncOnADroppedContextStillRuns) {
  goro::run([] {
    auto [parent, cancel] = goro::with_cancel(goro::background());
    auto ran = goro::make_chan<goro::signal>();
    goro::after_func(goro::with_cancel(parent).first, [ran] { ran.close(); });
    cancel();
    ran.recv();
  });
}

}  // namespace
