// A ticker delivers the time on its channel once per period until stopped. Main receives five
// ticks, checks that none came early, then stops the ticker: after stop() no tick is delivered,
// not even one that was due before the call (Go 1.23 semantics).
#include <chrono>
#include <goro/goro.hpp>

#include "common/print.hpp"

using namespace std::chrono_literals;

int main() {
  return goro::run([] {
    constexpr auto period = 10ms;
    const auto start = std::chrono::steady_clock::now();
    goro::ticker ticker(period);

    bool early = false;
    for (int n = 1; n <= 5; ++n) {
      ticker.c().recv();
      // The n-th tick is due n periods after the ticker started; a late tick is fine (ticks a
      // slow receiver missed are dropped), an early one is a bug.
      early = early || std::chrono::steady_clock::now() < start + n * period;
      examples::println("tick", n);
    }
    ticker.stop();
    examples::println("ticker stopped; a tick came early:", early);

    goro::select(goro::on_recv(ticker.c(), [] { examples::println("tick after stop"); }),
                 goro::on_default([] { examples::println("no tick after stop"); }));
  });
}
