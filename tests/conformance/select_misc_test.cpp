// Ports of the smaller select regression tests in test/chan: select4.go (only the chosen
// case's receive target is touched), select6.go (issue 2075: a select that lost on a channel
// with several waiters must leave that channel's queue intact), select7.go (every pairing of
// send and receive forms, with the received value discarded), and goroutines.go (a long chain
// of goroutines passing one value along, then torn down).
#include <optional>
#include <vector>

#include "conformance.hpp"

namespace {

using conformance::run_checked;
using goro::chan;
using goro::make_chan;
using goro::on_recv;
using goro::on_send;
using goro::recv_chan;
using goro::select;

// select4.go: `case *f() = <-c1` must not evaluate into f()'s target unless chosen. Here the
// handler is the assignment, so only the chosen case's handler may write.
TEST(Select4, OnlyTheChosenCaseAssigns) {
  run_checked([] {
    struct {
      int a = 0;
    } x;
    int not_chosen_target = -1;
    auto c = make_chan<int>(1);
    auto c1 = make_chan<int>();
    c.send(42);
    select(on_recv(c1, [&](std::optional<int> v) { not_chosen_target = v.value_or(-2); }),
           on_recv(c, [&](std::optional<int> v) { x.a = *v; }));
    EXPECT_EQ(x.a, 42);
    EXPECT_EQ(not_chosen_target, -1);
  });
}

// select6.go (issue 2075): G1 waits on c1; G2's select waits on c1 and c2 and is woken
// through c2, then waits on c1 again. Both later sends on c1 must find a receiver.
TEST(Select6, LosingSelectLeavesQueueIntact) {
  const int rounds = conformance::scaled(500);
  run_checked([] {
    for (int r = 0; r < rounds; ++r) {
      auto c1 = make_chan<bool>();
      auto c2 = make_chan<bool>();
      auto c3 = make_chan<bool>();
      goro::wait_group wg;
      wg.add(3);
      goro::go([c1, &wg] {
        (void)c1.recv();
        wg.done();
      });
      goro::go([c1, c2, c3, &wg] {
        select(on_recv(c1, [] { ADD_FAILURE() << "nothing is sent on c1 yet"; }),
               on_recv(c2, [&] { c3.send(true); }));
        (void)c1.recv();
        wg.done();
      });
      goro::go([c2, &wg] {
        c2.send(true);
        wg.done();
      });
      (void)c3.recv();
      c1.send(true);
      c1.send(true);
      wg.wait();
    }
  });
}

// select7.go: three ways to receive (plain, one-case select, two-case select) against three
// ways to send (plain, one-case select, two-case select with a never-ready second case).
using receiver_fn = void (*)(recv_chan<int>);

void recv1(recv_chan<int> c) { (void)c.recv(); }
void recv2(recv_chan<int> c) {
  select(on_recv(c, [] {}));
}
void recv3(recv_chan<int> c) {
  auto c2 = make_chan<int>();
  select(on_recv(c, [] {}), on_recv(c2, [] {}));
}

enum class send_form { plain, one_case, two_cases };

void send_with(send_form form, receiver_fn recv) {
  auto c = make_chan<int>();
  goro::wait_group wg;
  wg.add(1);
  goro::go([c, recv, &wg] {
    recv(c);
    wg.done();
  });
  goro::yield();
  switch (form) {
    case send_form::plain:
      c.send(1);
      break;
    case send_form::one_case:
      select(on_send(c, 1));
      break;
    case send_form::two_cases: {
      auto c2 = make_chan<int>();
      EXPECT_EQ(select(on_send(c, 1), on_send(c2, 1)), 0u);
      break;
    }
  }
  wg.wait();
}

TEST(Select7, EverySendFormMeetsEveryReceiveForm) {
  run_checked([] {
    for (receiver_fn recv : {recv1, recv2, recv3}) {
      for (send_form form : {send_form::plain, send_form::one_case, send_form::two_cases}) {
        send_with(form, recv);
      }
    }
  });
}

// goroutines.go: n goroutines, each forwarding one value from its right channel to its left;
// a value injected at the right end must come out at the left end, and every goroutine exits.
TEST(Goroutines, LongChainPassesOneValue) {
  const int n = conformance::scaled(10000, 20);
  run_checked([] {
    auto leftmost = make_chan<int>();
    chan<int> left = leftmost;
    for (int i = 0; i < n; ++i) {
      auto right = make_chan<int>();
      goro::go([left, right] { left.send(*right.recv()); });
      left = right;
    }
    goro::go([left] { left.send(1); });
    EXPECT_EQ(leftmost.recv(), 1);
  });
}

}  // namespace
