// Port of test/chan/select3.go (main): which channel operations and selects block, which
// never block, and which panic.
//
// "Never blocks" is checked by running the operation on the main goroutine: if it blocked, the
// deadlock detector would end the test binary. "Blocks forever" is checked in a death test: the
// child runs the operation where nothing can wake it, and the runtime must report a deadlock
// (see conformance.hpp). Where the channel is not nil, a second in-process test shows that the
// blocked operation is woken by close() and sees the close, so no goroutine is left behind.
#include <optional>

#include "conformance.hpp"

namespace {

using conformance::panic_text;
using conformance::run_checked;
using goro::chan;
using goro::make_chan;
using goro::on_default;
using goro::on_recv;
using goro::on_send;
using goro::select;

// Runs `op` in a new goroutine while main waits for it to finish. In a death test this turns
// "op blocks forever" into "every goroutine is asleep", mirroring Go's testBlock(always, f).
// Main waits on a wait_group ("semacquire"), so a channel wait reason in the report can only
// come from `op`.
template <class Op>
auto block_in_goroutine(Op op) {
  return [op] {
    goro::wait_group wg;
    wg.add(1);
    goro::go([op, &wg]() mutable {
      op();
      wg.done();
    });
    wg.wait();
  };
}

// Go parks a select whose cases are all on nil channels as "select"; a one-case select may
// be reported as the plain operation it amounts to (Go compiles it into one).
constexpr const char* nil_select_reason =
    "(select|select \\(no cases\\)|chan send \\(nil chan\\)|chan receive \\(nil chan\\))";

// --- sending/receiving on a nil channel blocks (testBlock(always, nilch <- 7 / <-nilch)) ---

TEST(Select3DeathTest, SendOnNilChannelBlocksForever) {
  auto body = block_in_goroutine([] { chan<int>{}.send(7); });
  GORO_EXPECT_DEADLOCK(body, "chan send \\(nil chan\\)");
}

TEST(Select3DeathTest, RecvOnNilChannelBlocksForever) {
  auto body = block_in_goroutine([] { (void)chan<int>{}.recv(); });
  GORO_EXPECT_DEADLOCK(body, "chan receive \\(nil chan\\)");
}

// --- a nil channel's case inside a select is never chosen (testPanic(never, ...)) ---

TEST(Select3, NilChannelCaseWithDefaultIsNeverChosen) {
  run_checked([] {
    chan<int> nilch;
    bool reached = false;
    EXPECT_EQ(select(on_send(nilch, 7, [&] { reached = true; }), on_default([] {})), 1u);
    EXPECT_EQ(
        select(on_recv(nilch, [&](std::optional<int>) { reached = true; }), on_default([] {})), 1u);
    EXPECT_FALSE(reached);
  });
}

// --- sending to a buffered channel with free space never blocks ---

TEST(Select3, SendWithFreeBufferSpaceDoesNotBlock) {
  run_checked([] {
    auto ch = make_chan<int>(1);
    ch.send(7);
    EXPECT_EQ(ch.size(), 1u);
  });
}

// --- receiving from a closed channel never blocks and yields "no value" ---

TEST(Select3, RecvFromClosedChannelNeverBlocks) {
  run_checked([] {
    auto closedch = make_chan<int>();
    closedch.close();
    for (int i = 0; i < 10; ++i) {
      EXPECT_EQ(closedch.recv(), std::nullopt);
      int out = 42;
      EXPECT_EQ(closedch.try_recv(out), goro::status::closed);
      EXPECT_EQ(out, 42) << "a failed try_recv must not write its output";
    }
  });
}

// --- sending to a closed channel panics ---

TEST(Select3, SendOnClosedChannelPanics) {
  run_checked([] {
    auto closedch = make_chan<int>();
    closedch.close();
    EXPECT_EQ(panic_text([&] { closedch.send(7); }), "send on closed channel");
  });
}

// --- receiving from a non-ready channel always blocks ---

TEST(Select3DeathTest, RecvFromEmptyUnbufferedChannelBlocks) {
  auto body = block_in_goroutine([] { (void)make_chan<int>().recv(); });
  GORO_EXPECT_DEADLOCK(body, "chan receive");
}

TEST(Select3, BlockedRecvIsWokenByClose) {
  run_checked([] {
    auto ch = make_chan<int>();
    auto result = make_chan<std::optional<int>>(1);
    goro::go([ch, result] { result.send(ch.recv()); });
    // Nothing was sent, so whether or not the receiver has parked yet, it cannot have
    // finished with a value: its result must be exactly what close() produces.
    std::optional<int> early;
    EXPECT_EQ(result.try_recv(early), goro::status::not_ready);
    ch.close();
    const auto got = result.recv();
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, std::nullopt) << "the receive must have seen the close, not a value";
  });
}

// --- empty selects always block ---

TEST(Select3DeathTest, EmptySelectBlocksForever) {
  auto body = block_in_goroutine([] { select(); });
  GORO_EXPECT_DEADLOCK(body, "select \\(no cases\\)");
}

// --- selects with only nil channels always block ---

TEST(Select3DeathTest, SelectOnNilRecvBlocksForever) {
  auto body = block_in_goroutine([] {
    chan<int> nilch;
    select(on_recv(nilch, [](std::optional<int>) { ADD_FAILURE() << "unreachable"; }));
  });
  GORO_EXPECT_DEADLOCK(body, nil_select_reason);
}

TEST(Select3DeathTest, SelectOnNilSendBlocksForever) {
  auto body = block_in_goroutine([] {
    chan<int> nilch;
    select(on_send(nilch, 7, [] { ADD_FAILURE() << "unreachable"; }));
  });
  GORO_EXPECT_DEADLOCK(body, nil_select_reason);
}

TEST(Select3DeathTest, SelectOnNilRecvAndSendBlocksForever) {
  auto body = block_in_goroutine([] {
    chan<int> nilch;
    select(on_recv(nilch, [](std::optional<int>) { ADD_FAILURE() << "unreachable"; }),
           on_send(nilch, 7, [] { ADD_FAILURE() << "unreachable"; }));
  });
  GORO_EXPECT_DEADLOCK(body, "select");
}

// --- selects with non-ready non-nil channels always block ---

TEST(Select3DeathTest, SelectOnNonReadyChannelBlocks) {
  auto body = block_in_goroutine([] {
    auto ch = make_chan<int>();
    select(on_recv(ch, [](std::optional<int>) { ADD_FAILURE() << "unreachable"; }));
  });
  GORO_EXPECT_DEADLOCK(body, "(select|chan receive)");
}

TEST(Select3, BlockedSelectIsWokenByClose) {
  run_checked([] {
    auto ch = make_chan<int>();
    auto result = make_chan<int>(1);
    goro::go([ch, result] {
      int got = -1;
      select(on_recv(ch, [&](std::optional<int> v) { got = v ? 1 : 0; }));
      result.send(got);
    });
    int early = 0;
    EXPECT_EQ(result.try_recv(early), goro::status::not_ready);
    ch.close();
    EXPECT_EQ(result.recv(), 0) << "the select must have seen the close, not a value";
  });
}

// --- selects with default cases don't block ---

TEST(Select3, SelectWithOnlyDefaultDoesNotBlock) {
  run_checked([] {
    int runs = 0;
    EXPECT_EQ(select(on_default([&] { ++runs; })), 0u);
    EXPECT_EQ(runs, 1);
  });
}

TEST(Select3, SelectWithNilCasesAndDefaultDoesNotBlock) {
  run_checked([] {
    chan<int> nilch;
    int defaults = 0;
    EXPECT_EQ(select(on_recv(nilch, [] {}), on_default([&] { ++defaults; })), 1u);
    EXPECT_EQ(select(on_send(nilch, 7), on_default([&] { ++defaults; })), 1u);
    EXPECT_EQ(defaults, 2);
  });
}

// --- selects with ready channels don't block and don't take the default ---

TEST(Select3, SelectWithReadySendDoesNotTakeDefault) {
  run_checked([] {
    auto ch = make_chan<int>(1);
    bool sent = false;
    EXPECT_EQ(select(on_send(ch, 7, [&] { sent = true; }),
                     on_default([] { ADD_FAILURE() << "unreachable"; })),
              0u);
    EXPECT_TRUE(sent);
    EXPECT_EQ(ch.recv(), 7);
  });
}

TEST(Select3, SelectWithReadyRecvDoesNotTakeDefault) {
  run_checked([] {
    auto ch = make_chan<int>(1);
    ch.send(7);
    std::optional<int> got;
    EXPECT_EQ(select(on_recv(ch, [&](std::optional<int> v) { got = v; }),
                     on_default([] { ADD_FAILURE() << "unreachable"; })),
              0u);
    EXPECT_EQ(got, 7);
  });
}

// --- selects with closed channels behave like ordinary operations ---

TEST(Select3, SelectRecvOnClosedChannelDoesNotBlock) {
  run_checked([] {
    auto closedch = make_chan<int>();
    closedch.close();
    // Go's three spellings: `<-c`, `x := <-c` and `x, ok := <-c`; here a handler without an
    // argument and one taking the optional.
    int plain = 0;
    EXPECT_EQ(select(on_recv(closedch, [&] { ++plain; })), 0u);
    EXPECT_EQ(plain, 1);
    bool saw_close = false;
    EXPECT_EQ(select(on_recv(closedch, [&](std::optional<int> v) { saw_close = !v; })), 0u);
    EXPECT_TRUE(saw_close);
  });
}

TEST(Select3, SelectSendOnClosedChannelPanics) {
  run_checked([] {
    auto closedch = make_chan<int>();
    closedch.close();
    bool ran = false;
    EXPECT_EQ(panic_text([&] { select(on_send(closedch, 7, [&] { ran = true; })); }),
              "send on closed channel");
    EXPECT_FALSE(ran) << "the handler of a send that panicked must not run";
  });
}

// --- select should not get confused if it sees itself ---

TEST(Select3DeathTest, SelectSendingAndReceivingOnItsOwnChannelBlocks) {
  auto body = block_in_goroutine([] {
    auto c = make_chan<int>();
    select(on_send(c, 1), on_recv(c, [] {}));
  });
  GORO_EXPECT_DEADLOCK(body, "select");
}

// The non-nil blocking cases above, with main itself as the blocked goroutine: the report
// must then show goroutine 1 with Go's wait reason.
TEST(Select3DeathTest, MainBlockedOnRecvIsReported) {
  auto body = [] { (void)make_chan<int>().recv(); };
  ::conformance::use_threadsafe_death_tests();
  EXPECT_EXIT(goro::run(body), ::testing::ExitedWithCode(2),
              std::string(conformance::deadlock_first_line) + "\ngoroutine 1 \\[chan receive\\]:");
}

TEST(Select3DeathTest, MainBlockedOnFullBufferIsReported) {
  auto body = [] {
    auto ch = make_chan<int>(2);
    ch.send(1);
    ch.send(2);
    ch.send(3);
  };
  ::conformance::use_threadsafe_death_tests();
  EXPECT_EXIT(goro::run(body), ::testing::ExitedWithCode(2),
              std::string(conformance::deadlock_first_line) + "\ngoroutine 1 \\[chan send\\]:");
}

}  // namespace
