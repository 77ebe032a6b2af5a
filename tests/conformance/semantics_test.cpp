// The channel contract of API.md beyond Go's own tests, where C++ adds something Go does not
// have or spells it differently: move-only payloads (unbuffered, buffered, select), handle
// identity, the nil channel's table, range-for, the panics of close(), and that a send case
// that was not chosen leaves its value with the caller.
#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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
using goro::status;

using box = std::unique_ptr<int>;

// --- move-only payloads ---

TEST(MoveOnly, Unbuffered) {
  run_checked([] {
    auto ch = make_chan<box>();
    goro::go([ch] {
      for (int i = 0; i < 100; ++i) ch.send(std::make_unique<int>(i));
      ch.close();
    });
    int expected = 0;
    for (auto&& p : ch) {
      ASSERT_NE(p, nullptr);
      EXPECT_EQ(*p, expected++);
      box mine = std::move(p);  // the element may be moved out of the range-for
    }
    EXPECT_EQ(expected, 100);
  });
}

TEST(MoveOnly, Buffered) {
  run_checked([] {
    auto ch = make_chan<box>(4);
    for (int i = 0; i < 4; ++i) ch.send(std::make_unique<int>(i));
    EXPECT_EQ(ch.try_send(std::make_unique<int>(99)), status::not_ready);
    for (int i = 0; i < 4; ++i) {
      auto p = ch.recv();
      ASSERT_TRUE(p && *p);
      EXPECT_EQ(**p, i);
    }
    box out;
    EXPECT_EQ(ch.try_recv(out), status::not_ready);
    EXPECT_EQ(out, nullptr);
    EXPECT_EQ(ch.try_send(std::make_unique<int>(5)), status::ok);
    EXPECT_EQ(ch.try_recv(out), status::ok);
    ASSERT_NE(out, nullptr);
    EXPECT_EQ(*out, 5);
  });
}

TEST(MoveOnly, FailedTrySendLeavesValueWithCaller) {
  run_checked([] {
    auto ch = make_chan<box>();
    auto p = std::make_unique<int>(7);
    EXPECT_EQ(ch.try_send(std::move(p)), status::not_ready);
    ASSERT_NE(p, nullptr) << "try_send moved from its argument although it failed";
    // NOLINTNEXTLINE(bugprone-use-after-move): not sent, so not moved from (what this checks)
    EXPECT_EQ(*p, 7);
  });
}

TEST(MoveOnly, ThroughSelectUnbuffered) {
  run_checked([] {
    auto ch = make_chan<box>();
    auto result = make_chan<int>(1);
    goro::go([ch, result] {
      box got;
      select(on_recv(ch, [&](std::optional<box> v) { got = std::move(*v); }));
      result.send(got ? *got : -1);
    });
    auto p = std::make_unique<int>(42);
    bool sent = false;
    select(on_send(ch, std::move(p), [&] { sent = true; }));
    EXPECT_TRUE(sent);
    EXPECT_EQ(p, nullptr) << "the chosen send case hands its value over";
    EXPECT_EQ(result.recv(), 42);
  });
}

TEST(MoveOnly, ThroughSelectBuffered) {
  run_checked([] {
    auto ch = make_chan<box>(1);
    auto p = std::make_unique<int>(3);
    EXPECT_EQ(select(on_send(ch, std::move(p)), on_default([] {})), 0u);
    EXPECT_EQ(p, nullptr);
    box got;
    EXPECT_EQ(
        select(on_recv(ch, [&](std::optional<box> v) { got = std::move(*v); }), on_default([] {})),
        0u);
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(*got, 3);
  });
}

// "The value of an on_send case that was not chosen is not consumed."
TEST(MoveOnly, UnchosenSendCaseKeepsItsValue) {
  run_checked([] {
    auto full = make_chan<box>(1);
    full.send(std::make_unique<int>(0));
    auto other = make_chan<box>();
    auto p = std::make_unique<int>(1);
    auto q = std::make_unique<int>(2);
    // Nothing is ready: the default runs and both values stay with the caller.
    EXPECT_EQ(select(on_send(full, std::move(p)), on_send(other, std::move(q)), on_default([] {})),
              2u);
    ASSERT_NE(p, nullptr);
    ASSERT_NE(q, nullptr);
    // NOLINTNEXTLINE(bugprone-use-after-move): not sent, so not moved from (what this checks)
    EXPECT_EQ(*p, 1);
    // NOLINTNEXTLINE(bugprone-use-after-move): not sent, so not moved from (what this checks)
    EXPECT_EQ(*q, 2);
    // One ready: only its value moves; the other stays usable.
    auto ready = make_chan<box>(1);
    EXPECT_EQ(select(on_send(full, std::move(p)), on_send(ready, std::move(q))), 1u);
    ASSERT_NE(p, nullptr);
    // NOLINTNEXTLINE(bugprone-use-after-move): not sent, so not moved from (what this checks)
    EXPECT_EQ(*p, 1);
    EXPECT_EQ(q, nullptr);
    EXPECT_EQ(**ready.recv(), 2);
    // A nil channel's case is never chosen: its value stays too.
    chan<box> nil;
    EXPECT_EQ(select(on_send(nil, std::move(p)), on_default([] {})), 1u);
    ASSERT_NE(p, nullptr);
  });
}

// A send case blocked in a select whose other case wins keeps its value too.
TEST(MoveOnly, SendCaseLosingAfterBlockingKeepsItsValue) {
  run_checked([] {
    auto never = make_chan<box>();
    auto wake = make_chan<int>();
    auto result = make_chan<int>(1);
    goro::go([never, wake, result] {
      auto p = std::make_unique<int>(11);
      select(on_send(never, std::move(p)), on_recv(wake, [] {}));
      // NOLINTNEXTLINE(bugprone-use-after-move): not sent, so not moved from (what this checks)
      result.send(p ? *p : -1);
    });
    wake.send(0);
    EXPECT_EQ(result.recv(), 11);
  });
}

// A send of a move-only value on a closed channel panics from select and from try_send alike.
TEST(MoveOnly, SendOnClosedChannelPanics) {
  run_checked([] {
    auto closed = make_chan<box>();
    closed.close();
    auto p = std::make_unique<int>(5);
    EXPECT_EQ(panic_text([&] { select(on_send(closed, std::move(p))); }), "send on closed channel");
    EXPECT_EQ(panic_text([&] { closed.send(std::make_unique<int>(6)); }), "send on closed channel");
  });
}

TEST(MoveOnly, TrySendOnClosedChannelPanics) {
  run_checked([] {
    auto closed = make_chan<box>(1);
    closed.close();
    auto p = std::make_unique<int>(5);
    EXPECT_EQ(panic_text([&] { (void)closed.try_send(std::move(p)); }), "send on closed channel");
  });
}

// Values left in a buffer when the last handle goes away are destroyed (no leak under ASan).
TEST(MoveOnly, BufferedValuesAreDestroyedWithTheChannel) {
  auto counter = std::make_shared<int>(0);
  {
    auto ch = make_chan<std::shared_ptr<int>>(3);
    ch.send(counter);
    ch.send(counter);
    EXPECT_EQ(counter.use_count(), 3);
  }
  EXPECT_EQ(counter.use_count(), 1);
}

// --- payload lifetimes: every value constructed is destroyed exactly once ---

// Counts live objects; a moved-from object stays live until destroyed, like any C++ object.
struct tracked {
  static inline std::atomic<long> live{0};
  int value = 0;
  explicit tracked(int v) : value(v) { ++live; }
  tracked(const tracked& o) : value(o.value) { ++live; }
  tracked(tracked&& o) noexcept : value(o.value) {
    o.value = -1;
    ++live;
  }
  tracked& operator=(const tracked&) = default;
  tracked& operator=(tracked&&) noexcept = default;
  ~tracked() { --live; }
};

TEST(Lifetime, NoValueIsLeakedOrDestroyedTwice) {
  run_checked([] {
    {
      auto unbuffered = make_chan<tracked>();
      auto buffered = make_chan<tracked>(4);
      auto never = make_chan<tracked>();
      goro::wait_group wg;
      wg.add(1);
      goro::go([unbuffered, &wg] {
        for (int i = 0; i < 50; ++i) unbuffered.send(tracked(i));
        for (int i = 0; i < 50; ++i) {
          tracked t(100 + i);
          select(on_send(unbuffered, std::move(t)));
        }
        unbuffered.close();
        wg.done();
      });
      int expected = 0;
      for (auto&& t : unbuffered) {
        EXPECT_EQ(t.value, expected < 50 ? expected : 100 + expected - 50);
        ++expected;
      }
      wg.wait();
      EXPECT_EQ(expected, 100);
      // Buffered, including values left behind when the channel goes away.
      for (int i = 0; i < 4; ++i) buffered.send(tracked(i));
      EXPECT_EQ(buffered.recv()->value, 0);
      tracked out(0);
      EXPECT_EQ(buffered.try_recv(out), status::ok);
      EXPECT_EQ(out.value, 1);
      // Send cases that are not chosen keep their values; nothing is copied into the channel.
      tracked kept(7);
      EXPECT_EQ(
          select(on_send(never, std::move(kept)), on_send(never, tracked(8)), on_default([] {})),
          2u);
      // NOLINTNEXTLINE(bugprone-use-after-move): not sent, so not moved from (what this checks)
      EXPECT_EQ(kept.value, 7);
      EXPECT_EQ(select(on_recv(buffered, [](std::optional<tracked> v) { EXPECT_EQ(v->value, 2); })),
                0u);
    }
    EXPECT_EQ(tracked::live.load(), 0) << "values leaked or destroyed twice";
  });
}

// A large payload crosses stacks intact when handed directly from a blocked sender to a
// receiver and back through select.
struct big {
  std::array<int, 2048> data;
};

TEST(Payload, LargeValuesArriveIntact) {
  run_checked([] {
    auto ch = make_chan<big>();
    auto back = make_chan<big>(1);
    goro::go([ch, back] {
      for (int round = 0; round < 20; ++round) {
        big b;
        for (std::size_t i = 0; i < b.data.size(); ++i)
          b.data[i] = round * 10000 + static_cast<int>(i);
        if (round % 2 == 0) {
          ch.send(b);
        } else {
          select(on_send(ch, b));
        }
      }
      auto r = ch.recv();
      back.send(*r);
    });
    for (int round = 0; round < 20; ++round) {
      std::optional<big> got;
      if (round % 2 == 0) {
        got = ch.recv();
      } else {
        select(on_recv(ch, [&](std::optional<big> v) { got = v; }));
      }
      ASSERT_TRUE(got.has_value());
      for (std::size_t i = 0; i < got->data.size(); ++i) {
        ASSERT_EQ(got->data[i], round * 10000 + static_cast<int>(i)) << "round " << round;
      }
    }
    big echo;
    echo.data.fill(42);
    ch.send(echo);
    EXPECT_EQ(back.recv()->data, echo.data);
  });
}

// T needs no default constructor: recv() returns std::optional<T>.
struct no_default {
  explicit no_default(int v) : value(v) {}
  int value;
};

TEST(Payload, TypeWithoutDefaultConstructor) {
  run_checked([] {
    auto ch = make_chan<no_default>(1);
    ch.send(no_default(3));
    EXPECT_EQ(ch.recv()->value, 3);
    goro::go([ch] { ch.send(no_default(4)); });
    std::optional<no_default> got;
    select(on_recv(ch, [&](std::optional<no_default> v) { got = v; }));
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->value, 4);
  });
}

// --- identity ---

TEST(Identity, CopiesCompareEqualDistinctChannelsDoNot) {
  auto a = make_chan<int>(1);
  auto b = a;
  auto c = make_chan<int>(1);
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == c);
  EXPECT_TRUE(a != c);
  b.send(1);
  EXPECT_EQ(a.size(), 1u) << "copies share one channel";
  EXPECT_EQ(c.size(), 0u);
  chan<int> nil1;
  chan<int> nil2;
  EXPECT_TRUE(nil1 == nil2);
  EXPECT_FALSE(nil1 == a);
  EXPECT_FALSE(static_cast<bool>(nil1));
  EXPECT_TRUE(static_cast<bool>(a));
  // A view compares equal to the channel it views.
  goro::send_chan<int> s = a;
  goro::recv_chan<int> r = a;
  EXPECT_TRUE(s == a);
  EXPECT_TRUE(r == a);
  EXPECT_FALSE(r == c);
  // Assigning nil drops the handle, not the channel.
  b = {};
  EXPECT_FALSE(static_cast<bool>(b));
  EXPECT_EQ(a.recv(), 1);
}

// --- the nil channel ---

TEST(NilChannel, Table) {
  chan<int> nil;
  EXPECT_EQ(nil.size(), 0u);
  EXPECT_EQ(nil.capacity(), 0u);
  int v = 7;
  EXPECT_EQ(nil.try_send(v), status::not_ready);
  EXPECT_EQ(nil.try_send(8), status::not_ready);
  EXPECT_EQ(v, 7);
  int out = 3;
  EXPECT_EQ(nil.try_recv(out), status::not_ready);
  EXPECT_EQ(out, 3);
  EXPECT_EQ(panic_text([&] { nil.close(); }), "close of nil channel");
  goro::send_chan<int> nil_send;
  goro::recv_chan<int> nil_recv;
  EXPECT_EQ(nil_send.size(), 0u);
  EXPECT_EQ(nil_recv.capacity(), 0u);
  EXPECT_EQ(nil_send.try_send(1), status::not_ready);
  EXPECT_EQ(nil_recv.try_recv(out), status::not_ready);
  EXPECT_EQ(panic_text([&] { nil_send.close(); }), "close of nil channel");
}

// Blocking operations on a nil channel block forever: see select3_test.cpp's death tests.

// --- close ---

TEST(Close, CloseOfClosedChannelPanics) {
  auto ch = make_chan<int>(1);
  ch.close();
  EXPECT_EQ(panic_text([&] { ch.close(); }), "close of closed channel");
  goro::send_chan<int> s = ch;
  EXPECT_EQ(panic_text([&] { s.close(); }), "close of closed channel");
}

TEST(Close, PanicErrorIsALogicError) {
  auto ch = make_chan<int>();
  ch.close();
  try {
    ch.send(1);
    ADD_FAILURE() << "send on a closed channel returned";
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(), "send on closed channel");
    EXPECT_NE(dynamic_cast<const goro::panic_error*>(&e), nullptr);
  }
}

// Senders blocked when the channel closes throw; receivers blocked get "closed".
TEST(Close, WakesBlockedSendersWithPanicAndReceiversWithNullopt) {
  run_checked([] {
    auto full = make_chan<int>(1);
    full.send(0);
    auto empty = make_chan<int>();
    auto outcomes = make_chan<std::string>(8);
    for (int i = 0; i < 4; ++i) {
      goro::go([full, outcomes] { outcomes.send(panic_text([&] { full.send(1); })); });
      goro::go([empty, outcomes] { outcomes.send(empty.recv().has_value() ? "value" : "closed"); });
    }
    full.close();
    empty.close();
    int panics = 0;
    int closed = 0;
    for (int i = 0; i < 8; ++i) {
      const auto o = *outcomes.recv();
      if (o == "send on closed channel") {
        ++panics;
      } else if (o == "closed") {
        ++closed;
      } else {
        ADD_FAILURE() << "unexpected outcome " << o;
      }
    }
    EXPECT_EQ(panics, 4);
    EXPECT_EQ(closed, 4);
    // The value buffered before the close is still delivered.
    EXPECT_EQ(full.recv(), 0);
    EXPECT_EQ(full.recv(), std::nullopt);
  });
}

// --- range-for ---

TEST(Range, DrainsUntilClosedAndEmpty) {
  run_checked([] {
    auto ch = make_chan<int>(5);
    for (int i = 0; i < 5; ++i) ch.send(i);
    ch.close();
    std::vector<int> got;
    for (int v : ch) got.push_back(v);
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4}));
    got.clear();
    for (int v : ch) got.push_back(v);
    EXPECT_TRUE(got.empty()) << "a closed, drained channel yields nothing";
  });
}

TEST(Range, WaitsForSendersAcrossGoroutines) {
  run_checked([] {
    auto ch = make_chan<int>();
    goro::go([ch] {
      for (int i = 1; i <= 50; ++i) ch.send(i);
      ch.close();
    });
    int sum = 0;
    for (int v : goro::recv_chan<int>(ch)) sum += v;
    EXPECT_EQ(sum, 50 * 51 / 2);
  });
}

TEST(Range, BreakLeavesTheRestInTheChannel) {
  auto ch = make_chan<int>(4);
  for (int i = 0; i < 4; ++i) ch.send(i);
  for (int v : ch) {
    if (v == 1) break;
  }
  EXPECT_EQ(ch.size(), 2u);
  EXPECT_EQ(ch.recv(), 2);
}

}  // namespace
