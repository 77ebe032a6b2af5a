// Port of Go 1.19's src/context/context_test.go (the x_test.go cases: TestBackground, TestTODO,
// TestWithCancel, TestParentFinishesChild, TestChildFinishesFirst, TestDeadline, TestTimeout,
// TestCanceledTimeout, TestValues, TestSimultaneousCancels, TestInterlockedCancels,
// TestLayersCancel, TestLayersTimeout, TestCancelRemoves, TestWithCancelCanceledParent), then
// the later Go releases' cause, AfterFunc and WithoutCancel semantics (Go 1.20-1.21).
//
// Not ported, because C++ rules them out at compile time or they test Go-only machinery:
// TestWithValueChecksKey and TestInvalidDerivedFail (keys are typed objects and there is no nil
// context), TestAllocs, the String() forms, otherContext and TestCustomContextGoroutines
// (goro::context is one concrete type), TestDeadlineExceededSupportsTimeout (an error_code has
// no Timeout method). Where Go reads a cancelCtx's children map, these tests read
// goro::debug::context_children.
#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include "conformance.hpp"

namespace {

using namespace std::chrono_literals;
using conformance::run_checked;
using goro::context_errc;

constexpr auto short_duration = 1ms;
constexpr auto very_long_duration = 1000h;

// Go's `select { case <-c.Done(): ...; default: }`.
bool is_done(const goro::context& c) {
  bool done = false;
  goro::select(goro::on_recv(c.done(), [&] { done = true; }), goro::on_default([] {}));
  return done;
}

TEST(Context, Background) {
  run_checked([] {
    for (const goro::context& c : {goro::background(), goro::todo(), goro::context()}) {
      EXPECT_FALSE(c.done()) << "background's done() is nil";
      EXPECT_FALSE(is_done(c));
      EXPECT_EQ(c.err(), std::error_code());
      EXPECT_FALSE(c.deadline().has_value());
    }
  });
}

TEST(Context, WithCancel) {
  run_checked([] {
    auto [c1, cancel] = goro::with_cancel(goro::background());
    goro::context_key<int> k;
    auto o = goro::with_value(c1, k, 1);  // Go's otherContext: a layer that is not a canceller
    auto [c2, cancel2] = goro::with_cancel(o);
    const std::vector<goro::context> contexts = {c1, o, c2};
    for (std::size_t i = 0; i < contexts.size(); i++) {
      EXPECT_TRUE(contexts[i].done()) << "c[" << i << "].done() is nil";
      EXPECT_EQ(contexts[i].err(), std::error_code()) << i;
      EXPECT_FALSE(is_done(contexts[i])) << i;
    }
    cancel();  // propagates synchronously
    for (std::size_t i = 0; i < contexts.size(); i++) {
      EXPECT_TRUE(is_done(contexts[i])) << "c[" << i << "].done() blocked";
      EXPECT_EQ(contexts[i].err(), context_errc::canceled) << i;
    }
  });
}

TEST(Context, ParentFinishesChild) {
  run_checked([] {
    // parent -> cancel_child; parent -> value_child -> timer_child
    auto [parent, cancel] = goro::with_cancel(goro::background());
    auto [cancel_child, stop1] = goro::with_cancel(parent);
    goro::context_key<std::string> key;
    auto value_child = goro::with_value(parent, key, "value");
    auto [timer_child, stop2] = goro::with_timeout(value_child, very_long_duration);
    for (auto* c : {&parent, &cancel_child, &value_child, &timer_child}) EXPECT_FALSE(is_done(*c));
    // The parent's children are the two cancellable ones.
    EXPECT_EQ(goro::debug::context_children(parent), 2u);
    cancel();
    EXPECT_EQ(goro::debug::context_children(parent), 0u) << "cancel did not clear the children";
    for (auto* c : {&parent, &cancel_child, &value_child, &timer_child}) {
      EXPECT_TRUE(is_done(*c));
      EXPECT_EQ(c->err(), context_errc::canceled);
    }
    // A child of a cancelled parent is cancelled from the start.
    auto precancelled = goro::with_value(parent, key, "value");
    EXPECT_TRUE(is_done(precancelled));
    EXPECT_EQ(precancelled.err(), context_errc::canceled);
    stop1();
    stop2();
  });
}

TEST(Context, ChildFinishesFirst) {
  run_checked([] {
    auto [cancellable, stop] = goro::with_cancel(goro::background());
    for (const goro::context& parent : {goro::background(), cancellable}) {
      auto [child, cancel] = goro::with_cancel(parent);
      EXPECT_FALSE(is_done(parent));
      EXPECT_FALSE(is_done(child));
      const bool parent_cancellable = static_cast<bool>(parent.done());
      if (parent_cancellable) {
        EXPECT_EQ(goro::debug::context_children(parent), 1u);
      }
      cancel();
      if (parent_cancellable) {
        EXPECT_EQ(goro::debug::context_children(parent), 0u)
            << "the child's cancel did not remove it from its parent";
      }
      EXPECT_TRUE(is_done(child));
      EXPECT_EQ(child.err(), context_errc::canceled);
      EXPECT_FALSE(is_done(parent));
      EXPECT_EQ(parent.err(), std::error_code());
    }
    stop();
  });
}

// Go's testDeadline: the context is done, by its deadline, and not before it. (No
// SCOPED_TRACE around a blocking call: gtest keeps traces per thread, and the goroutine may
// resume on another one.)
void test_deadline(const goro::context& c, const char* name) {
  ASSERT_TRUE(c.deadline().has_value()) << name;
  c.done().recv();  // a deadline that never fires hangs here (ctest's timeout fails it)
  EXPECT_GE(std::chrono::steady_clock::now(), *c.deadline()) << name;
  EXPECT_EQ(c.err(), context_errc::deadline_exceeded) << name;
}

TEST(Context, Deadline) {
  run_checked([] {
    auto now = [] { return std::chrono::steady_clock::now(); };
    {
      auto [c, cancel] = goro::with_deadline(goro::background(), now() + short_duration);
      test_deadline(c, "with_deadline");
    }
    {
      goro::context_key<int> k;
      auto [c, cancel] = goro::with_deadline(goro::background(), now() + short_duration);
      test_deadline(goro::with_value(c, k, 1), "with_deadline+value layer");
    }
    {
      goro::context_key<int> k;
      auto [c, cancel] = goro::with_deadline(goro::background(), now() + short_duration);
      auto o = goro::with_value(c, k, 1);
      auto [c2, cancel2] = goro::with_deadline(o, now() + very_long_duration);
      EXPECT_EQ(c2.deadline(), c.deadline()) << "the parent's earlier deadline holds";
      test_deadline(c2, "with_deadline+value layer+with_deadline");
    }
    {
      auto [c, cancel] = goro::with_deadline(goro::background(), now() - short_duration);
      EXPECT_TRUE(is_done(c)) << "a deadline in the past cancels at once";
      test_deadline(c, "with_deadline+in the past");
    }
    {
      auto [c, cancel] = goro::with_deadline(goro::background(), now());
      test_deadline(c, "with_deadline+now");
    }
  });
}

TEST(Context, Timeout) {
  run_checked([] {
    {
      auto [c, cancel] = goro::with_timeout(goro::background(), short_duration);
      test_deadline(c, "with_timeout");
    }
    {
      goro::context_key<int> k;
      auto [c, cancel] = goro::with_timeout(goro::background(), short_duration);
      auto o = goro::with_value(c, k, 1);
      auto [c2, cancel2] = goro::with_timeout(o, very_long_duration);
      test_deadline(c2, "with_timeout+value layer+with_timeout");
    }
  });
}

TEST(Context, CanceledTimeout) {
  run_checked([] {
    goro::context_key<int> k;
    auto [c, cancel1] = goro::with_timeout(goro::background(), 1s);
    auto o = goro::with_value(c, k, 1);
    auto [c2, cancel] = goro::with_timeout(o, very_long_duration);
    cancel();  // propagates synchronously
    EXPECT_TRUE(is_done(c2));
    EXPECT_EQ(c2.err(), context_errc::canceled);
    EXPECT_FALSE(is_done(c));
    cancel1();
  });
}

// Go's k1, k2, k3: three distinct keys (Go's differ by type or value; ours by identity). A
// null const char* plays Go's nil value, which shadows the outer one.
goro::context_key<const char*> k1, k2, k3;

void check_values(const goro::context& c, const char* name, const std::string& v1,
                  const std::string& v2, const std::string& v3) {
  SCOPED_TRACE(name);
  auto get = [&](const goro::context_key<const char*>& k) -> std::string {
    const char* const* v = c.value(k);
    return v && *v ? *v : "";
  };
  EXPECT_EQ(get(k1), v1);
  EXPECT_EQ(get(k2), v2);
  EXPECT_EQ(get(k3), v3);
}

TEST(Context, Values) {
  run_checked([] {
    const goro::context c0 = goro::background();
    check_values(c0, "c0", "", "", "");
    auto c1 = goro::with_value(goro::background(), k1, "c1k1");
    check_values(c1, "c1", "c1k1", "", "");
    auto c2 = goro::with_value(c1, k2, "c2k2");
    check_values(c2, "c2", "c1k1", "c2k2", "");
    auto c3 = goro::with_value(c2, k3, "c3k3");
    check_values(c3, "c3", "c1k1", "c2k2", "c3k3");
    auto c4 = goro::with_value(c3, k1, nullptr);
    check_values(c4, "c4", "", "c2k2", "c3k3");
    // Go's otherContext wrappers: here cancellable layers, which pass values through.
    auto [o1, cancel1] = goro::with_cancel(goro::with_value(goro::background(), k1, "c1k1"));
    check_values(o1, "o1", "c1k1", "", "");
    auto o2 = goro::with_value(o1, k2, "o2k2");
    check_values(o2, "o2", "c1k1", "o2k2", "");
    auto [o3, cancel3] = goro::with_cancel(c4);
    check_values(o3, "o3", "", "c2k2", "c3k3");
    auto o4 = goro::with_value(o3, k3, nullptr);
    check_values(o4, "o4", "", "c2k2", "");
    cancel1();
    cancel3();
  });
}

// A tree of 100 contexts cancelled in a random order by 100 goroutines: every context ends up
// done and every cancel returns.
TEST(Context, SimultaneousCancels) {
  run_checked([] {
    auto [root, cancel] = goro::with_cancel(goro::background());
    std::vector<std::pair<goro::context, goro::cancel_func>> all = {{root, cancel}};
    for (std::size_t next = 0; next < all.size() && all.size() < 100; next++) {
      for (int i = 0; i < 4; i++) all.push_back(goro::with_cancel(all[next].first));
    }
    std::shuffle(all.begin(), all.end(), std::mt19937(42));
    goro::wait_group wg;
    wg.add(static_cast<int>(all.size()));
    for (auto& [ctx, c] : all) {
      goro::go([c = c, &wg] {
        c();
        wg.done();
      });
    }
    std::shuffle(all.begin(), all.end(), std::mt19937(7));
    for (auto& [ctx, c] : all) ctx.done().recv();  // a missed cancel hangs: deadlock report
    wg.wait();
  });
}

TEST(Context, InterlockedCancels) {
  run_checked([] {
    auto [parent, cancel_parent] = goro::with_cancel(goro::background());
    auto [child, cancel_child] = goro::with_cancel(parent);
    goro::wait_group wg;
    wg.add(1);
    goro::go([&, p = parent, cc = cancel_child] {
      p.done().recv();
      cc();
      wg.done();
    });
    cancel_parent();
    child.done().recv();
    wg.wait();
  });
}

// Go's testLayers: a random stack of values, cancels and timeouts; every value stays visible,
// and cancelling any layer (or its timeout expiring) is seen at the top.
void test_layers(std::uint32_t seed, bool test_timeout) {
  const std::string trace = "seed=" + std::to_string(seed);
  std::mt19937 r(seed);
  constexpr int min_layers = 30;
  struct value_key {
    goro::context_key<int> key;
    int value;
  };
  std::vector<std::unique_ptr<value_key>> vals;
  std::vector<goro::cancel_func> cancels;
  int num_timers = 0;
  goro::context ctx = goro::background();
  for (int i = 0; i < min_layers || num_timers == 0 || cancels.empty() || vals.empty(); i++) {
    switch (r() % 3) {
      case 0: {
        vals.push_back(std::make_unique<value_key>());
        vals.back()->value = i;
        ctx = goro::with_value(ctx, vals.back()->key, i);
        break;
      }
      case 1: {
        auto [c, cancel] = goro::with_cancel(ctx);
        ctx = c;
        cancels.push_back(cancel);
        break;
      }
      case 2: {
        auto [c, cancel] = goro::with_timeout(
            ctx, test_timeout ? std::chrono::nanoseconds(short_duration) : very_long_duration);
        ctx = c;
        cancels.push_back(cancel);
        num_timers++;
        break;
      }
    }
  }
  auto check_values = [&](const char* when) {
    for (auto& v : vals) {
      const int* got = ctx.value(v->key);
      ASSERT_NE(got, nullptr) << trace << ": " << when;
      EXPECT_EQ(*got, v->value) << trace << ": " << when;
    }
  };
  if (!test_timeout) {
    EXPECT_FALSE(is_done(ctx)) << trace << ": ctx should not be cancelled yet";
  }
  check_values("before cancel");
  if (test_timeout) {
    ctx.done().recv();
    EXPECT_EQ(ctx.err(), context_errc::deadline_exceeded) << trace;
    check_values("after timeout");
  } else {
    cancels[r() % cancels.size()]();
    EXPECT_TRUE(is_done(ctx)) << trace << ": ctx should be cancelled";
    check_values("after cancel");
  }
  for (auto& c : cancels) c();
}

TEST(Context, LayersCancel) {
  run_checked([] {
    for (std::uint32_t seed = 1; seed <= 20; seed++) test_layers(seed, false);
  });
}

TEST(Context, LayersTimeout) {
  run_checked([] {
    for (std::uint32_t seed = 1; seed <= 5; seed++) test_layers(seed, true);
  });
}

TEST(Context, CancelRemoves) {
  run_checked([] {
    {
      auto [ctx, c] = goro::with_cancel(goro::background());
      EXPECT_EQ(goro::debug::context_children(ctx), 0u) << "after creation";
      auto [child, cancel] = goro::with_cancel(ctx);
      EXPECT_EQ(goro::debug::context_children(ctx), 1u) << "with a with_cancel child";
      cancel();
      EXPECT_EQ(goro::debug::context_children(ctx), 0u) << "after cancelling it";
    }
    {
      auto [ctx, c] = goro::with_cancel(goro::background());
      auto [child, cancel] = goro::with_timeout(ctx, 60min);
      EXPECT_EQ(goro::debug::context_children(ctx), 1u) << "with a with_timeout child";
      cancel();
      EXPECT_EQ(goro::debug::context_children(ctx), 0u) << "after cancelling it";
      EXPECT_EQ(goro::debug::pending_timers(), 0u) << "its timer is gone too";
    }
  });
}

TEST(Context, WithCancelCanceledParent) {
  run_checked([] {
    auto [parent, pcancel] = goro::with_cancel(goro::background());
    pcancel();
    auto [c, cancel] = goro::with_cancel(parent);
    EXPECT_TRUE(is_done(c)) << "child not done at once";
    EXPECT_EQ(c.err(), context_errc::canceled);
  });
}

// ---- later Go releases: Cause (1.20), AfterFunc and WithoutCancel (1.21) ------------------

struct my_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The what() of the exception cause() reports, "" for none.
std::string cause_text(const goro::context& c) {
  std::exception_ptr e = goro::cause(c);
  if (!e) return "";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  }
}

// Go's TestCause, its table rows one by one.
TEST(Context, Cause) {
  run_checked([] {
    const auto finished = std::make_exception_ptr(my_error("finished"));
    const auto too_slow = std::make_exception_ptr(my_error("too slow"));
    {  // Background
      EXPECT_EQ(goro::cause(goro::background()), nullptr);
    }
    {  // WithCancel, cancelled
      auto [c, cancel] = goro::with_cancel(goro::background());
      EXPECT_EQ(goro::cause(c), nullptr);
      cancel();
      EXPECT_EQ(cause_text(c), "context canceled");
    }
    {  // WithCancelCause
      auto [c, cancel] = goro::with_cancel_cause(goro::background());
      cancel(finished);
      EXPECT_EQ(c.err(), context_errc::canceled);
      EXPECT_EQ(goro::cause(c), finished);
    }
    {  // WithCancelCause with no cause
      auto [c, cancel] = goro::with_cancel_cause(goro::background());
      cancel();
      EXPECT_EQ(cause_text(c), "context canceled");
    }
    {  // parent cause, then child cause: the parent's wins
      auto [p, pcancel] = goro::with_cancel_cause(goro::background());
      auto [c, cancel] = goro::with_cancel_cause(p);
      pcancel(finished);
      cancel(too_slow);
      EXPECT_EQ(goro::cause(c), finished);
      EXPECT_EQ(goro::cause(p), finished);
    }
    {  // child cause, then parent cause: each keeps its own
      auto [p, pcancel] = goro::with_cancel_cause(goro::background());
      auto [c, cancel] = goro::with_cancel_cause(p);
      cancel(too_slow);
      pcancel(finished);
      EXPECT_EQ(goro::cause(c), too_slow);
      EXPECT_EQ(goro::cause(p), finished);
    }
    {  // a value layer reports its canceller's cause
      auto [p, pcancel] = goro::with_cancel_cause(goro::background());
      goro::context_key<int> k;
      auto c = goro::with_value(p, k, 1);
      pcancel(finished);
      EXPECT_EQ(goro::cause(c), finished);
    }
    {  // an expired deadline: deadline exceeded, or the cause given for it
      auto [c, cancel] = goro::with_timeout(goro::background(), std::chrono::nanoseconds(-1));
      EXPECT_EQ(cause_text(c), "context deadline exceeded");
      auto [c2, cancel2] =
          goro::with_timeout_cause(goro::background(), std::chrono::nanoseconds(-1), too_slow);
      EXPECT_EQ(c2.err(), context_errc::deadline_exceeded);
      EXPECT_EQ(goro::cause(c2), too_slow);
      auto [c3, cancel3] = goro::with_timeout_cause(goro::background(), 1h, too_slow);
      cancel3();  // cancelled before the deadline: no cause of the deadline's
      EXPECT_EQ(cause_text(c3), "context canceled");
    }
    {  // without_cancel: none
      auto [p, pcancel] = goro::with_cancel_cause(goro::background());
      pcancel(finished);
      EXPECT_EQ(goro::cause(goro::without_cancel(p)), nullptr);
    }
  });
}

// Go's TestAfterFuncCalledAfterCancel and friends.
TEST(Context, AfterFuncCalledAfterCancel) {
  run_checked([] {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    auto donec = goro::make_chan<goro::signal>();
    auto stop = goro::after_func(ctx, [donec] { donec.close(); });
    bool early = false;
    goro::select(goro::on_recv(donec, [&] { early = true; }), goro::on_default([] {}));
    EXPECT_FALSE(early) << "AfterFunc called before context is done";
    cancel();
    donec.recv();  // never closed: deadlock report
    EXPECT_FALSE(stop()) << "stop() = true, want false after f started";
  });
}

TEST(Context, AfterFuncCalledAfterTimeout) {
  run_checked([] {
    auto [ctx, cancel] = goro::with_timeout(goro::background(), 5ms);
    auto donec = goro::make_chan<goro::signal>();
    goro::after_func(ctx, [donec] { donec.close(); });
    donec.recv();
    EXPECT_EQ(ctx.err(), context_errc::deadline_exceeded);
  });
}

TEST(Context, AfterFuncCalledImmediately) {
  run_checked([] {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    cancel();
    auto donec = goro::make_chan<goro::signal>();
    goro::after_func(ctx, [donec] { donec.close(); });
    donec.recv();
  });
}

TEST(Context, AfterFuncNotCalledAfterStop) {
  run_checked([] {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    int calls = 0;  // f never runs, so nobody writes it
    auto stop = goro::after_func(ctx, [&calls] { calls++; });
    EXPECT_EQ(goro::debug::context_children(ctx), 1u);
    EXPECT_TRUE(stop()) << "stop() = false, want true";
    EXPECT_EQ(goro::debug::context_children(ctx), 0u) << "a stopped after_func is unregistered";
    cancel();
    EXPECT_FALSE(stop()) << "stop() = true, want false the second time";
    EXPECT_EQ(calls, 0);
  });
}

// Go's TestAfterFuncCalledAsynchronously: f runs in a goroutine of its own, so a cancel from
// the goroutine that f waits for does not deadlock.
TEST(Context, AfterFuncCalledAsynchronously) {
  run_checked([] {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    auto donec = goro::make_chan<goro::signal>();
    auto unblock = goro::make_chan<goro::signal>();
    goro::after_func(ctx, [donec, unblock] {
      unblock.recv();
      donec.close();
    });
    cancel();  // returns although f blocks
    unblock.send({});
    donec.recv();
  });
}

// Go's TestWithoutCancel: values pass through; cancellation does not.
TEST(Context, WithoutCancel) {
  run_checked([] {
    goro::context_key<std::string> key;
    auto [parent, cancel] = goro::with_cancel(goro::with_value(goro::background(), key, "value"));
    auto ctx = goro::without_cancel(parent);
    auto [child, cancel_child] = goro::with_cancel(ctx);
    EXPECT_FALSE(ctx.done()) << "without_cancel's done() is nil";
    EXPECT_FALSE(ctx.deadline().has_value());
    ASSERT_NE(ctx.value(key), nullptr);
    EXPECT_EQ(*ctx.value(key), "value");
    cancel();
    EXPECT_EQ(ctx.err(), std::error_code());
    EXPECT_FALSE(is_done(child)) << "a child of without_cancel follows it, not the parent";
    cancel_child();
    EXPECT_TRUE(is_done(child));
  });
}

}  // namespace
