// Port of test/chan/fifo.go: values come out of a channel in the order they went in, both
// through a buffer (AsynchFifo) and through an unbuffered channel handed from receiver to
// receiver in turn (SynchFifo).
#include <vector>

#include "conformance.hpp"

namespace {

using conformance::run_checked;
using goro::make_chan;
using goro::recv_chan;
using goro::send_chan;

// AsynchFifo: fill a buffered channel, then drain it.
TEST(Fifo, AsynchFifoKeepsOrder) {
  run_checked([] {
    for (std::size_t cap : {1u, 2u, 10u, 1000u}) {
      auto ch = make_chan<int>(cap);
      for (int round = 0; round < 3; ++round) {
        for (std::size_t i = 0; i < cap; ++i) ch.send(static_cast<int>(i));
        EXPECT_EQ(ch.size(), cap);
        for (std::size_t i = 0; i < cap; ++i) {
          ASSERT_EQ(ch.recv(), static_cast<int>(i)) << "capacity " << cap;
        }
        EXPECT_EQ(ch.size(), 0u);
      }
    }
  });
}

// The buffer wraps around: interleaved sends and receives keep FIFO order. The buffer holds at
// most 3 values before a round's 3 sends, so it never fills up (capacity 7).
TEST(Fifo, AsynchFifoAcrossWrapAround) {
  run_checked([] {
    auto ch = make_chan<int>(7);
    int next_in = 0;
    int next_out = 0;
    for (int round = 0; round < 100; ++round) {
      for (int k = 0; k < 3; ++k) ch.send(next_in++);
      for (int k = 0; k < 2; ++k) ASSERT_EQ(ch.recv(), next_out++);
      if (ch.size() > 3) {
        while (ch.size() > 0) ASSERT_EQ(ch.recv(), next_out++);
      }
    }
    EXPECT_EQ(static_cast<int>(ch.size()), next_in - next_out);
  });
}

// SynchFifo: link i of the chain waits for its turn on `in`, receives one value from the
// shared unbuffered channel, which must be i, then passes the turn on.
void link(recv_chan<int> ch, int expected, recv_chan<int> in, send_chan<int> out) {
  (void)in.recv();
  EXPECT_EQ(ch.recv(), expected);
  out.send(1);
}

TEST(Fifo, SynchFifoKeepsOrder) {
  const int n = conformance::scaled(1000);
  run_checked([] {
    auto ch = make_chan<int>();
    auto in = make_chan<int>();
    auto start = in;
    for (int i = 0; i < n; ++i) {
      auto out = make_chan<int>();
      goro::go(link, ch, i, in, out);
      in = out;
    }
    start.send(0);
    for (int i = 0; i < n; ++i) ch.send(i);
    EXPECT_EQ(in.recv(), 1);
  });
}

// One producer, one consumer, any capacity: the consumer sees the producer's order.
TEST(Fifo, ProducerConsumerOrderForEveryCapacity) {
  // static: neither lambda captures it (GCC and clang disagree on whether the inner one must).
  static constexpr int n = conformance::scaled(2000);
  run_checked([] {
    for (std::size_t cap : {0u, 1u, 3u, 64u}) {
      auto ch = make_chan<int>(cap);
      goro::go([ch] {
        for (int i = 0; i < n; ++i) ch.send(i);
        ch.close();
      });
      int expected = 0;
      for (int v : ch) ASSERT_EQ(v, expected++) << "capacity " << cap;
      EXPECT_EQ(expected, n);
    }
  });
}

}  // namespace
