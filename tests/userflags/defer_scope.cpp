// tests/userflags/defer_scope.cpp: goro::defer as users write it, built with -Wall -Wextra
// -Werror at -O2 and -O3 (see CMakeLists.txt).
//
// Covered: `defer wg.Done()` in goroutines that return early, `defer mu.Unlock()` around shared
// state, and a producer's `defer close(out)` ending a consumer's range-for.
#include <goro/goro.hpp>
#include <string>
#include <vector>

#include "check.hpp"

using userflags::check;

namespace {

int counted_by_workers() {
  goro::wait_group wg;
  goro::mutex mu;
  int total = 0;
  for (int i = 0; i < 8; i++) {
    wg.add(1);
    goro::go([&wg, &mu, &total, i] {
      goro::defer done([&wg] { wg.done(); });
      if (i % 2 == 1) return;  // done() runs on this way out too
      mu.lock();
      goro::defer unlock([&mu] { mu.unlock(); });
      total += i;
    });
  }
  wg.wait();
  return total;
}

std::string produced_then_closed() {
  auto out = goro::make_chan<std::string>();
  goro::go([out] {
    goro::defer close_out([&out] { out.close(); });
    for (const char* w : {"de", "fer"}) out.send(w);
  });
  std::string all;
  for (const std::string& s : out) all += s;
  return all;
}

}  // namespace

int main() {
  return goro::run([] {
    std::vector<int> order;
    {
      goro::defer first([&order] { order.push_back(1); });
      goro::defer second([&order] { order.push_back(2); });
    }
    check(order == std::vector<int>{2, 1}, "reverse order");
    check(counted_by_workers() == 0 + 2 + 4 + 6, "counted_by_workers");
    check(produced_then_closed() == "defer", "produced_then_closed");
    return 0;
  });
}
