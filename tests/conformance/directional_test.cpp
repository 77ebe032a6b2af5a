// Directional views (API.md, "Directional views"; Go's `chan<- T` and `<-chan T`): which
// operations each view has, checked at compile time with requires-expressions, and that views
// share their channel at run time.
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "conformance.hpp"

namespace {

using conformance::run_checked;
using goro::chan;
using goro::make_chan;
using goro::recv_chan;
using goro::send_chan;
using goro::status;

// Detectors: each asks whether an expression is well-formed for C.
template <class C, class T = typename C::value_type>
concept can_send = requires(const C& c, T v) {
  c.send(std::move(v));
};
template <class C, class T = typename C::value_type>
concept can_try_send = requires(const C& c, T v) {
  { c.try_send(std::move(v)) } -> std::same_as<status>;
};
template <class C, class T = typename C::value_type>
concept can_recv = requires(const C& c) {
  { c.recv() } -> std::same_as<std::optional<T>>;
};
template <class C, class T = typename C::value_type>
concept can_try_recv = requires(const C& c, T& out) {
  { c.try_recv(out) } -> std::same_as<status>;
};
template <class C>
concept can_close = requires(const C& c) {
  c.close();
};
template <class C>
concept can_range = requires(const C& c) {
  c.begin();
  c.end();
};
template <class C>
concept has_size_and_capacity = requires(const C& c) {
  { c.size() } -> std::same_as<std::size_t>;
  { c.capacity() } -> std::same_as<std::size_t>;
};

template <class T>
constexpr bool check_views() {
  // chan<T>: everything.
  static_assert(can_send<chan<T>> && can_try_send<chan<T>> && can_recv<chan<T>> &&
                can_try_recv<chan<T>> && can_close<chan<T>> && can_range<chan<T>> &&
                has_size_and_capacity<chan<T>>);
  // send_chan<T>: send, try_send, close, size, capacity; nothing that receives.
  static_assert(can_send<send_chan<T>> && can_try_send<send_chan<T>> && can_close<send_chan<T>> &&
                has_size_and_capacity<send_chan<T>>);
  static_assert(!can_recv<send_chan<T>> && !can_try_recv<send_chan<T>> && !can_range<send_chan<T>>);
  // recv_chan<T>: recv, try_recv, begin/end, size, capacity; nothing that sends or closes.
  static_assert(can_recv<recv_chan<T>> && can_try_recv<recv_chan<T>> && can_range<recv_chan<T>> &&
                has_size_and_capacity<recv_chan<T>>);
  static_assert(!can_send<recv_chan<T>> && !can_try_send<recv_chan<T>> && !can_close<recv_chan<T>>);
  // chan<T> converts to both views implicitly; neither view converts back, nor to the other.
  static_assert(std::is_convertible_v<chan<T>, send_chan<T>>);
  static_assert(std::is_convertible_v<chan<T>, recv_chan<T>>);
  static_assert(std::is_convertible_v<const chan<T>&, send_chan<T>>);
  static_assert(std::is_convertible_v<const chan<T>&, recv_chan<T>>);
  static_assert(!std::is_convertible_v<send_chan<T>, chan<T>>);
  static_assert(!std::is_convertible_v<recv_chan<T>, chan<T>>);
  static_assert(!std::is_constructible_v<chan<T>, send_chan<T>>);
  static_assert(!std::is_constructible_v<chan<T>, recv_chan<T>>);
  static_assert(!std::is_convertible_v<send_chan<T>, recv_chan<T>>);
  static_assert(!std::is_convertible_v<recv_chan<T>, send_chan<T>>);
  // All three are cheap, copyable handles, nil when default-constructed.
  static_assert(std::is_nothrow_default_constructible_v<chan<T>>);
  static_assert(std::is_copy_constructible_v<chan<T>> && std::is_copy_assignable_v<chan<T>>);
  static_assert(std::is_copy_constructible_v<send_chan<T>>);
  static_assert(std::is_copy_constructible_v<recv_chan<T>>);
  static_assert(!std::is_convertible_v<chan<T>, bool>, "operator bool is explicit");
  static_assert(std::is_constructible_v<bool, chan<T>>);
  return true;
}

static_assert(check_views<int>());
static_assert(check_views<std::string>());
static_assert(check_views<std::unique_ptr<int>>());
static_assert(check_views<goro::signal>());

// Select accepts both the channel and the matching view, and only the matching view.
template <class C>
concept recv_case_ok = requires(const C& c) {
  goro::on_recv(c, [] {});
};
template <class C>
concept send_case_ok = requires(const C& c, int v) {
  goro::on_send(c, v);
};
static_assert(recv_case_ok<chan<int>> && recv_case_ok<recv_chan<int>>);
static_assert(send_case_ok<chan<int>> && send_case_ok<send_chan<int>>);
static_assert(!recv_case_ok<send_chan<int>>);
static_assert(!send_case_ok<recv_chan<int>>);

// A producer that can only send and a consumer that can only receive.
void produce(send_chan<int> out, int n) {
  for (int i = 0; i < n; ++i) out.send(i);
  out.close();
}
int consume(recv_chan<int> in) {
  int sum = 0;
  for (int v : in) sum += v;
  return sum;
}

TEST(Directional, ViewsShareTheChannel) {
  run_checked([] {
    auto ch = make_chan<int>(2);
    send_chan<int> s = ch;
    recv_chan<int> r = ch;
    EXPECT_EQ(s.capacity(), 2u);
    EXPECT_EQ(r.capacity(), 2u);
    s.send(1);
    EXPECT_EQ(r.size(), 1u);
    EXPECT_EQ(ch.size(), 1u);
    EXPECT_EQ(r.recv(), 1);
    EXPECT_EQ(s.try_send(2), status::ok);
    int out = 0;
    EXPECT_EQ(r.try_recv(out), status::ok);
    EXPECT_EQ(out, 2);

    goro::go(produce, ch, 100);
    EXPECT_EQ(consume(ch), 99 * 100 / 2);
    EXPECT_EQ(r.recv(), std::nullopt) << "close through the send view closed the channel";
  });
}

TEST(Directional, ViewsInSelect) {
  run_checked([] {
    auto ch = make_chan<int>(1);
    send_chan<int> s = ch;
    recv_chan<int> r = ch;
    EXPECT_EQ(goro::select(goro::on_send(s, 5), goro::on_default([] {})), 0u);
    std::optional<int> got;
    EXPECT_EQ(goro::select(goro::on_recv(r, [&](std::optional<int> v) { got = v; }),
                           goro::on_default([] {})),
              0u);
    EXPECT_EQ(got, 5);
  });
}

TEST(Directional, NilViews) {
  send_chan<int> s;
  recv_chan<int> r;
  EXPECT_FALSE(static_cast<bool>(s));
  EXPECT_FALSE(static_cast<bool>(r));
  send_chan<int> from_nil = chan<int>{};
  EXPECT_FALSE(static_cast<bool>(from_nil));
}

}  // namespace
