// Bounded stress (label `stress`): goroutines and plain threads hammer a small set of channels
// with random blocking sends and receives, selects with and without default, try_send and
// try_recv, then close everything. Conservation is checked exactly: every value sent is
// received exactly once (sums and counts per channel match). Sized to finish in a few seconds
// under TSan; it is the test that gives TSan the most interleavings of the channel code.
#include <array>
#include <atomic>
#include <optional>
#include <random>
#include <thread>
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

constexpr std::size_t channels = 4;

struct tally {
  std::array<std::atomic<long long>, channels> sent_sum{};
  std::array<std::atomic<long long>, channels> sent_count{};
  std::array<std::atomic<long long>, channels> recv_sum{};
  std::array<std::atomic<long long>, channels> recv_count{};
};

// One producer: `ops` random send-side operations, each value recorded once it is handed over.
void produce(const std::array<chan<long long>, channels>& c, tally& t, unsigned seed, int ops) {
  std::mt19937 rng(seed);
  for (int i = 0; i < ops; ++i) {
    const auto k = static_cast<std::size_t>(rng() % channels);
    const auto j = static_cast<std::size_t>(rng() % channels);
    const long long v = static_cast<long long>(rng() % 1000) + 1;
    auto record = [&](std::size_t which) {
      t.sent_sum[which] += v;
      ++t.sent_count[which];
    };
    switch (rng() % 4) {
      case 0:
        c[k].send(v);
        record(k);
        break;
      case 1:
        if (c[k].try_send(v) == status::ok) record(k);
        break;
      case 2:
        select(on_send(c[k], v, [&] { record(k); }), on_send(c[j], v, [&] { record(j); }));
        break;
      default:
        select(on_send(c[k], v, [&] { record(k); }), on_default([] {}));
        break;
    }
  }
}

// One consumer: receives until every channel is closed and drained.
void consume(const std::array<chan<long long>, channels>& c, tally& t, unsigned seed) {
  std::mt19937 rng(seed);
  std::array<chan<long long>, channels> open = c;
  std::size_t remaining = channels;
  auto take = [&](std::size_t k, std::optional<long long> v) {
    if (v) {
      t.recv_sum[k] += *v;
      ++t.recv_count[k];
    } else if (open[k]) {
      open[k] = {};  // closed and drained: stop selecting on it (a nil case is never ready)
      --remaining;
    }
  };
  while (remaining > 0) {
    const auto k = static_cast<std::size_t>(rng() % channels);
    switch (rng() % 3) {
      case 0: {
        if (!open[k]) break;
        long long v = 0;
        const status s = open[k].try_recv(v);
        if (s == status::ok) take(k, v);
        if (s == status::closed) take(k, std::nullopt);
        break;
      }
      default:
        select(on_recv(open[0], [&](std::optional<long long> v) { take(0, v); }),
               on_recv(open[1], [&](std::optional<long long> v) { take(1, v); }),
               on_recv(open[2], [&](std::optional<long long> v) { take(2, v); }),
               on_recv(open[3], [&](std::optional<long long> v) { take(3, v); }));
        break;
    }
  }
}

TEST(Stress, RandomOperationsConserveValues) {
  const int ops = scaled(120000, 48);
  run_checked([] {
    const std::array<chan<long long>, channels> c{make_chan<long long>(), make_chan<long long>(1),
                                                  make_chan<long long>(4),
                                                  make_chan<long long>(64)};
    tally t;
    constexpr int goroutine_producers = 6;
    constexpr int thread_producers = 2;
    constexpr int goroutine_consumers = 4;
    constexpr int thread_consumers = 1;

    goro::wait_group producers;
    producers.add(goroutine_producers);
    for (int p = 0; p < goroutine_producers; ++p) {
      goro::go([&, p] {
        produce(c, t, 1000u + static_cast<unsigned>(p), ops);
        producers.done();
      });
    }
    auto thread_done = make_chan<goro::signal>(thread_producers + thread_consumers);
    std::vector<std::thread> threads;
    threads.reserve(thread_producers + thread_consumers);
    for (int p = 0; p < thread_producers; ++p) {
      threads.emplace_back([&, p] {
        produce(c, t, 2000u + static_cast<unsigned>(p), ops);
        thread_done.send({});
      });
    }
    goro::wait_group consumers;
    consumers.add(goroutine_consumers);
    for (int q = 0; q < goroutine_consumers; ++q) {
      goro::go([&, q] {
        consume(c, t, 3000u + static_cast<unsigned>(q));
        consumers.done();
      });
    }
    for (int q = 0; q < thread_consumers; ++q) {
      threads.emplace_back([&, q] {
        consume(c, t, 4000u + static_cast<unsigned>(q));
        thread_done.send({});
      });
    }

    producers.wait();
    for (int p = 0; p < thread_producers; ++p) thread_done.recv();
    for (const auto& ch : c) ch.close();
    consumers.wait();
    for (int q = 0; q < thread_consumers; ++q) thread_done.recv();
    for (auto& th : threads) th.join();

    long long total = 0;
    for (std::size_t k = 0; k < channels; ++k) {
      EXPECT_EQ(t.sent_count[k].load(), t.recv_count[k].load()) << "channel " << k;
      EXPECT_EQ(t.sent_sum[k].load(), t.recv_sum[k].load()) << "channel " << k;
      total += t.recv_count[k].load();
    }
    EXPECT_GT(total, 0);
  });
}

// Many goroutines blocked on one unbuffered channel, released by a mix of receives and one
// close: every sender either delivers or panics, none stays blocked.
TEST(Stress, CloseReleasesCrowdOfBlockedSenders) {
  const int rounds = scaled(1000, 20);
  run_checked([] {
    for (int r = 0; r < rounds; ++r) {
      auto ch = make_chan<int>();
      constexpr int senders = 32;
      std::atomic<int> delivered{0};
      std::atomic<int> panicked{0};
      goro::wait_group wg;
      wg.add(senders);
      for (int s = 0; s < senders; ++s) {
        goro::go([&, ch] {
          const auto text = conformance::panic_text([&] { ch.send(1); });
          if (text == "<no panic>") {
            ++delivered;
          } else {
            EXPECT_EQ(text, "send on closed channel");
            ++panicked;
          }
          wg.done();
        });
      }
      int received = 0;
      for (int i = 0; i < r % senders; ++i) received += *ch.recv();
      ch.close();
      wg.wait();
      EXPECT_EQ(delivered.load(), received);
      EXPECT_EQ(delivered.load() + panicked.load(), senders);
    }
  });
}

}  // namespace
