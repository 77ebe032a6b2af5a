// Port of golang.org/x/sync's errgroup/errgroup_test.go (TestZeroGroup, TestWithContext,
// TestTryGo, TestGoLimit, TestCancelCause, and the Parallel example), then goro's additions: a
// task returning std::error_code, set_limit while tasks run, the wait reasons. Go's errors are
// exceptions here: a task fails by throwing, wait() rethrows the first one.
#include <atomic>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "conformance.hpp"

namespace {

using conformance::run_checked;

struct test_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What wait() threw: the what() of a std::exception, "" if it returned.
std::string wait_result(goro::errgroup& g) {
  try {
    g.wait();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// The table of Go's TestWithContext and TestCancelCause: the tasks' errors, wait()'s result.
const std::vector<std::pair<std::vector<std::string>, std::string>> doomed_cases = {
    {{}, ""},
    {{""}, ""},
    {{"group_test: doomed"}, "group_test: doomed"},
    {{"group_test: doomed", ""}, "group_test: doomed"}};

// A task that throws test_error(err), or succeeds for an empty err.
auto task(const std::string& err) {
  return [err] {
    if (!err.empty()) throw test_error(err);
  };
}

// errs: "" for a task that succeeds, else the text of the exception it throws.
TEST(Errgroup, ZeroGroup) {
  run_checked([] {
    const std::vector<std::vector<std::string>> cases = {
        {},
        {""},
        {"errgroup_test: 1"},
        {"errgroup_test: 1", ""},
        {"errgroup_test: 1", "", "errgroup_test: 2"}};
    for (const auto& errs : cases) {
      goro::errgroup g;
      std::string first;
      for (const std::string& err : errs) {
        g.go(task(err));
        if (first.empty()) first = err;
        EXPECT_EQ(wait_result(g), first) << "after a task failing with \"" << err << "\"";
      }
      EXPECT_FALSE(g.ctx().done()) << "a group without a context has background's";
    }
  });
}

TEST(Errgroup, WithContext) {
  run_checked([] {
    for (const auto& [errs, want] : doomed_cases) {
      goro::errgroup g(goro::background());
      for (const std::string& err : errs) g.go(task(err));
      EXPECT_EQ(wait_result(g), want);
      bool cancelled = false;
      goro::select(goro::on_recv(g.ctx().done(), [&] { cancelled = true; }),
                   goro::on_default([] {}));
      EXPECT_TRUE(cancelled) << "ctx().done() was not closed";
    }
  });
}

TEST(Errgroup, TryGo) {
  run_checked([] {
    goro::errgroup g;
    const int n = 42;
    g.set_limit(42);
    auto ch = goro::make_chan<goro::signal>();
    auto fn = [ch] { ch.send({}); };
    for (int i = 0; i < n; i++) ASSERT_TRUE(g.try_go(fn)) << "try_go failed at call " << i;
    EXPECT_FALSE(g.try_go(fn)) << "try_go succeeded at the limit";
    goro::go([ch] {
      for (int i = 0; i < n; i++) ch.recv();
    });
    g.wait();

    EXPECT_TRUE(g.try_go(fn)) << "try_go failed after every task ended";
    goro::go([ch] { ch.recv(); });
    g.wait();

    // Switch limit.
    g.set_limit(1);
    EXPECT_TRUE(g.try_go(fn));
    EXPECT_FALSE(g.try_go(fn));
    goro::go([ch] { ch.recv(); });
    g.wait();

    // Block all calls.
    g.set_limit(0);
    for (int i = 0; i < 1 << 10; i++) ASSERT_FALSE(g.try_go(fn));
    g.wait();
  });
}

TEST(Errgroup, GoLimit) {
  run_checked([] {
    const int limit = 10;
    goro::errgroup g;
    g.set_limit(limit);
    std::atomic<int> active{0};
    for (int i = 0; i <= conformance::scaled(1 << 10); i++) {
      g.go([&] {
        const int n = active.fetch_add(1) + 1;
        if (n > limit)
          throw test_error("saw " + std::to_string(n) + " active goroutines; want <= 10");
        goro::yield();  // Go sleeps 1 us: give the others a chance to increment active
        active.fetch_sub(1);
      });
    }
    EXPECT_EQ(wait_result(g), "");
  });
}

TEST(Errgroup, CancelCause) {
  run_checked([] {
    for (const auto& [errs, want] : doomed_cases) {
      goro::errgroup g(goro::background());
      for (const std::string& err : errs) g.try_go(task(err));
      EXPECT_EQ(wait_result(g), want);
      std::string cause;
      try {
        std::rethrow_exception(goro::cause(g.ctx()));
      } catch (const std::exception& e) {
        cause = e.what();
      }
      EXPECT_EQ(cause, want.empty() ? "context canceled" : want);
    }
  });
}

// Go's ExampleGroup_parallel: "Google Search 2.0", each search writing its own slot.
TEST(Errgroup, Parallel) {
  run_checked([] {
    auto google = [](const goro::context& ctx, const std::string& query) {
      goro::errgroup g(ctx);
      const std::vector<std::string> kinds = {"web", "image", "video"};
      std::vector<std::string> results(kinds.size());
      for (std::size_t i = 0; i < kinds.size(); i++) {
        g.go([&, i, c = g.ctx()] {
          if (c.err()) throw std::system_error(c.err());
          results[i] = kinds[i] + " result for \"" + query + "\"";
        });
      }
      g.wait();
      return results;
    };
    EXPECT_EQ(google(goro::background(), "golang"),
              (std::vector<std::string>{"web result for \"golang\"", "image result for \"golang\"",
                                        "video result for \"golang\""}));
  });
}

// ---- goro's additions ------------------------------------------------------------------------

// The first failure cancels the group's context at once, so the other tasks can stop early;
// wait() still waits for them, then rethrows the first exception as it was thrown.
TEST(Errgroup, FirstFailureCancelsTheRest) {
  run_checked([] {
    goro::errgroup g(goro::background());
    std::atomic<int> stopped{0};
    for (int i = 0; i < 8; i++) {
      g.go([&stopped, c = g.ctx()] {
        c.done().recv();  // until the failure below
        stopped.fetch_add(1);
      });
    }
    g.go([] { throw test_error("first"); });
    try {
      g.wait();
      ADD_FAILURE() << "wait() did not throw";
    } catch (const test_error& e) {
      EXPECT_STREQ(e.what(), "first");
    }
    EXPECT_EQ(stopped.load(), 8) << "wait() returned before every task ended";
  });
}

// A task returning std::error_code fails with a non-zero one (Go's `return err`).
TEST(Errgroup, ErrorCodeTasks) {
  run_checked([] {
    goro::errgroup g(goro::background());
    g.go([]() -> std::error_code { return {}; });
    g.go([]() -> std::error_code { return std::make_error_code(std::errc::timed_out); });
    try {
      g.wait();
      ADD_FAILURE() << "wait() did not throw";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), std::errc::timed_out);
    }
  });
}

TEST(Errgroup, SetLimitWhileActivePanics) {
  run_checked([] {
    goro::errgroup g;
    g.set_limit(2);
    auto release = goro::make_chan<goro::signal>();
    g.go([release] { release.recv(); });
    EXPECT_EQ(conformance::panic_text([&] { g.set_limit(5); }),
              "errgroup: modify limit while 1 goroutines in the group are still active");
    release.send({});
    g.wait();
    g.set_limit(-1);  // allowed again: nothing runs
  });
}

// go() at the limit parks for [chan send]; wait() parks for [semacquire], as Go's.
TEST(Errgroup, WaitReasons) {
  run_checked([] {
    goro::errgroup g;
    g.set_limit(1);
    auto release = goro::make_chan<goro::signal>();
    g.go([release] { release.recv(); });
    auto ids = goro::make_chan<std::uint64_t>(1);
    goro::wait_group spawner;
    spawner.add(1);
    goro::go([&, ids] {
      ids.send(goro::goroutine_id());
      g.go([] {});
      spawner.done();
    });
    goro_test::wait_until_parked(*ids.recv(), "chan send");
    goro::go([&, ids] {
      ids.send(goro::goroutine_id());
      g.wait();
      spawner.done();  // g must outlive every wait() on it
    });
    goro_test::wait_until_parked(*ids.recv(), "semacquire");
    spawner.add(1);
    release.send({});
    spawner.wait();
    g.wait();
  });
}

}  // namespace
