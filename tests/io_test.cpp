// goro::io::wait_readable / wait_writable, black-box: pipes between goroutines, deadlines,
// descriptor numbers closed and reused, many waiters at once, dumps, the deadlock detector, and
// plain threads. Every ordering goes through channels, wait groups or the kernel, never a sleep.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "test_util.hpp"

namespace {

using namespace std::chrono_literals;
using goro_test::runtime_test;
using goro_test::scaled;

using io = runtime_test;

// A non-blocking pipe, closed when it goes.
struct pipe_pair {
  int r = -1, w = -1;
  pipe_pair() {
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
      throw std::system_error(errno, std::generic_category());
    r = fds[0];
    w = fds[1];
  }
  pipe_pair(const pipe_pair&) = delete;
  pipe_pair& operator=(const pipe_pair&) = delete;
  ~pipe_pair() { close_both(); }
  void close_both() {
    if (r >= 0) close(r);
    if (w >= 0) close(w);
    r = w = -1;
  }
};

// Reads one byte from a non-blocking descriptor, waiting for it through wait_readable.
char read_byte(int fd) {
  for (;;) {
    char c;
    const ssize_t n = read(fd, &c, 1);
    if (n == 1) return c;
    EXPECT_TRUE(n < 0 && errno == EAGAIN) << "read: " << n << " errno " << errno;
    if (!(n < 0 && errno == EAGAIN)) return 0;
    EXPECT_TRUE(goro::io::wait_readable(fd));
  }
}

void write_byte(int fd, char c) { ASSERT_EQ(write(fd, &c, 1), 1); }

// The soft limit on descriptors raised to `want` (or the hard limit): the many-waiters test
// needs three per waiter (a pipe and the wait's own duplicate).
void raise_nofile(rlim_t want) {
  rlimit rl{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_cur >= want) return;
  rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

TEST_F(io, PipePingPong) {
  goro::run([] {
    pipe_pair ab, ba;
    const int rounds = static_cast<int>(scaled(2000, 500, 200));
    goro::wait_group wg;
    wg.add(1);
    goro::go([&] {
      goro_test::done_guard done(wg);
      for (int i = 0; i < rounds; i++) {
        const char c = read_byte(ab.r);
        EXPECT_EQ(c, static_cast<char>(i));
        write_byte(ba.w, static_cast<char>(c + 1));
      }
    });
    for (int i = 0; i < rounds; i++) {
      write_byte(ab.w, static_cast<char>(i));
      EXPECT_EQ(read_byte(ba.r), static_cast<char>(i + 1));
    }
    wg.wait();
  });
}

TEST_F(io, WaitWritableOnAFullPipe) {
  goro::run([] {
    pipe_pair p;
    char buf[4096] = {};
    std::size_t filled = 0;
    for (;;) {  // fill the pipe
      const ssize_t n = write(p.w, buf, sizeof buf);
      if (n < 0) break;
      filled += static_cast<std::size_t>(n);
    }
    ASSERT_EQ(errno, EAGAIN);
    auto waiting = goro::make_chan<std::uint64_t>(1);
    auto woke = goro::make_chan<bool>(1);
    goro::go([&] {
      waiting.send(goro::goroutine_id());
      woke.send(goro::io::wait_writable(p.w));
    });
    goro_test::wait_until_parked(*waiting.recv(), "IO wait");
    // Drain it: the writer wakes.
    while (filled > 0) {
      const ssize_t n = read(p.r, buf, sizeof buf);
      ASSERT_GT(n, 0);
      filled -= static_cast<std::size_t>(n);
    }
    EXPECT_EQ(woke.recv(), std::optional<bool>(true));
  });
}

// A deadline ends the wait with false, and not before the deadline.
TEST_F(io, DeadlineReturnsFalseNotBefore) {
  goro::run([] {
    pipe_pair p;
    auto result = goro::make_chan<bool>(1);
    const auto deadline = std::chrono::steady_clock::now() + 20ms;
    goro::go([&] { result.send(goro::io::wait_readable(p.r, deadline)); });
    EXPECT_EQ(result.recv(), std::optional<bool>(false));
    EXPECT_GE(std::chrono::steady_clock::now(), deadline);
    // A deadline already past: false at once, even for a ready descriptor (Go's order).
    write_byte(p.w, 'x');
    EXPECT_FALSE(goro::io::wait_readable(p.r, std::chrono::steady_clock::now() - 1ms));
    // Without a deadline, the data is there.
    EXPECT_TRUE(goro::io::wait_readable(p.r));
    // Readiness before the deadline wins.
    EXPECT_TRUE(goro::io::wait_readable(p.r, std::chrono::steady_clock::now() + 1h));
  });
}

// Many goroutines with deadlines, half of which get their data: each gets the right answer,
// and none times out early.
TEST_F(io, DeadlinesAndDataMixed) {
  goro::run([] {
    const int n = static_cast<int>(scaled(200, 100, 50));
    std::vector<pipe_pair> pipes(static_cast<std::size_t>(n));
    goro::wait_group wg;
    for (int i = 0; i < n; i++) {
      wg.add(1);
      goro::go([&, i] {
        goro_test::done_guard done(wg);
        // The ones that get data have a deadline far ahead, the others a short one.
        const auto deadline = std::chrono::steady_clock::now() + (i % 2 == 0 ? 1h : 5ms);
        const bool ready = goro::io::wait_readable(pipes[i].r, deadline);
        if (i % 2 == 0) {
          EXPECT_TRUE(ready) << i;
        } else {
          EXPECT_FALSE(ready) << i;
          EXPECT_GE(std::chrono::steady_clock::now(), deadline);
        }
      });
    }
    for (int i = 0; i < n; i += 2) write_byte(pipes[i].w, 'x');
    wg.wait();
  });
}

// A descriptor number closed and reused at once: the waiter on the new descriptor is woken by
// its own data only, never by an event of the old one (it would read EAGAIN then).
TEST_F(io, ClosedAndReusedNumberDoesNotWakeTheWrongWaiter) {
  goro::run([] {
    const int rounds = static_cast<int>(scaled(200, 100, 50));
    int reused = 0;
    for (int i = 0; i < rounds; i++) {
      auto old_pipe = std::make_unique<pipe_pair>();
      const int old_r = old_pipe->r;
      // A waiter on the old descriptor, woken by data, and more data written after it, so that
      // events for the old registration are in flight when it closes.
      auto done_old = goro::make_chan<bool>(1);
      goro::go([&] { done_old.send(goro::io::wait_readable(old_pipe->r)); });
      write_byte(old_pipe->w, 'a');
      EXPECT_EQ(done_old.recv(), std::optional<bool>(true));
      write_byte(old_pipe->w, 'b');
      old_pipe.reset();  // closes both ends

      pipe_pair fresh;
      if (fresh.r == old_r) reused++;
      auto waiting = goro::make_chan<std::uint64_t>(1);
      auto got = goro::make_chan<char>(1);
      goro::go([&] {
        waiting.send(goro::goroutine_id());
        EXPECT_TRUE(goro::io::wait_readable(fresh.r));
        char c = 0;
        EXPECT_EQ(read(fresh.r, &c, 1), 1) << "woken without data (errno " << errno << ")";
        got.send(c);
      });
      if (i % 8 == 0)
        goro_test::wait_until_parked(*waiting.recv(), "IO wait");
      else
        waiting.recv();
      write_byte(fresh.w, 'n');
      EXPECT_EQ(got.recv(), std::optional<char>('n'));
    }
    EXPECT_GT(reused, 0) << "the kernel never reused a number: the test proved little";
  });
}

// The caller may close its descriptor as soon as the wait returned, and the kernel reuse the
// number for a descriptor another goroutine waits on at once.
TEST_F(io, CloseRightAfterTheWait) {
  goro::run([] {
    const int rounds = static_cast<int>(scaled(500, 200, 100));
    goro::wait_group wg;
    for (int g = 0; g < 4; g++) {
      wg.add(1);
      goro::go([&] {
        goro_test::done_guard done(wg);
        for (int i = 0; i < rounds; i++) {
          pipe_pair p;
          write_byte(p.w, 'x');
          EXPECT_TRUE(goro::io::wait_readable(p.r));
          EXPECT_TRUE(goro::io::wait_writable(p.w));
        }
      });
    }
    wg.wait();
  });
}

TEST_F(io, ThousandWaitersAllWake) {
  const int n = static_cast<int>(scaled(1000, 1000, 500));
  raise_nofile(static_cast<rlim_t>(3) * static_cast<rlim_t>(n) + 256);
  goro::run([n] {
    std::vector<pipe_pair> pipes(static_cast<std::size_t>(n));
    goro::wait_group started, wg;
    std::atomic<int> woke{0};
    for (int i = 0; i < n; i++) {
      started.add(1);
      wg.add(1);
      goro::go([&, i] {
        goro_test::done_guard done(wg);
        started.done();
        EXPECT_EQ(read_byte(pipes[static_cast<std::size_t>(i)].r), static_cast<char>(i & 0x7f));
        woke.fetch_add(1, std::memory_order_relaxed);
      });
    }
    started.wait();
    for (int i = n - 1; i >= 0; i--)
      write_byte(pipes[static_cast<std::size_t>(i)].w, static_cast<char>(i & 0x7f));
    wg.wait();
    EXPECT_EQ(woke.load(), n);
  });
}

TEST_F(io, DumpShowsIOWaitAtTheCallSite) {
  goro::run([] {
    pipe_pair p;
    auto waiting = goro::make_chan<std::uint64_t>(1);
    auto done = goro::make_chan<bool>(1);
    goro::go([&] {
      waiting.send(goro::goroutine_id());
      done.send(goro::io::wait_readable(p.r));  // @wait-site
    });
    const std::uint64_t id = *waiting.recv();
    goro_test::wait_until_parked(id, "IO wait");
    const std::string text = goro_test::dump_now();
    const std::string head = "goroutine " + std::to_string(id) + " [IO wait]:";
    const auto at = text.find(head);
    ASSERT_NE(at, std::string::npos) << text;
    const auto block = text.substr(at, text.find("\n\n", at) - at);
    EXPECT_NE(block.find("io_test.cpp:"), std::string::npos) << block;
    EXPECT_EQ(goro::debug::goroutine_status(id), std::string("IO wait"));
    write_byte(p.w, 'x');
    EXPECT_EQ(done.recv(), std::optional<bool>(true));
  });
}

// Every goroutine waits on I/O and no plain thread is around: only the kernel can end the
// waits (a timerfd that expires later), so the detector must stay quiet. A false report ends
// this binary with exit status 2.
TEST_F(io, AllWaitingOnIOIsNotADeadlock) {
  goro::run([] {
    const int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    ASSERT_GE(tfd, 0);
    // Long enough for several of the detector's rounds (20 ms apart).
    itimerspec its{};
    its.it_value.tv_nsec = 150'000'000;
    ASSERT_EQ(timerfd_settime(tfd, 0, &its, nullptr), 0);
    goro::wait_group wg;
    for (int i = 0; i < 3; i++) {
      wg.add(1);
      goro::go([&] {
        goro_test::done_guard done(wg);
        EXPECT_TRUE(goro::io::wait_readable(tfd));
      });
    }
    wg.wait();  // main: semacquire; the others: IO wait
    close(tfd);
  });
}

// Goroutines wait on a pipe whose writer is a plain thread, which writes after a handshake
// through a channel and once the reader is parked.
TEST_F(io, WriterOnAPlainThread) {
  goro::run([] {
    pipe_pair p;
    auto reader = goro::make_chan<std::uint64_t>();
    std::thread writer([&] {
      const std::uint64_t id = *reader.recv();
      goro_test::wait_until_parked(id, "IO wait");
      write_byte(p.w, 'x');
    });
    auto done = goro::make_chan<char>(1);
    goro::go([&] {
      reader.send(goro::goroutine_id());
      done.send(read_byte(p.r));
    });
    EXPECT_EQ(done.recv(), std::optional<char>('x'));
    writer.join();
  });
}

TEST_F(io, PlainThreadBlocks) {
  pipe_pair p;
  std::atomic<bool> returned{false};
  auto started = goro::make_chan<bool>();
  std::thread t([&] {
    started.send(true);
    EXPECT_TRUE(goro::io::wait_readable(p.r));
    returned = true;
    const auto deadline = std::chrono::steady_clock::now() + 10ms;
    char c;
    EXPECT_EQ(read(p.r, &c, 1), 1);
    EXPECT_FALSE(goro::io::wait_readable(p.r, deadline));
    EXPECT_GE(std::chrono::steady_clock::now(), deadline);
    EXPECT_TRUE(goro::io::wait_writable(p.w));
  });
  EXPECT_TRUE(started.recv().has_value());
  EXPECT_FALSE(returned.load());
  write_byte(p.w, 'x');
  t.join();
  EXPECT_TRUE(returned.load());
}

TEST_F(io, BadDescriptors) {
  auto check = [] {
    EXPECT_THROW(goro::io::wait_readable(-1), std::invalid_argument);
    EXPECT_THROW(goro::io::wait_writable(-5), std::invalid_argument);
    try {
      goro::io::wait_readable(-1);
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()), "goro::io::wait_readable: negative file descriptor -1");
    }
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    close(fds[0]);
    close(fds[1]);
    try {
      goro::io::wait_readable(fds[0], std::chrono::steady_clock::now() + 1h);
      ADD_FAILURE() << "no error for a closed descriptor";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), EBADF);
    }
  };
  check();  // a plain thread
  goro::run(check);
}

// A regular file is always ready, as poll(2) says.
TEST_F(io, RegularFileIsReady) {
  goro::run([] {
    char name[] = "/tmp/goro-io-test-XXXXXX";
    const int fd = mkstemp(name);
    ASSERT_GE(fd, 0);
    unlink(name);
    EXPECT_TRUE(goro::io::wait_readable(fd));
    EXPECT_TRUE(goro::io::wait_writable(fd));
    close(fd);
  });
}

// Inside goro::blocking() the goroutine acts as a plain thread: the wait blocks its thread.
TEST_F(io, InsideBlocking) {
  goro::run([] {
    pipe_pair p;
    write_byte(p.w, 'x');
    EXPECT_TRUE(goro::blocking([&] { return goro::io::wait_readable(p.r); }));
  });
}

}  // namespace
