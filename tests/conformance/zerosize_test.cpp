// Port of test/chan/zerosize.go (channels of zero-size elements) and of the chan struct{}
// idioms Go programs build on it: chan<goro::signal> and channels of other empty types work
// unbuffered and buffered (at any capacity, since no payload is stored), through select, with
// close as a broadcast, and with range-for.
#include <array>
#include <atomic>
#include <cstdint>
#include <optional>

#include "conformance.hpp"

namespace {

using conformance::run_checked;
using goro::make_chan;
using goro::signal;
using goro::status;

struct empty_payload {};  // any other empty type behaves like signal

static_assert(std::is_empty_v<signal>);

// zerosize.go's main: making channels of zero-size types, unbuffered and buffered, works.
TEST(ZeroSize, MakeChannelsOfZeroSizeTypes) {
  auto a = make_chan<std::array<unsigned char, 0>>();
  auto b = make_chan<std::array<unsigned char, 0>>(1);
  auto c = make_chan<signal>();
  auto d = make_chan<signal>(1);
  EXPECT_TRUE(a && b && c && d);
  EXPECT_EQ(b.capacity(), 1u);
  EXPECT_EQ(d.capacity(), 1u);
  b.send({});
  d.send({});
  EXPECT_EQ(b.size(), 1u);
  EXPECT_EQ(d.size(), 1u);
}

TEST(ZeroSize, UnbufferedSignalRendezvous) {
  run_checked([] {
    auto ping = make_chan<signal>();
    auto pong = make_chan<signal>();
    goro::go([ping, pong] {
      for (int i = 0; i < 100; ++i) {
        EXPECT_TRUE(ping.recv().has_value());
        pong.send({});
      }
    });
    for (int i = 0; i < 100; ++i) {
      ping.send({});
      EXPECT_EQ(pong.recv(), signal{});
    }
  });
}

// No payload is stored, so a huge capacity costs nothing and len() still counts.
TEST(ZeroSize, BufferedSignalCountsWithoutStorage) {
  run_checked([] {
    constexpr std::size_t cap = std::size_t{1} << 40;
    auto ch = make_chan<signal>(cap);
    EXPECT_EQ(ch.capacity(), cap);
    for (int i = 0; i < 1000; ++i) EXPECT_EQ(ch.try_send(signal{}), status::ok);
    EXPECT_EQ(ch.size(), 1000u);
    signal out;
    for (int i = 0; i < 1000; ++i) EXPECT_EQ(ch.try_recv(out), status::ok);
    EXPECT_EQ(ch.try_recv(out), status::not_ready);
    EXPECT_EQ(ch.size(), 0u);
  });
}

TEST(ZeroSize, FullSignalBufferIsNotReadyForSend) {
  run_checked([] {
    auto ch = make_chan<signal>(2);
    ch.send({});
    ch.send({});
    EXPECT_EQ(ch.try_send(signal{}), status::not_ready);
    EXPECT_EQ(goro::select(goro::on_send(ch, signal{}), goro::on_default([] {})), 1u);
    EXPECT_EQ(ch.size(), 2u);
  });
}

TEST(ZeroSize, OtherEmptyTypes) {
  run_checked([] {
    auto ch = make_chan<empty_payload>(3);
    ch.send({});
    ch.send({});
    EXPECT_EQ(ch.size(), 2u);
    ch.close();
    int n = 0;
    for (empty_payload e : ch) {
      (void)e;
      ++n;
    }
    EXPECT_EQ(n, 2);
    EXPECT_FALSE(ch.recv().has_value());
  });
}

// close() as a broadcast: every waiter, in recv, in range-for and in select, wakes up.
TEST(ZeroSize, CloseWakesEveryWaiter) {
  run_checked([] {
    auto done = make_chan<signal>();
    constexpr int waiters = 30;
    goro::wait_group wg;
    wg.add(waiters);
    for (int i = 0; i < waiters; ++i) {
      goro::go([done, &wg, i] {
        if (i % 3 == 0) {
          EXPECT_FALSE(done.recv().has_value());
        } else if (i % 3 == 1) {
          for (signal s : done) {
            (void)s;
            ADD_FAILURE() << "nothing was sent";
          }
        } else {
          bool closed = false;
          goro::select(goro::on_recv(done, [&](std::optional<signal> v) { closed = !v; }));
          EXPECT_TRUE(closed);
        }
        wg.done();
      });
    }
    done.close();
    wg.wait();
  });
}

// A signal channel used as a semaphore with a buffer: at most `cap` holders at once.
TEST(ZeroSize, BufferedSignalAsSemaphore) {
  run_checked([] {
    constexpr std::size_t limit = 3;
    auto tokens = make_chan<signal>(limit);
    std::atomic<int> holders{0};
    std::atomic<int> max_holders{0};
    goro::wait_group wg;
    constexpr int workers = 20;
    wg.add(workers);
    for (int i = 0; i < workers; ++i) {
      goro::go([&] {
        for (int k = 0; k < 20; ++k) {
          tokens.send({});
          const int now = holders.fetch_add(1) + 1;
          int seen = max_holders.load();
          while (now > seen && !max_holders.compare_exchange_weak(seen, now)) {
          }
          goro::yield();
          holders.fetch_sub(1);
          (void)tokens.recv();
        }
        wg.done();
      });
    }
    wg.wait();
    EXPECT_LE(max_holders.load(), static_cast<int>(limit));
    EXPECT_GE(max_holders.load(), 1);
  });
}

}  // namespace
