// Seed program 5: restricting data flow. Each goroutine gets a directional view of the channel:
// recv_chan<int> is Go's <-chan int and send_chan<int> is Go's chan<- int. Both convert
// implicitly from chan<int>; calling send on a recv_chan (or recv on a send_chan) does not
// compile, where Go reports "invalid operation" at compile time too.
#include <goro/goro.hpp>

#include "common/print.hpp"

goro::wait_group wg;

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
