// Seed program 6: a buffered channel (room for 50 values) and range-for. The sender puts three
// values in the buffer without waiting for the receiver, then closes the channel; the receiver's
// range-for prints every buffered value and ends once the channel is closed and empty.
#include <goro/goro.hpp>

#include "common/print.hpp"

goro::wait_group wg;

int main() {
  return goro::run([] {
    auto ch = goro::make_chan<int>(50);  // Go: ch := make(chan int, 50)
    wg.add(2);

    // receives until the channel is closed and drained.  Go: for i := range ch { ... }
    goro::go(
        [](goro::recv_chan<int> in) {
          for (int i : in) {
            examples::println(i);
          }
          wg.done();
        },
        ch);

    // sends three values, then closes: without the close, the range-for above would wait for
    // a fourth value forever.
    goro::go(
        [](goro::send_chan<int> out) {
          out.send(30);
          out.send(40);
          out.send(50);
          out.close();
          wg.done();
        },
        ch);

    wg.wait();
  });
}
