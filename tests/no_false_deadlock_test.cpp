// The deadlock detector must never fire on a program that can still make progress. Each test
// here is such a program, run in-process: a false report ends this binary with exit status 2
// and "fatal error: all goroutines are asleep - deadlock!", which fails the ctest run.
#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "test_util.hpp"

namespace {

using namespace std::chrono_literals;
using goro_test::runtime_test;
using goro_test::scaled;

using no_false_deadlock = runtime_test;

// Every goroutine asleep on a timer is waiting for time, not for each other.
TEST_F(no_false_deadlock, OnlySleepers) {
  goro::run([] { goro::sleep_for(5ms); });
  goro::run([] {
    goro::wait_group wg;
    for (int i = 0; i < 10; ++i) {
      wg.add(1);
      goro::go([&wg, i] {
        goro::sleep_for(std::chrono::milliseconds(1 + i % 3));
        wg.done();
      });
    }
    wg.wait();  // main blocked in semacquire while all others sleep
  });
}

TEST_F(no_false_deadlock, MainBlockedOnAfter) {
  goro::run([] {
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(goro::after(1ms).recv().has_value());
  });
}

TEST_F(no_false_deadlock, MainBlockedOnTickerAndTimer) {
  goro::run([] {
    goro::ticker t(1ms);
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(t.c().recv().has_value());
    t.stop();
    goro::timer tm(2ms);
    EXPECT_TRUE(tm.c().recv().has_value());
    goro::timer reset_later(1h);
    reset_later.reset(1ms);
    EXPECT_TRUE(reset_later.c().recv().has_value());
  });
}

// Main blocked in select whose only ready-able case is a timer.
TEST_F(no_false_deadlock, SelectWaitingForTimer) {
  goro::run([] {
    auto never = goro::make_chan<int>();
    goro::chan<int> nil;
    const std::size_t which = goro::select(goro::on_recv(never, [] {}), goro::on_send(nil, 1),
                                           goro::on_recv(goro::after(2ms), [] {}));
    EXPECT_EQ(which, 2u);
  });
}

// The thread that will send is busy elsewhere (blocked on a std::future the runtime cannot
// see) when main blocks: it counts as able to wake main.
TEST_F(no_false_deadlock, PlainThreadSendsAfterOtherWork) {
  for (int round = 0; round < 20; ++round) {
    std::promise<void> main_is_waiting;
    auto ch = goro::make_chan<int>();
    std::thread th([ch, round, f = main_is_waiting.get_future()]() mutable {
      f.wait();
      volatile long work = 0;
      for (int i = 0; i < 10000; ++i) work = work + i;
      ch.send(round);
    });
    goro::run([&] {
      main_is_waiting.set_value();
      EXPECT_EQ(*ch.recv(), round);
    });
    th.join();
  }
}

// A plain thread streams values to a goroutine while main waits: at every moment either the
// thread is running or it has just been handed a wakeup, so nothing is ever stuck.
TEST_F(no_false_deadlock, PlainThreadProducerFeedsGoroutine) {
  const int values = static_cast<int>(scaled(20000, 5000, 2000));
  for (int round = 0; round < 10; ++round) {
    goro::run([&] {
      auto ch = goro::make_chan<int>(round % 2);
      std::thread producer([ch] {
        for (int i = 0; i < values; ++i) ch.send(i);
        ch.close();
      });
      goro::wait_group wg;
      wg.add(1);
      long sum = 0;
      goro::go([&wg, &sum, ch] {
        for (int v : ch) sum += v;
        wg.done();
      });
      wg.wait();
      EXPECT_EQ(sum, static_cast<long>(values) * (values - 1) / 2);
      producer.join();
    });
  }
}

// A goroutine parked on a channel that only a plain thread will feed, while main waits on a
// wait_group: every goroutine is blocked, yet the thread can still wake one.
TEST_F(no_false_deadlock, GoroutineWokenByPlainThread) {
  for (int round = 0; round < 20; ++round) {
    std::promise<void> go_ahead;
    auto ch = goro::make_chan<int>(round % 2);
    std::thread th([ch, f = go_ahead.get_future()]() mutable {
      f.wait();
      ch.send(7);
    });
    goro::run([&] {
      goro::wait_group wg;
      wg.add(1);
      goro::go([&wg, ch] {
        EXPECT_EQ(*ch.recv(), 7);
        wg.done();
      });
      go_ahead.set_value();
      wg.wait();
    });
    th.join();
  }
}

// Main is blocked, but the goroutines that will release it are runnable (they never block,
// only yield): progress, not deadlock.
TEST_F(no_false_deadlock, MainWaitsOnWaitGroupOfRunnableGoroutines) {
  goro::run([] {
    goro::wait_group wg;
    std::atomic<long> work{0};
    for (int i = 0; i < 8; ++i) {
      wg.add(1);
      goro::go([&] {
        for (int k = 0; k < 2000; ++k) {
          work.fetch_add(1, std::memory_order_relaxed);
          if (k % 100 == 0) goro::yield();
        }
        wg.done();
      });
    }
    wg.wait();
    EXPECT_EQ(work.load(), 8 * 2000);
  });
}

TEST_F(no_false_deadlock, ThreadWaitingOnGoroutine) {
  goro::run([] {
    auto ch = goro::make_chan<int>();
    auto back = goro::make_chan<int>();
    std::thread th([ch, back] { back.send(*ch.recv() + 1); });
    // Main is blocked on `back` and the thread on `ch` (a thread blocked in a goro call is no
    // waker), but the sleeping goroutine below will feed the thread: progress, not deadlock.
    goro::go([ch] {
      goro::sleep_for(1ms);
      ch.send(1);
    });
    EXPECT_EQ(*back.recv(), 2);
    th.join();
  });
}

// Random small programs that provably finish: producers send a known number of values into
// channels of random capacity, a closer goroutine closes each channel once its producers are
// done, consumers drain with range-for or with a select over two channels (setting a closed
// one to nil, Go's idiom). Goroutines sleep, yield or take a shared mutex between steps; some
// producers are plain threads. Every program's totals are checked, and none may be reported as
// deadlocked.
class random_program {
 public:
  explicit random_program(std::uint32_t seed) : rng_(seed) {}

  void run() {
    const int n_chans = pick(rng_, 1, 4);
    std::vector<goro::chan<int>> chans;
    std::vector<long> expected(n_chans, 0);
    std::vector<std::atomic<long>> received(n_chans);
    // The whole shape is decided before anything starts; each goroutine gets its own RNG.
    struct producer {
      int chan, count, first;
      bool on_thread;
      std::uint32_t seed;
    };
    std::vector<producer> producers;
    std::vector<std::vector<std::uint32_t>> consumer_seeds(n_chans);
    for (int c = 0; c < n_chans; ++c) {
      chans.push_back(goro::make_chan<int>(static_cast<std::size_t>(pick(rng_, 0, 3))));
      for (int p = pick(rng_, 1, 3); p > 0; --p) {
        producer pr{c, pick(rng_, 0, 20), pick(rng_, 0, 1000), pick(rng_, 0, 9) == 0,
                    static_cast<std::uint32_t>(rng_())};
        for (int k = 0; k < pr.count; ++k) expected[c] += pr.first + k;
        producers.push_back(pr);
      }
      for (int q = pick(rng_, 1, 3); q > 0; --q) consumer_seeds[c].push_back(rng_());
    }
    const bool pair_select = n_chans >= 2 && pick(rng_, 0, 1) == 1;

    std::vector<std::thread> threads;
    goro::run([&] {
      std::vector<std::unique_ptr<goro::wait_group>> producers_done;
      producers_done.reserve(n_chans);
      for (int c = 0; c < n_chans; ++c) {
        producers_done.push_back(std::make_unique<goro::wait_group>());
      }
      goro::wait_group consumers_done;

      for (const producer& pr : producers) {
        producers_done[pr.chan]->add(1);
        auto body = [this, pr, ch = chans[pr.chan], wg = producers_done[pr.chan].get()] {
          std::mt19937 rng(pr.seed);
          for (int k = 0; k < pr.count; ++k) {
            ch.send(pr.first + k);
            if (!pr.on_thread) pause(rng);
          }
          wg->done();
        };
        if (pr.on_thread) {
          threads.emplace_back(body);
        } else {
          goro::go(body);
        }
      }
      for (int c = 0; c < n_chans; ++c) {
        goro::go([ch = chans[c], wg = producers_done[c].get()] {
          wg->wait();
          ch.close();
        });
      }
      for (int c = 0; c < n_chans; ++c) {
        for (std::uint32_t seed : consumer_seeds[c]) {
          consumers_done.add(1);
          goro::go([&, c, seed] {
            std::mt19937 rng(seed);
            for (int v : chans[c]) {
              received[c].fetch_add(v, std::memory_order_relaxed);
              pause(rng);
            }
            consumers_done.done();
          });
        }
      }
      if (pair_select) {
        // One more consumer drains channels 0 and 1 together.
        consumers_done.add(1);
        goro::go([&] {
          goro::chan<int> a = chans[0], b = chans[1];
          auto take = [&](goro::chan<int>& ch, int index) {
            return [&ch, &received, index](std::optional<int> v) {
              if (v) {
                received[index].fetch_add(*v, std::memory_order_relaxed);
              } else {
                ch = goro::chan<int>();  // closed: stop selecting on it
              }
            };
          };
          while (a || b) goro::select(goro::on_recv(a, take(a, 0)), goro::on_recv(b, take(b, 1)));
          consumers_done.done();
        });
      }
      consumers_done.wait();
      for (auto& wg : producers_done) wg->wait();
    });
    for (auto& t : threads) t.join();
    for (int c = 0; c < n_chans; ++c) {
      EXPECT_EQ(received[c].load(), expected[c]) << "channel " << c;
    }
    // The plain counter stays exact only if the mutex really excluded.
    EXPECT_EQ(mutex_uses_, counted_uses_.load());
  }

 private:
  static int pick(std::mt19937& rng, int lo, int hi) {
    return std::uniform_int_distribution<int>(lo, hi)(rng);
  }

  // A random way to give up the worker between two channel operations.
  void pause(std::mt19937& rng) {
    switch (pick(rng, 0, 5)) {
      case 0:
        goro::yield();
        break;
      case 1:
        goro::sleep_for(std::chrono::microseconds(pick(rng, 0, 200)));
        break;
      case 2: {
        std::lock_guard<goro::mutex> g(mu_);
        ++mutex_uses_;
        counted_uses_.fetch_add(1, std::memory_order_relaxed);
        goro::yield();  // park while holding it: others queue in lock()
        break;
      }
      default:
        break;
    }
  }

  std::mt19937 rng_;
  goro::mutex mu_;
  long mutex_uses_ = 0;  // guarded by mu_
  std::atomic<long> counted_uses_{0};
};

TEST_F(no_false_deadlock, RandomProgramsThatFinish) {
  const int programs = static_cast<int>(scaled(200, 100, 60));
  for (int i = 0; i < programs; ++i) {
    SCOPED_TRACE("seed " + std::to_string(i));
    random_program p(static_cast<std::uint32_t>(i) * 2654435761u + 1);
    p.run();
    if (HasFailure()) break;
  }
}

}  // namespace
