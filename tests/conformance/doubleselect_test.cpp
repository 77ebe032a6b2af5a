// Port of test/chan/doubleselect.go (main): a sender hands each value to whichever of several
// channels is ready through one select; multiplexers forward all of them into one channel. Every
// value must arrive exactly once: a select must never complete two of its cases, and a select
// that lost a race on one channel must not leave its value behind there.
#include <vector>

#include "conformance.hpp"

namespace {

using conformance::run_checked;
using goro::chan;
using goro::make_chan;
using goro::on_send;
using goro::recv_chan;
using goro::send_chan;

// Sends 1..n, each through one of the four channels, then closes them all.
void sender(int n, send_chan<int> c1, send_chan<int> c2, send_chan<int> c3, send_chan<int> c4) {
  for (int i = 1; i <= n; ++i) {
    goro::select(on_send(c1, i), on_send(c2, i), on_send(c3, i), on_send(c4, i));
  }
  c1.close();
  c2.close();
  c3.close();
  c4.close();
}

// Forwards everything from `in` to `out` until `in` is closed.
void mux(recv_chan<int> in, send_chan<int> out, goro::wait_group* wg) {
  for (int v : in) {
    // Go's version yields here too, to reshuffle which multiplexer wins the next value.
    if (v % 7 == 0) goro::yield();
    out.send(v);
  }
  wg->done();
}

void check_every_value_once(std::size_t capacity) {
  const int n = conformance::scaled(20000);
  run_checked([n, capacity] {
    std::vector<chan<int>> in;
    in.reserve(4);
    for (int i = 0; i < 4; ++i) in.push_back(make_chan<int>(capacity));
    auto out = make_chan<int>(capacity);
    goro::go(sender, n, in[0], in[1], in[2], in[3]);
    goro::wait_group wg;
    wg.add(4);
    for (const auto& c : in) goro::go(mux, c, out, &wg);
    // Closes `out` once every multiplexer is done, so the range below ends.
    goro::go([&wg, out] {
      wg.wait();
      out.close();
    });

    std::vector<int> seen(static_cast<std::size_t>(n) + 1, 0);
    int received = 0;
    for (int v : out) {
      ASSERT_GE(v, 1);
      ASSERT_LE(v, n);
      ++seen[static_cast<std::size_t>(v)];
      ++received;
    }
    EXPECT_EQ(received, n);
    for (int v = 1; v <= n; ++v) {
      ASSERT_EQ(seen[static_cast<std::size_t>(v)], 1) << "value " << v;
    }
  });
}

TEST(DoubleSelect, UnbufferedEveryValueReceivedExactlyOnce) { check_every_value_once(0); }

TEST(DoubleSelect, BufferedEveryValueReceivedExactlyOnce) { check_every_value_once(3); }

}  // namespace
