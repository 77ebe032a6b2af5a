// Ports of src/runtime/chan_test.go: TestChan, TestNonblockRecvRace, TestNonblockSelectRace,
// TestNonblockSelectRace2, TestSelfSelect, TestSelectStress, TestPseudoRandomSend,
// TestMultiConsumer, TestSelectFairness and TestSelectDuplicateChannel. Go's versions order
// some steps with time.Sleep; these do not: where Go sleeps to let a goroutine block first,
// the port checks what holds whichever goroutine gets there first.
#include <array>
#include <atomic>
#include <map>
#include <optional>
#include <vector>

#include "conformance.hpp"

namespace {

using conformance::run_checked;
using conformance::scaled;
using goro::chan;
using goro::make_chan;
using goro::on_default;
using goro::on_recv;
using goro::on_send;
using goro::select;
using goro::status;

// --- TestChan: every behaviour at every capacity from 0 to 9. ---

class ChanCapacity : public ::testing::TestWithParam<std::size_t> {};

// Receives from an empty channel do not complete until something is sent; a non-blocking
// receive takes the default meanwhile.
TEST_P(ChanCapacity, RecvFromEmptyChannelWaitsForSend) {
  const std::size_t cap = GetParam();
  run_checked([cap] {
    auto c = make_chan<int>(cap);
    auto results = make_chan<std::optional<int>>(2);
    for (int i = 0; i < 2; ++i) goro::go([c, results] { results.send(c.recv()); });
    std::optional<int> early;
    EXPECT_EQ(results.try_recv(early), status::not_ready) << "receive from empty chan";
    EXPECT_EQ(
        select(on_recv(c, [] { ADD_FAILURE() << "receive from empty chan"; }), on_default([] {})),
        1u);
    int out = 0;
    EXPECT_EQ(c.try_recv(out), status::not_ready);
    c.send(0);
    c.send(0);
    EXPECT_EQ(results.recv(), std::optional<std::optional<int>>(0));
    EXPECT_EQ(results.recv(), std::optional<std::optional<int>>(0));
  });
}

// A send to a full channel does not complete until something is received.
TEST_P(ChanCapacity, SendToFullChannelWaitsForRecv) {
  const std::size_t cap = GetParam();
  run_checked([cap] {
    auto c = make_chan<int>(cap);
    for (std::size_t i = 0; i < cap; ++i) c.send(static_cast<int>(i));
    auto sent = make_chan<goro::signal>(1);
    goro::go([c, sent] {
      c.send(0);
      sent.send({});
    });
    goro::signal s;
    EXPECT_EQ(sent.try_recv(s), status::not_ready) << "send to full chan";
    EXPECT_EQ(
        select(on_send(c, 0, [] { ADD_FAILURE() << "send to full chan"; }), on_default([] {})), 1u);
    (void)c.recv();
    sent.recv();
    EXPECT_EQ(c.size(), cap);
  });
}

// A closed channel hands out what it buffered, in order, then "closed" forever.
TEST_P(ChanCapacity, ClosedChannelDrainsThenReportsClosed) {
  const std::size_t cap = GetParam();
  run_checked([cap] {
    auto c = make_chan<int>(cap);
    for (std::size_t i = 0; i < cap; ++i) c.send(static_cast<int>(i));
    c.close();
    for (std::size_t i = 0; i < cap; ++i) EXPECT_EQ(c.recv(), static_cast<int>(i));
    EXPECT_EQ(c.recv(), std::nullopt);
    EXPECT_EQ(c.recv(), std::nullopt);
  });
}

// close() wakes a receiver, which sees the channel closed.
TEST_P(ChanCapacity, CloseUnblocksRecv) {
  const std::size_t cap = GetParam();
  run_checked([cap] {
    auto c = make_chan<int>(cap);
    auto done = make_chan<bool>();
    goro::go([c, done] { done.send(!c.recv().has_value()); });
    c.close();
    EXPECT_EQ(done.recv(), true) << "received a value from a closed chan";
  });
}

// 100 values arrive uncorrupted and in order, with recv and with try-free range-for; then
// 4 senders x 1000 values reach 4 receivers, each value exactly 4 times.
TEST_P(ChanCapacity, FifoAndManyToMany) {
  const std::size_t cap = GetParam();
  run_checked([cap] {
    auto c = make_chan<int>(cap);
    goro::go([c] {
      for (int i = 0; i < 100; ++i) c.send(i);
    });
    for (int i = 0; i < 100; ++i) ASSERT_EQ(c.recv(), i);

    goro::go([c] {
      for (int i = 0; i < 100; ++i) c.send(i);
    });
    for (int i = 0; i < 100; ++i) {
      auto v = c.recv();
      ASSERT_TRUE(v.has_value());
      ASSERT_EQ(*v, i);
    }

    constexpr int p = 4;
    const int l = scaled(1000, 4);
    for (int k = 0; k < p; ++k) {
      goro::go([c] {
        for (int i = 0; i < l; ++i) c.send(i);
      });
    }
    auto done = make_chan<std::map<int, int>>();
    for (int k = 0; k < p; ++k) {
      goro::go([c, done] {
        std::map<int, int> got;
        for (int i = 0; i < l; ++i) ++got[*c.recv()];
        done.send(std::move(got));
      });
    }
    std::map<int, int> all;
    for (int k = 0; k < p; ++k) {
      const auto got = done.recv();  // named: a range-for over *done.recv() would dangle
      ASSERT_TRUE(got.has_value());
      for (auto [v, n] : *got) all[v] += n;
    }
    ASSERT_EQ(all.size(), static_cast<std::size_t>(l));
    for (auto [v, n] : all) ASSERT_EQ(n, p) << "value " << v;
  });
}

TEST_P(ChanCapacity, LenAndCap) {
  const std::size_t cap = GetParam();
  run_checked([cap] {
    auto c = make_chan<int>(cap);
    EXPECT_EQ(c.size(), 0u);
    EXPECT_EQ(c.capacity(), cap);
    for (std::size_t i = 0; i < cap; ++i) c.send(static_cast<int>(i));
    EXPECT_EQ(c.size(), cap);
    EXPECT_EQ(c.capacity(), cap);
  });
}

INSTANTIATE_TEST_SUITE_P(Capacities, ChanCapacity, ::testing::Range<std::size_t>(0, 10));

// --- TestNonblockRecvRace: a channel with a buffered value is ready for a non-blocking
// receive even while another goroutine closes it and receives from it. ---
TEST(RuntimeChan, NonblockRecvRace) {
  const int n = scaled(5000);
  run_checked([] {
    for (int i = 0; i < n; ++i) {
      auto c = make_chan<int>(1);
      c.send(1);
      auto done = make_chan<goro::signal>();
      goro::go([c, done] {
        select(on_recv(c, [] {}), on_default([] { ADD_FAILURE() << "chan is not ready"; }));
        done.send({});
      });
      c.close();
      (void)c.recv();
      done.recv();
    }
  });
}

// --- TestNonblockSelectRace / TestNonblockSelectRace2: select looks at all channels at one
// moment. From the moment the goroutine starts, c1 or c2 is always ready, so its non-blocking
// select must never take the default. In the second variant c2 becomes ready by closing. ---
void nonblock_select_race(bool close_c2) {
  const int n = scaled(10000);
  run_checked([close_c2] {
    auto done = make_chan<bool>(1);
    for (int i = 0; i < n; ++i) {
      auto c1 = make_chan<int>(1);
      auto c2 = make_chan<int>(close_c2 ? 0 : 1);
      c1.send(1);
      goro::go([c1, c2, done] {
        bool ready = true;
        select(on_recv(c1, [] {}), on_recv(c2, [] {}), on_default([&] { ready = false; }));
        done.send(ready);
      });
      if (close_c2) {
        c2.close();
      } else {
        c2.send(1);
      }
      select(on_recv(c1, [] {}), on_default([] {}));
      ASSERT_EQ(done.recv(), true) << "no chan is ready, iteration " << i;
    }
  });
}

TEST(RuntimeChan, NonblockSelectRace) { nonblock_select_race(false); }
TEST(RuntimeChan, NonblockSelectRace2) { nonblock_select_race(true); }

// --- TestSelfSelect: a select that sends and receives on the same channel never matches
// itself, and two of them on one channel neither crash nor deadlock. ---
TEST(RuntimeChan, SelfSelect) {
  run_checked([] {
    for (std::size_t cap : {0u, 10u}) {
      goro::wait_group wg;
      wg.add(2);
      auto c = make_chan<int>(cap);
      for (int p = 0; p < 2; ++p) {
        goro::go([c, p, cap, &wg] {
          for (int i = 0; i < 1000; ++i) {
            auto check = [&](std::optional<int> v) {
              EXPECT_TRUE(v.has_value());
              if (cap == 0) {
                EXPECT_NE(v, p) << "self receive";
              }
            };
            // Case order differs between the goroutines, as in Go's test.
            if (p == 0 || i % 2 == 0) {
              select(on_send(c, p), on_recv(c, check));
            } else {
              select(on_recv(c, check), on_send(c, p));
            }
          }
          wg.done();
        });
      }
      wg.wait();
    }
  });
}

// --- TestSelectStress: 4 channels of different capacities; per channel one plain sender and
// one plain receiver, plus one goroutine sending N to each through one select and one
// receiving N from each through one select, dropping a channel (nil) once it is done. The
// point: no lost wakeups and no deadlock. ---
TEST(RuntimeChan, SelectStress) {
  const int n = scaled(20000);
  run_checked([] {
    std::array<chan<int>, 4> c{make_chan<int>(), make_chan<int>(), make_chan<int>(2),
                               make_chan<int>(3)};
    goro::wait_group wg;
    wg.add(10);
    for (int k = 0; k < 4; ++k) {
      goro::go([ch = c[k], &wg] {
        for (int i = 0; i < n; ++i) ch.send(0);
        wg.done();
      });
      goro::go([ch = c[k], &wg] {
        for (int i = 0; i < n; ++i) (void)ch.recv();
        wg.done();
      });
    }
    goro::go([c, &wg]() mutable {
      std::array<int, 4> count{};
      auto sent = [&](int k) {
        if (++count[k] == n) c[k] = {};
      };
      for (int i = 0; i < 4 * n; ++i) {
        select(on_send(c[3], 0, [&] { sent(3); }), on_send(c[2], 0, [&] { sent(2); }),
               on_send(c[0], 0, [&] { sent(0); }), on_send(c[1], 0, [&] { sent(1); }));
      }
      wg.done();
    });
    goro::go([c, &wg]() mutable {
      std::array<int, 4> count{};
      auto got = [&](int k) {
        if (++count[k] == n) c[k] = {};
      };
      for (int i = 0; i < 4 * n; ++i) {
        select(on_recv(c[0], [&] { got(0); }), on_recv(c[1], [&] { got(1); }),
               on_recv(c[2], [&] { got(2); }), on_recv(c[3], [&] { got(3); }));
      }
      wg.done();
    });
    wg.wait();
    for (const auto& ch : c) EXPECT_EQ(ch.size(), 0u);
  });
}

// --- TestPseudoRandomSend: a select between sending 1 and sending 0 on the same channel
// picks both. With n = 1000 fair choices, fewer than n/10 of either has probability below
// 1e-140. ---
TEST(RuntimeChan, PseudoRandomSend) {
  run_checked([] {
    constexpr int n = 1000;
    for (std::size_t cap : {std::size_t{0}, std::size_t{n}}) {
      auto c = make_chan<int>(cap);
      auto result = make_chan<std::vector<int>>();
      goro::go([c, result] {
        std::vector<int> l;
        for (int i = 0; i < n; ++i) {
          goro::yield();
          l.push_back(*c.recv());
        }
        result.send(std::move(l));
      });
      for (int i = 0; i < n; ++i) select(on_send(c, 1), on_send(c, 0));
      const auto l = *result.recv();
      int ones = 0;
      for (int v : l) ones += v;
      const int zeros = n - ones;
      EXPECT_GT(zeros, n / 10) << "want pseudorandom, capacity " << cap;
      EXPECT_GT(ones, n / 10) << "want pseudorandom, capacity " << cap;
    }
  });
}

// --- TestMultiConsumer: 23 workers range over a work queue and send results; a feeder closes
// the queue, waits for the workers, then closes the results. Every item is seen once. ---
TEST(RuntimeChan, MultiConsumer) {
  constexpr int nwork = 23;
  // static: no lambda captures it (GCC and clang disagree on whether the inner one must).
  static constexpr int niter = scaled(100000);
  run_checked([] {
    static constexpr std::array<int, 10> pn{2, 3, 7, 11, 13, 17, 19, 23, 27, 31};
    auto q = make_chan<int>(std::size_t{nwork} * 3);
    auto r = make_chan<int>(std::size_t{nwork} * 3);
    auto wg = std::make_shared<goro::wait_group>();
    for (int i = 0; i < nwork; ++i) {
      wg->add(1);
      goro::go([q, r, wg, w = i] {
        for (int v : q) {
          // Disturbs the FIFO-ish order in which workers take items.
          if (pn[static_cast<std::size_t>(w) % pn.size()] == v) goro::yield();
          r.send(v);
        }
        wg->done();
      });
    }
    auto expect = make_chan<long long>(1);
    goro::go([q, r, wg, expect] {
      long long sum = 0;
      for (int i = 0; i < niter; ++i) {
        const int v = pn[static_cast<std::size_t>(i) % pn.size()];
        sum += v;
        q.send(v);
      }
      q.close();
      wg->wait();
      r.close();
      expect.send(sum);
    });
    int n = 0;
    long long s = 0;
    for (int v : r) {
      ++n;
      s += v;
    }
    EXPECT_EQ(n, niter);
    EXPECT_EQ(s, *expect.recv());
  });
}

// --- TestSelectFairness: a goroutine selects over two never-ready channels and two channels
// that are always ready, and reports which ready one it took. ---
TEST(RuntimeChan, SelectFairness) {
  constexpr int trials = 10000;
  run_checked([] {
    auto c1 = make_chan<unsigned char>(trials + 1);
    auto c2 = make_chan<unsigned char>(trials + 1);
    for (int i = 0; i < trials + 1; ++i) {
      c1.send(1);
      c2.send(2);
    }
    auto c3 = make_chan<unsigned char>();
    auto c4 = make_chan<unsigned char>();
    auto out = make_chan<unsigned char>();
    auto done = make_chan<goro::signal>();
    goro::wait_group wg;
    wg.add(1);
    goro::go([&] {
      for (;;) {
        unsigned char b = 0;
        auto take = [&](std::optional<unsigned char> v) { b = *v; };
        select(on_recv(c3, take), on_recv(c4, take), on_recv(c1, take), on_recv(c2, take));
        bool stop = false;
        select(on_send(out, b), on_recv(done, [&] { stop = true; }));
        if (stop) break;
      }
      wg.done();
    });
    int cnt1 = 0;
    int cnt2 = 0;
    for (int i = 0; i < trials; ++i) {
      const auto b = out.recv();
      ASSERT_TRUE(b.has_value());
      if (*b == 1) {
        ++cnt1;
      } else if (*b == 2) {
        ++cnt2;
      } else {
        FAIL() << "unexpected value " << int{*b};
      }
    }
    // A fair choice makes cnt1 binomial(10000, 1/2): mean 5000, standard deviation 50. The
    // accepted window 4000..6000 is 20 standard deviations either side, so a fair select
    // cannot fail it (probability far below 1e-80), while a select that always or mostly
    // takes one case does.
    EXPECT_GE(cnt1, trials * 4 / 10) << "unfair select: " << cnt1 << " vs " << cnt2;
    EXPECT_LE(cnt1, trials * 6 / 10) << "unfair select: " << cnt1 << " vs " << cnt2;
    done.close();
    wg.wait();
  });
}

// The same with three always-ready cases: binomial(9000, 1/3) has mean 3000 and standard
// deviation 44.7; the window 2100..3900 is over 20 standard deviations either side.
TEST(RuntimeChan, SelectFairnessThreeWays) {
  constexpr int trials = 9000;
  run_checked([] {
    std::array<chan<int>, 3> c{make_chan<int>(trials), make_chan<int>(trials),
                               make_chan<int>(trials)};
    for (int i = 0; i < trials; ++i) {
      for (int k = 0; k < 3; ++k) c[static_cast<std::size_t>(k)].send(k);
    }
    std::array<int, 3> counts{};
    for (int i = 0; i < trials; ++i) {
      const auto k = select(on_recv(c[0], [] {}), on_recv(c[1], [] {}), on_recv(c[2], [] {}));
      ++counts[k];
    }
    for (int k = 0; k < 3; ++k) {
      EXPECT_GE(counts[static_cast<std::size_t>(k)], 2100) << "case " << k;
      EXPECT_LE(counts[static_cast<std::size_t>(k)], 3900) << "case " << k;
    }
  });
}

// --- TestSelectDuplicateChannel: one select may wait on the same channel twice. Goroutine A
// selects on c, c, d; goroutine B receives on c. Waking A through d must take both of A's
// waiters off c, so that the later send on c reaches B. Go sleeps so that A queues on c before
// B; here the scenario is repeated so that both orders occur, and both must work. ---
TEST(RuntimeChan, SelectDuplicateChannel) {
  const int rounds = scaled(2000);
  run_checked([] {
    for (int round = 0; round < rounds; ++round) {
      auto c = make_chan<int>();
      auto d = make_chan<int>();
      auto e = make_chan<int>();
      auto b_got = make_chan<std::optional<int>>(1);
      goro::go([c, d, e] {
        int which = -1;
        select(on_recv(c, [&] { which = 0; }), on_recv(c, [&] { which = 1; }),
               on_recv(d, [&] { which = 2; }));
        EXPECT_EQ(which, 2) << "nothing was sent on c before d";
        e.send(9);
      });
      goro::go([c, b_got] { b_got.send(c.recv()); });
      if (round % 2 == 0) goro::yield();
      d.send(7);  // wakes A, which must dequeue itself from c twice over
      EXPECT_EQ(e.recv(), 9);
      c.send(8);  // must reach B, not a stale waiter of A
      EXPECT_EQ(b_got.recv(), std::optional<std::optional<int>>(8));
    }
  });
}

}  // namespace
