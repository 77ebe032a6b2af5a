// Port of test/chan/nonblock.go (main): non-blocking sends and receives (try_send / try_recv,
// and select with a default) on unbuffered and buffered channels of several element types,
// first without a partner (never ready, unless the buffer helps), then with a partner goroutine
// doing the blocking counterpart, which the non-blocking side must eventually meet.
#include <cstdint>
#include <optional>
#include <string>

#include "conformance.hpp"

namespace {

using conformance::run_checked;
using goro::chan;
using goro::make_chan;
using goro::status;

template <class T>
T sample();
template <>
int sample<int>() {
  return 123;
}
template <>
std::int64_t sample<std::int64_t>() {
  return 123456789012345;
}
template <>
bool sample<bool>() {
  return true;
}
template <>
std::string sample<std::string>() {
  return "hello";
}

// Go's i32receiver & co: a blocking receive that must see the sample value.
template <class T>
void receiver(chan<T> c, chan<goro::signal> sync) {
  EXPECT_EQ(c.recv(), sample<T>());
  sync.send({});
}

// Go's i32sender & co: a blocking send of the sample value.
template <class T>
void sender(chan<T> c, chan<goro::signal> sync) {
  c.send(sample<T>());
  sync.send({});
}

template <class T>
class NonBlock : public ::testing::Test {};
using element_types = ::testing::Types<int, std::int64_t, bool, std::string>;
TYPED_TEST_SUITE(NonBlock, element_types);

TYPED_TEST(NonBlock, EmptyChannelHasNothingToReceive) {
  run_checked([] {
    for (std::size_t cap : {0u, 10u}) {
      auto c = make_chan<TypeParam>(cap);
      TypeParam out{};
      EXPECT_EQ(c.try_recv(out), status::not_ready) << "capacity " << cap;
      bool defaulted = false;
      goro::select(goro::on_recv(c, [] { ADD_FAILURE() << "received from an empty channel"; }),
                   goro::on_default([&] { defaulted = true; }));
      EXPECT_TRUE(defaulted);
    }
  });
}

TYPED_TEST(NonBlock, UnbufferedSendWithoutReceiverIsNotReady) {
  run_checked([] {
    auto c = make_chan<TypeParam>();
    TypeParam v = sample<TypeParam>();
    EXPECT_EQ(c.try_send(v), status::not_ready);
    EXPECT_EQ(v, sample<TypeParam>()) << "a failed try_send must leave its value untouched";
    EXPECT_EQ(goro::select(goro::on_send(c, v), goro::on_default([] {})), 1u);
  });
}

TYPED_TEST(NonBlock, BufferedSendSucceedsWithoutReceiver) {
  run_checked([] {
    auto c = make_chan<TypeParam>(10);
    EXPECT_EQ(c.try_send(sample<TypeParam>()), status::ok);
    EXPECT_EQ(goro::select(goro::on_send(c, sample<TypeParam>()), goro::on_default([] {})), 0u);
    EXPECT_EQ(c.size(), 2u);
    TypeParam out{};
    EXPECT_EQ(c.try_recv(out), status::ok);
    EXPECT_EQ(out, sample<TypeParam>());
  });
}

// The partner blocks in recv; the main goroutine keeps trying a non-blocking send. It succeeds
// once the partner is waiting (unbuffered) or at once (buffered); it is never lost or doubled.
TYPED_TEST(NonBlock, TrySendMeetsBlockedReceiver) {
  run_checked([] {
    for (std::size_t cap : {0u, 10u}) {
      auto c = make_chan<TypeParam>(cap);
      auto sync = make_chan<goro::signal>();
      goro::go(receiver<TypeParam>, c, sync);
      while (c.try_send(sample<TypeParam>()) != status::ok) {
        goro::yield();  // lets the receiver reach its recv on a single worker
      }
      sync.recv();
      EXPECT_EQ(c.size(), 0u);
    }
  });
}

TYPED_TEST(NonBlock, SelectSendMeetsBlockedReceiver) {
  run_checked([] {
    for (std::size_t cap : {0u, 10u}) {
      auto c = make_chan<TypeParam>(cap);
      auto sync = make_chan<goro::signal>();
      goro::go(receiver<TypeParam>, c, sync);
      const TypeParam v = sample<TypeParam>();
      while (goro::select(goro::on_send(c, v), goro::on_default([] {})) != 0) goro::yield();
      sync.recv();
    }
  });
}

TYPED_TEST(NonBlock, TryRecvMeetsBlockedSender) {
  run_checked([] {
    for (std::size_t cap : {0u, 10u}) {
      auto c = make_chan<TypeParam>(cap);
      auto sync = make_chan<goro::signal>();
      goro::go(sender<TypeParam>, c, sync);
      TypeParam out{};
      while (c.try_recv(out) != status::ok) goro::yield();
      EXPECT_EQ(out, sample<TypeParam>());
      sync.recv();
      EXPECT_EQ(c.try_recv(out), status::not_ready) << "exactly one value was sent";
    }
  });
}

TYPED_TEST(NonBlock, SelectRecvMeetsBlockedSender) {
  run_checked([] {
    for (std::size_t cap : {0u, 10u}) {
      auto c = make_chan<TypeParam>(cap);
      auto sync = make_chan<goro::signal>();
      goro::go(sender<TypeParam>, c, sync);
      std::optional<TypeParam> got;
      while (goro::select(goro::on_recv(c, [&](std::optional<TypeParam> v) { got = v; }),
                          goro::on_default([] {})) != 0) {
        goro::yield();
      }
      EXPECT_EQ(got, sample<TypeParam>());
      sync.recv();
    }
  });
}

// After close: try_recv drains what is buffered, then reports closed; try_send panics.
TYPED_TEST(NonBlock, ClosedChannel) {
  run_checked([] {
    auto c = make_chan<TypeParam>(2);
    EXPECT_EQ(c.try_send(sample<TypeParam>()), status::ok);
    c.close();
    TypeParam out{};
    EXPECT_EQ(c.try_recv(out), status::ok);
    EXPECT_EQ(out, sample<TypeParam>());
    EXPECT_EQ(c.try_recv(out), status::closed);
  });
}

// API.md: try_send on a closed channel "throws as send"; Go's non-blocking send
// (select with default) on a closed channel panics too.
TYPED_TEST(NonBlock, TrySendOnClosedChannelPanics) {
  run_checked([] {
    for (std::size_t cap : {0u, 2u}) {
      auto c = make_chan<TypeParam>(cap);
      c.close();
      const TypeParam v = sample<TypeParam>();
      EXPECT_EQ(conformance::panic_text([&] { (void)c.try_send(v); }), "send on closed channel");
      EXPECT_EQ(conformance::panic_text([&] { (void)c.try_send(sample<TypeParam>()); }),
                "send on closed channel");
      EXPECT_EQ(conformance::panic_text(
                    [&] { goro::select(goro::on_send(c, v), goro::on_default([] {})); }),
                "send on closed channel");
    }
  });
}

}  // namespace
