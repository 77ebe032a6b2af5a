// Fan-out, fan-in: three workers read from one source channel (fan-out) and `merge` combines
// their output channels into one (fan-in). Lines arrive in whatever order the workers finish;
// the test sorts them before comparing.
#include <goro/goro.hpp>
#include <memory>
#include <vector>

#include "common/print.hpp"

struct squared {
  int n;
  int square;
};

// Sends 1..n, then closes.
goro::recv_chan<int> source(int n) {
  auto out = goro::make_chan<int>();
  goro::go([out, n] {
    for (int i = 1; i <= n; ++i) {
      out.send(i);
    }
    out.close();
  });
  return out;
}

// Sends {n, n * n} for every n from `in`; closes its output when `in` is drained.
goro::recv_chan<squared> square(goro::recv_chan<int> in) {
  auto out = goro::make_chan<squared>();
  goro::go([in, out] {
    for (int n : in) {
      out.send({n, n * n});
    }
    out.close();
  });
  return out;
}

// Forwards every value of every input to one channel, closed once all inputs are drained.
goro::recv_chan<squared> merge(const std::vector<goro::recv_chan<squared>>& inputs) {
  auto out = goro::make_chan<squared>();
  // Shared by the forwarders and the closer; freed with the last of them.
  auto forwarding = std::make_shared<goro::wait_group>();
  forwarding->add(static_cast<int>(inputs.size()));
  for (const auto& in : inputs) {
    goro::go([in, out, forwarding] {
      for (squared s : in) {
        out.send(s);
      }
      forwarding->done();
    });
  }
  goro::go([out, forwarding] {
    forwarding->wait();
    out.close();
  });
  return out;
}

int main() {
  return goro::run([] {
    goro::recv_chan<int> numbers = source(10);
    std::vector<goro::recv_chan<squared>> workers;
    workers.reserve(3);
    for (int w = 0; w < 3; ++w) {
      workers.push_back(square(numbers));  // fan-out: all three read `numbers`
    }
    for (squared s : merge(workers)) {  // fan-in
      examples::println(s.n, "squared is", s.square);
    }
  });
}
