// Channels shared by goroutines and plain threads at once (API.md: "One channel can be shared
// by goroutines and plain threads at once"): blocking send/recv, select and close work across
// the two kinds of callers in both directions, and a plain thread blocked in a goro call is
// woken by a goroutine. Threads report back over channels that the main goroutine waits on
// (parking, not blocking its worker), and are joined only after their last message.
#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "conformance.hpp"

namespace {

using conformance::run_checked;
using conformance::scaled;
using goro::make_chan;
using goro::on_recv;
using goro::on_send;
using goro::select;

TEST(Mixed, ThreadsSendGoroutinesReceive) {
  const int per_thread = scaled(5000);
  run_checked([] {
    for (std::size_t cap : {0u, 8u}) {
      auto ch = make_chan<int>(cap);
      auto sums = make_chan<long long>(4);
      constexpr int threads = 2;
      constexpr int receivers = 4;
      for (int r = 0; r < receivers; ++r) {
        goro::go([ch, sums] {
          long long sum = 0;
          for (int v : ch) sum += v;
          sums.send(sum);
        });
      }
      auto senders_done = make_chan<goro::signal>(threads);
      std::vector<std::thread> pool;
      pool.reserve(threads);
      for (int t = 0; t < threads; ++t) {
        pool.emplace_back([ch, senders_done] {
          EXPECT_EQ(goro::goroutine_id(), 0u) << "a plain thread has no goroutine id";
          for (int i = 1; i <= per_thread; ++i) ch.send(i);
          senders_done.send({});
        });
      }
      for (int t = 0; t < threads; ++t) senders_done.recv();
      for (auto& th : pool) th.join();
      ch.close();
      long long total = 0;
      for (int r = 0; r < receivers; ++r) total += *sums.recv();
      EXPECT_EQ(total, threads * static_cast<long long>(per_thread) * (per_thread + 1) / 2);
    }
  });
}

TEST(Mixed, GoroutinesSendThreadsReceive) {
  const int per_goroutine = scaled(5000);
  run_checked([] {
    auto ch = make_chan<int>();
    constexpr int senders = 4;
    goro::wait_group wg;
    wg.add(senders);
    for (int s = 0; s < senders; ++s) {
      goro::go([ch, &wg] {
        for (int i = 1; i <= per_goroutine; ++i) ch.send(i);
        wg.done();
      });
    }
    auto sums = make_chan<long long>(2);
    std::vector<std::thread> pool;
    pool.reserve(2);
    for (int t = 0; t < 2; ++t) {
      pool.emplace_back([ch, sums] {
        long long sum = 0;
        for (int v : ch) sum += v;  // a plain thread blocked in recv, woken by goroutines
        sums.send(sum);
      });
    }
    wg.wait();
    ch.close();  // wakes the threads blocked in recv
    long long total = *sums.recv() + *sums.recv();
    for (auto& th : pool) th.join();
    EXPECT_EQ(total, senders * static_cast<long long>(per_goroutine) * (per_goroutine + 1) / 2);
  });
}

// Unbuffered ping-pong between a goroutine and a plain thread: each hand-off blocks one side.
TEST(Mixed, PingPongBetweenThreadAndGoroutine) {
  const int rounds = scaled(2000);
  run_checked([] {
    auto ping = make_chan<int>();
    auto pong = make_chan<int>();
    std::thread t([ping, pong] {
      while (auto v = ping.recv()) pong.send(*v + 1);
      pong.close();
    });
    for (int i = 0; i < rounds; ++i) {
      ping.send(i);
      ASSERT_EQ(pong.recv(), i + 1);
    }
    ping.close();
    EXPECT_EQ(pong.recv(), std::nullopt);
    t.join();
  });
}

// A plain thread blocked in a select is woken by a goroutine's send or by close.
TEST(Mixed, ThreadSelectWokenByGoroutine) {
  run_checked([] {
    auto a = make_chan<int>();
    auto b = make_chan<int>();
    auto report = make_chan<int>(4);
    std::thread t([a, b, report] {
      for (int i = 0; i < 3; ++i) {
        int got = -1;
        select(on_recv(a, [&](std::optional<int> v) { got = v ? *v : -2; }),
               on_recv(b, [&](std::optional<int> v) { got = v ? *v + 100 : -3; }));
        report.send(got);
      }
    });
    a.send(1);
    EXPECT_EQ(report.recv(), 1);
    b.send(2);
    EXPECT_EQ(report.recv(), 102);
    a.close();
    EXPECT_EQ(report.recv(), -2);
    t.join();
  });
}

// A goroutine blocked in a select is woken by a plain thread's send.
TEST(Mixed, GoroutineSelectWokenByThread) {
  run_checked([] {
    auto a = make_chan<int>();
    auto quit = make_chan<goro::signal>();
    auto report = make_chan<int>(1);
    goro::go([a, quit, report] {
      int sum = 0;
      bool done = false;
      while (!done) {
        select(on_recv(a, [&](std::optional<int> v) { sum += *v; }),
               on_recv(quit, [&] { done = true; }));
      }
      report.send(sum);
    });
    std::thread t([a, quit] {
      for (int i = 1; i <= 100; ++i) a.send(i);
      quit.close();
    });
    EXPECT_EQ(report.recv(), 5050);
    t.join();
  });
}

// go() from a plain thread while run() is in progress.
TEST(Mixed, GoFromPlainThread) {
  run_checked([] {
    auto ch = make_chan<int>();
    std::thread t([ch] {
      for (int i = 0; i < 10; ++i) goro::go([ch, i] { ch.send(i); });
    });
    int sum = 0;
    for (int i = 0; i < 10; ++i) sum += *ch.recv();
    t.join();
    EXPECT_EQ(sum, 45);
  });
}

// Senders of both kinds into one select-driven receiver, with send cases from threads too.
TEST(Mixed, ThreadsAndGoroutinesSelectOnSharedChannels) {
  const int n = scaled(3000);
  run_checked([] {
    auto x = make_chan<int>(2);
    auto y = make_chan<int>();
    auto done = make_chan<goro::signal>(4);
    auto sender = [x, y, done] {
      for (int i = 0; i < n; ++i) select(on_send(x, 1), on_send(y, 1));
      done.send({});
    };
    std::thread t1(sender);
    std::thread t2(sender);
    goro::go(sender);  // a single named callable: a call, not a declaration
    goro::go(sender);
    long long got = 0;
    int finished = 0;
    while (finished < 4) {
      select(on_recv(x, [&](std::optional<int> v) { got += *v; }),
             on_recv(y, [&](std::optional<int> v) { got += *v; }),
             on_recv(done, [&] { ++finished; }));
    }
    int v = 0;
    while (x.try_recv(v) == goro::status::ok) got += v;
    t1.join();
    t2.join();
    EXPECT_EQ(got, 4LL * n);
  });
}

}  // namespace
