// A pipeline with cancellation: gen -> square -> main. Every stage selects between sending its
// next value and the `done` channel. Main takes the first five squares and closes `done`: a
// closed channel is ready to receive from for everyone at once, so that one close stops every
// stage, however many there are and wherever each is blocked.
#include <goro/goro.hpp>

#include "common/print.hpp"

// Sends 1, 2, 3, ... until `done` is closed, then closes its output.
goro::recv_chan<int> gen(goro::recv_chan<goro::signal> done, goro::wait_group& stages) {
  auto out = goro::make_chan<int>();
  stages.add(1);
  goro::go([done, out, &stages] {
    for (int n = 1;; ++n) {
      if (goro::select(goro::on_send(out, n), goro::on_recv(done, [] {})) == 1) {
        break;  // cancelled
      }
    }
    out.close();
    stages.done();
  });
  return out;
}

// Sends the square of every value from `in` until `in` is closed or `done` is.
goro::recv_chan<int> square(goro::recv_chan<goro::signal> done, goro::recv_chan<int> in,
                            goro::wait_group& stages) {
  auto out = goro::make_chan<int>();
  stages.add(1);
  goro::go([done, in, out, &stages] {
    for (int n : in) {
      if (goro::select(goro::on_send(out, n * n), goro::on_recv(done, [] {})) == 1) {
        break;  // cancelled
      }
    }
    out.close();
    stages.done();
  });
  return out;
}

int main() {
  return goro::run([] {
    auto done = goro::make_chan<goro::signal>();
    goro::wait_group stages;
    goro::recv_chan<int> squares = square(done, gen(done, stages), stages);

    for (int i = 0; i < 5; ++i) {
      examples::println(squares.recv().value());
    }
    done.close();  // cancel: gen would otherwise count forever

    stages.wait();
    examples::println("pipeline cancelled: every stage returned");
  });
}
