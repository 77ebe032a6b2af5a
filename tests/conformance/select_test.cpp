// Port of test/chan/select.go (main): a loop of selects over two buffered send cases, where a
// case's channel is set to nil once it has been chosen, must complete each case exactly once
// and then take the default; and every case's value is computed on every select, chosen or not
// (Go's GetValue counter). Plus: among several ready send and receive cases the choice is
// random, so over many selects each of them runs.
#include <array>
#include <optional>

#include "conformance.hpp"

namespace {

using conformance::run_checked;
using goro::chan;
using goro::make_chan;
using goro::on_default;
using goro::on_recv;
using goro::on_send;

struct value_source {
  unsigned counter = 0;  // how many values were computed
  unsigned shift = 0;
  unsigned next() {
    ++counter;
    return 1u << shift;
  }
};

// Go's Send(a, b): returns how many sends completed before the default ran.
int send_until_default(value_source& src, chan<unsigned> a, chan<unsigned> b) {
  int sent = 0;
  for (;;) {
    bool done = false;
    // Evaluated in an unspecified order, as C++ arguments are; each exactly once per select.
    const unsigned va = src.next();
    const unsigned vb = src.next();
    goro::select(on_send(a, va,
                         [&] {
                           ++sent;
                           a = {};
                         }),
                 on_send(b, vb,
                         [&] {
                           ++sent;
                           b = {};
                         }),
                 on_default([&] { done = true; }));
    if (done) return sent;
    ++src.shift;
  }
}

TEST(Select, SendCasesEachCompleteOnceThenDefault) {
  run_checked([] {
    value_source src;
    auto a = make_chan<unsigned>(1);
    auto b = make_chan<unsigned>(1);
    EXPECT_EQ(send_until_default(src, a, b), 2);
    const auto av = a.recv();
    const auto bv = b.recv();
    ASSERT_TRUE(av && bv);
    // The first select sent 1 on one channel, the second sent 2 on the other.
    EXPECT_EQ(*av | *bv, 3u);
    EXPECT_EQ(send_until_default(src, a, chan<unsigned>{}), 1);
    // 3 selects in the first call and 2 in the second, 2 values each.
    EXPECT_EQ(src.counter, 10u);
    // The second call's first select (shift 2) sent 4 on a; its second one took the default.
    EXPECT_EQ(a.recv(), 4u);
  });
}

// Two ready receive cases and two ready send cases: each of the four runs at some point.
// A case is missed in 4000 uniform choices with probability 4 * (3/4)^4000: never.
TEST(Select, RandomChoiceAmongReadySendAndRecvCases) {
  run_checked([] {
    constexpr int n = 4000;
    auto r1 = make_chan<int>(n);
    auto r2 = make_chan<int>(n);
    auto s1 = make_chan<int>(n);
    auto s2 = make_chan<int>(n);
    for (int i = 0; i < n; ++i) {
      r1.send(1);
      r2.send(2);
    }
    std::array<int, 4> counts{};
    for (int i = 0; i < n; ++i) {
      const auto ran =
          goro::select(on_recv(r1, [&](std::optional<int> v) { EXPECT_EQ(v, 1); }), on_send(s1, 3),
                       on_recv(r2, [&](std::optional<int> v) { EXPECT_EQ(v, 2); }), on_send(s2, 4));
      ASSERT_LT(ran, 4u);
      ++counts[ran];
    }
    for (int c : counts) EXPECT_GT(c, 0);
    EXPECT_EQ(counts[0] + counts[1] + counts[2] + counts[3], n);
    // Every completed case moved exactly one value.
    EXPECT_EQ(r1.size(), static_cast<std::size_t>(n - counts[0]));
    EXPECT_EQ(s1.size(), static_cast<std::size_t>(counts[1]));
    EXPECT_EQ(r2.size(), static_cast<std::size_t>(n - counts[2]));
    EXPECT_EQ(s2.size(), static_cast<std::size_t>(counts[3]));
  });
}

}  // namespace
