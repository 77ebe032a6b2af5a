// One channel shared by plain threads and goroutines at once: every blocking operation parks a
// goroutine but blocks a thread, and either side can wake the other.
#include <atomic>
#include <future>
#include <numeric>
#include <thread>
#include <utility>
#include <vector>

#include "test_util.hpp"

namespace {

using goro_test::runtime_test;
using goro_test::scaled;

using threads_test = runtime_test;

const int messages = static_cast<int>(scaled(20000, 5000, 2000));

long expected_sum(int n) { return static_cast<long>(n) * (n - 1) / 2; }

class threads_by_capacity : public runtime_test, public ::testing::WithParamInterface<int> {};

TEST_P(threads_by_capacity, ThreadSendsGoroutinesReceive) {
  const int capacity = GetParam();
  std::atomic<long> sum{0};
  goro::run([&] {
    auto ch = goro::make_chan<int>(capacity);
    std::thread producer([ch] {
      for (int i = 0; i < messages; ++i) ch.send(i);
      ch.close();
    });
    goro::wait_group wg;
    for (int g = 0; g < 4; ++g) {
      wg.add(1);
      goro::go([&, ch] {
        for (int v : ch) sum.fetch_add(v, std::memory_order_relaxed);
        wg.done();
      });
    }
    wg.wait();
    producer.join();
  });
  EXPECT_EQ(sum.load(), expected_sum(messages));
}

TEST_P(threads_by_capacity, GoroutinesSendThreadsReceive) {
  const int capacity = GetParam();
  constexpr int senders = 4;
  const int per_sender = messages / senders;
  std::atomic<long> sum{0};
  goro::run([&] {
    auto ch = goro::make_chan<int>(capacity);
    goro::wait_group sent;
    for (int g = 0; g < senders; ++g) {
      sent.add(1);
      goro::go([&, ch, g] {
        for (int i = 0; i < per_sender; ++i) ch.send(g * per_sender + i);
        sent.done();
      });
    }
    std::vector<std::thread> receivers;
    receivers.reserve(2);
    for (int t = 0; t < 2; ++t) {
      receivers.emplace_back([&, ch] {
        for (int v : ch) sum.fetch_add(v, std::memory_order_relaxed);
      });
    }
    sent.wait();
    ch.close();
    for (auto& t : receivers) t.join();
  });
  EXPECT_EQ(sum.load(), expected_sum(per_sender * senders));
}

TEST_P(threads_by_capacity, ThreadGoroutinePingPong) {
  const int capacity = GetParam();
  constexpr int rounds = messages / 4;
  goro::run([&] {
    auto ping = goro::make_chan<int>(capacity);
    auto pong = goro::make_chan<int>(capacity);
    std::thread th([ping, pong] {
      for (int i = 0; i < rounds; ++i) {
        ping.send(i);
        EXPECT_EQ(*pong.recv(), i * 2);
      }
      ping.close();
    });
    for (int v : ping) pong.send(v * 2);
    th.join();
  });
}

INSTANTIATE_TEST_SUITE_P(capacities, threads_by_capacity, ::testing::Values(0, 1, 64));

// Threads and goroutines on both sides of one channel at once.
TEST_F(threads_test, MixedSendersAndReceivers) {
  const int per_sender = messages / 8;
  std::atomic<long> sum{0};
  std::atomic<int> count{0};
  goro::run([&] {
    auto ch = goro::make_chan<int>(2);
    goro::wait_group senders, receivers;
    std::vector<std::thread> threads;
    threads.reserve(7);  // 4 producers, 3 consumers
    auto produce = [&, ch](int id) {
      for (int i = 0; i < per_sender; ++i) ch.send(id * per_sender + i);
      senders.done();
    };
    auto consume = [&, ch] {
      for (int v : ch) {
        sum.fetch_add(v, std::memory_order_relaxed);
        count.fetch_add(1, std::memory_order_relaxed);
      }
      receivers.done();
    };
    senders.add(8);
    receivers.add(6);
    for (int i = 0; i < 4; ++i) threads.emplace_back(produce, i);
    for (int i = 4; i < 8; ++i) goro::go(produce, i);
    for (int i = 0; i < 3; ++i) threads.emplace_back(consume);
    for (int i = 0; i < 3; ++i) goro::go(consume);
    senders.wait();
    ch.close();
    receivers.wait();
    for (auto& t : threads) t.join();
  });
  EXPECT_EQ(count.load(), per_sender * 8);
  EXPECT_EQ(sum.load(), expected_sum(per_sender * 8));
}

// A plain thread blocked in select is woken by a goroutine's send on either channel.
TEST_F(threads_test, ThreadBlockedInSelect) {
  goro::run([] {
    auto a = goro::make_chan<int>();
    auto b = goro::make_chan<int>();
    auto report = goro::make_chan<int>();
    std::thread th([a, b, report] {
      for (int i = 0; i < 100; ++i) {
        int got = -1;
        const std::size_t which =
            goro::select(goro::on_recv(a, [&](std::optional<int> v) { got = *v; }),
                         goro::on_recv(b, [&](std::optional<int> v) { got = 1000 + *v; }));
        report.send(static_cast<int>(which) * 100000 + got);
      }
    });
    for (int i = 0; i < 100; ++i) {
      if (i % 2 == 0) {
        a.send(i);
        EXPECT_EQ(*report.recv(), i);
      } else {
        b.send(i);
        EXPECT_EQ(*report.recv(), 100000 + 1000 + i);
      }
    }
    th.join();
  });
}

// A plain thread blocked in a select with a send case; a goroutine receives.
TEST_F(threads_test, ThreadSelectSendCase) {
  goro::run([] {
    auto out = goro::make_chan<int>();
    auto never = goro::make_chan<int>();
    std::thread th([out, never] {
      for (int i = 0; i < 100; ++i) {
        const std::size_t which =
            goro::select(goro::on_recv(never, [] { ADD_FAILURE(); }), goro::on_send(out, i));
        EXPECT_EQ(which, 1u);
      }
    });
    for (int i = 0; i < 100; ++i) EXPECT_EQ(*out.recv(), i);
    th.join();
  });
}

// Close wakes waiters of both kinds.
TEST_F(threads_test, CloseWakesThreadsAndGoroutines) {
  goro::run([] {
    auto ch = goro::make_chan<int>();
    auto ready = goro::make_chan<goro::signal>(8);
    std::atomic<int> woke{0};
    goro::wait_group wg;
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; ++i) {
      threads.emplace_back([&, ch, ready] {
        ready.send({});
        EXPECT_FALSE(ch.recv().has_value());
        woke.fetch_add(1);
      });
      wg.add(1);
      goro::go([&, ch, ready] {
        ready.send({});
        EXPECT_FALSE(ch.recv().has_value());
        woke.fetch_add(1);
        wg.done();
      });
    }
    for (int i = 0; i < 6; ++i) ready.recv();
    ch.close();
    wg.wait();
    for (auto& t : threads) t.join();
    EXPECT_EQ(woke.load(), 6);
  });
}

// A thread blocked sending on a channel that a goroutine closes gets panic_error, and so does
// a goroutine blocked the same way when a thread closes.
TEST_F(threads_test, CloseWhileBlockedInSendThrows) {
  goro::run([] {
    auto ch = goro::make_chan<int>();
    auto result = goro::make_chan<bool>(1);
    // The sender loops, so close() finds it either blocked in send() or about to call it: both
    // must end in panic_error.
    std::thread th([ch, result] {
      try {
        for (;;) ch.send(1);
      } catch (const goro::panic_error& e) {
        EXPECT_STREQ(e.what(), "send on closed channel");
        result.send(true);
      }
    });
    EXPECT_EQ(*ch.recv(), 1);  // the thread is in its send loop
    ch.close();
    EXPECT_TRUE(*result.recv());
    th.join();

    auto ch2 = goro::make_chan<int>();
    goro::go([ch2, result] {
      try {
        for (;;) ch2.send(2);
      } catch (const goro::panic_error& e) {
        EXPECT_STREQ(e.what(), "send on closed channel");
        result.send(true);
      }
    });
    std::thread closer([ch2] {
      EXPECT_EQ(*ch2.recv(), 2);
      ch2.close();
    });
    EXPECT_TRUE(*result.recv());
    closer.join();
  });
}

// Ordering that does not involve goroutines at all: a channel used only by plain threads
// works without run() (the runtime is never needed to block a thread).
TEST_F(threads_test, PlainThreadsOnly) {
  auto ch = goro::make_chan<int>();
  std::thread th([ch] {
    for (int i = 0; i < 1000; ++i) ch.send(i);
    ch.close();
  });
  long sum = 0;
  for (int v : ch) sum += v;
  th.join();
  EXPECT_EQ(sum, expected_sum(1000));
}

}  // namespace
