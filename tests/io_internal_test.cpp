// The poll-descriptor API goro::net builds on (src/io/io.hpp), white-box: unblock-on-close from
// another goroutine, deadlines set, moved and cleared while a wait is blocked, and a plain
// thread's wait through the poller. Ordered through channels and the test-only state query.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <thread>

#include "base/clock.hpp"
#include "io/io.hpp"
#include "test_util.hpp"

namespace {

using namespace std::chrono_literals;
using goro::detail::io_result;
using goro::detail::poll_mode;
using goro_test::runtime_test;

using io_internal = runtime_test;

struct registered_pipe {
  int r = -1, w = -1;
  goro::detail::poll_desc* pr = nullptr;
  goro::detail::poll_desc* pw = nullptr;
  registered_pipe() {
    int fds[2];
    EXPECT_EQ(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    r = fds[0];
    w = fds[1];
    pr = goro::detail::io_register(r);
    pw = goro::detail::io_register(w);
    EXPECT_NE(pr, nullptr);
    EXPECT_NE(pw, nullptr);
  }
  ~registered_pipe() {
    goro::detail::io_deregister(pr);
    goro::detail::io_deregister(pw);
    close(r);
    close(w);
  }
};

std::int64_t in(std::chrono::nanoseconds d) { return goro::detail::now_ns() + d.count(); }

io_result wait(goro::detail::poll_desc* pd, poll_mode m) {
  return goro::detail::io_wait(pd, m, goro::source_location::current());
}

// Fills the pipe so that a write would block.
void fill(int w) {
  char buf[4096] = {};
  while (write(w, buf, sizeof buf) > 0) {
  }
  EXPECT_EQ(errno, EAGAIN);
}

TEST_F(io_internal, EvictWakesBlockedReaderAndWriter) {
  goro::run([] {
    registered_pipe empty, full;  // a reader waits on the first, a writer on the second
    fill(full.w);
    auto ids = goro::make_chan<std::uint64_t>(2);
    auto results = goro::make_chan<io_result>(2);
    goro::go([&] {
      ids.send(goro::goroutine_id());
      results.send(wait(empty.pr, poll_mode::read));
    });
    goro::go([&] {
      ids.send(goro::goroutine_id());
      // The write end was ready when it was registered (before the fill): that readiness is
      // consumed by the first wait, which returns at once; the next one blocks.
      io_result r;
      while ((r = wait(full.pw, poll_mode::write)) == io_result::ready) fill(full.w);
      results.send(r);
    });
    goro_test::wait_until_parked(*ids.recv(), "IO wait");
    goro_test::wait_until_parked(*ids.recv(), "IO wait");
    goro::detail::io_evict(empty.pr);
    goro::detail::io_evict(full.pw);
    EXPECT_EQ(results.recv(), std::optional<io_result>(io_result::closed));
    EXPECT_EQ(results.recv(), std::optional<io_result>(io_result::closed));
    // Every later wait too, at once; evicting again is harmless.
    goro::detail::io_evict(empty.pr);
    EXPECT_EQ(wait(empty.pr, poll_mode::read), io_result::closed);
    EXPECT_EQ(wait(full.pw, poll_mode::write), io_result::closed);
  });
}

TEST_F(io_internal, DeadlineTimesOutThenCanBeCleared) {
  goro::run([] {
    registered_pipe p;
    // The write end is ready at once (ADD reports it), so a write wait with a deadline far
    // ahead returns ready.
    goro::detail::io_set_deadline(p.pw, poll_mode::write, in(1h));
    EXPECT_EQ(wait(p.pw, poll_mode::write), io_result::ready);

    const std::int64_t deadline = in(10ms);
    goro::detail::io_set_deadline(p.pr, poll_mode::read, deadline);
    EXPECT_EQ(wait(p.pr, poll_mode::read), io_result::timeout);
    EXPECT_GE(goro::detail::now_ns(), deadline);
    EXPECT_EQ(wait(p.pr, poll_mode::read), io_result::timeout);  // it stays passed
    // Cleared: the wait blocks again until data.
    goro::detail::io_set_deadline(p.pr, poll_mode::read, 0);
    auto id = goro::make_chan<std::uint64_t>(1);
    auto res = goro::make_chan<io_result>(1);
    goro::go([&] {
      id.send(goro::goroutine_id());
      res.send(wait(p.pr, poll_mode::read));
    });
    goro_test::wait_until_parked(*id.recv(), "IO wait");
    ASSERT_EQ(write(p.w, "x", 1), 1);
    EXPECT_EQ(res.recv(), std::optional<io_result>(io_result::ready));
  });
}

// A deadline moved into the past, or later, while the wait is blocked.
TEST_F(io_internal, DeadlineChangedWhileBlocked) {
  goro::run([] {
    registered_pipe p;
    auto id = goro::make_chan<std::uint64_t>(1);
    auto res = goro::make_chan<io_result>(1);
    // A deadline moved later: the first timer's fire must not end the wait.
    goro::detail::io_set_deadline(p.pr, poll_mode::read, in(2ms));
    goro::detail::io_set_deadline(p.pr, poll_mode::read, in(1h));
    goro::go([&] {
      id.send(goro::goroutine_id());
      res.send(wait(p.pr, poll_mode::read));
    });
    const std::uint64_t g = *id.recv();
    goro_test::wait_until_parked(g, "IO wait");
    goro::sleep_for(5ms);  // past the first deadline: a stale fire would have woken it
    EXPECT_EQ(goro::debug::goroutine_status(g), std::string("IO wait"));
    // Into the past: it wakes with timeout.
    goro::detail::io_set_deadline(p.pr, poll_mode::read, in(-1ms));
    EXPECT_EQ(res.recv(), std::optional<io_result>(io_result::timeout));
    goro::detail::io_set_deadline(p.pr, poll_mode::read, 0);
  });
}

// A plain thread waits through the poller (on its futex) and an evict from a goroutine wakes it.
TEST_F(io_internal, PlainThreadWaitsAndIsEvicted) {
  goro::run([] {
    registered_pipe p;
    auto started = goro::make_chan<bool>();
    auto res = goro::make_chan<io_result>(2);
    std::thread t([&] {
      started.send(true);
      res.send(wait(p.pr, poll_mode::read));  // data, written below
      res.send(wait(p.pr, poll_mode::read));  // blocks: the data was not read, no new edge...
    });
    started.recv();
    ASSERT_EQ(write(p.w, "x", 1), 1);
    EXPECT_EQ(res.recv(), std::optional<io_result>(io_result::ready));
    goro::detail::io_evict(p.pr);  // ...until the evict, wherever the thread is by now
    EXPECT_EQ(res.recv(), std::optional<io_result>(io_result::closed));
    t.join();
  });
}

}  // namespace
