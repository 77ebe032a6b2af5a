// Port of test/chan/sendstmt.go: a send whose channel is itself received from a channel
// (chanchan: `<-cc <- 2` inside a select), and a send of a computed expression (sendprec:
// `c <- false || true`). In C++ the channel and the value of a send case are ordinary
// arguments: each is evaluated exactly once, before the select looks at any channel.
#include <optional>

#include "conformance.hpp"

namespace {

using conformance::run_checked;
using goro::chan;
using goro::make_chan;

// chanchan
TEST(SendStmt, SendToChannelReceivedFromChannel) {
  run_checked([] {
    auto cc = make_chan<chan<int>>(1);
    auto c = make_chan<int>(1);
    cc.send(c);
    int evaluations = 0;
    auto next_channel = [&] {
      ++evaluations;
      return *cc.recv();
    };
    const auto ran = goro::select(goro::on_send(next_channel(), 2),
                                  goro::on_default([] { ADD_FAILURE() << "nonblock"; }));
    EXPECT_EQ(ran, 0u);
    EXPECT_EQ(evaluations, 1);
    EXPECT_EQ(c.recv(), 2);
    EXPECT_EQ(cc.size(), 0u);
  });
}

// The same through blocking operations: the received channel is the very channel sent.
TEST(SendStmt, ChannelOfChannelsKeepsIdentity) {
  run_checked([] {
    auto cc = make_chan<chan<int>>();
    auto c = make_chan<int>(1);
    goro::go([cc, c] { cc.send(c); });
    auto got = cc.recv();
    ASSERT_TRUE(got.has_value());
    EXPECT_TRUE(*got == c);
    got->send(5);
    EXPECT_EQ(c.recv(), 5);
  });
}

// sendprec
TEST(SendStmt, SendOfAnExpression) {
  run_checked([] {
    auto c = make_chan<bool>(1);
    const bool f = false;
    c.send(f || true);
    EXPECT_EQ(c.recv(), true);
  });
}

// Go evaluates the channel and value operands of every case once on entry, even for cases that
// are not chosen; so does a C++ select, since they are arguments.
TEST(SendStmt, OperandsOfUnchosenCasesAreEvaluatedOnce) {
  run_checked([] {
    auto ready = make_chan<int>(1);
    auto full = make_chan<int>(1);
    full.send(0);
    int values = 0;
    auto value = [&] { return ++values; };
    const auto ran = goro::select(goro::on_send(full, value()), goro::on_send(ready, value()));
    EXPECT_EQ(ran, 1u);
    EXPECT_EQ(values, 2);
    const auto got = ready.recv();
    ASSERT_TRUE(got.has_value());
    EXPECT_TRUE(*got == 1 || *got == 2);
  });
}

}  // namespace
