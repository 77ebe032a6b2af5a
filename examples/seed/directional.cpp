// Seed program 5: restricting data flow. Each goroutine gets a directional view of the channel:
// recv_chan<int> is Go's <-chan int and send_chan<int> is Go's chan<- int; both convert
// implicitly from chan<int> and never back.
#include <goro/goro.hpp>

#include "common/print.hpp"

goro::wait_group wg;

// Go rejects a send on a <-chan at compile time ("invalid operation"); so does C++: each view
// lacks the other direction's operations, and a requires-expression sees them as absent.
template <class Chan>
concept can_send = requires(Chan ch) {
  ch.send(0);
};
template <class Chan>
concept can_recv = requires(Chan ch) {
  ch.recv();
};
static_assert(can_send<goro::send_chan<int>> && !can_recv<goro::send_chan<int>>);
static_assert(can_recv<goro::recv_chan<int>> && !can_send<goro::recv_chan<int>>);

int main() {
  return goro::run([] {
    auto ch = goro::make_chan<int>();
    wg.add(2);

    // receive only.  Go: go func(ch <-chan int) { ... }(ch)
    goro::go(
        [](goro::recv_chan<int> in) {
          int i = in.recv().value();
          examples::println(i);
          wg.done();
        },
        ch);
    // send only.  Go: go func(ch chan<- int) { ... }(ch)
    goro::go(
        [](goro::send_chan<int> out) {
          out.send(44);
          wg.done();
        },
        ch);

    wg.wait();
  });
}
