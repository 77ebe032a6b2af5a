// Rate limiting with a ticker: each request waits for the next tick, so requests are served at
// most once per period. The bursty limiter lets up to three requests through at once and
// refills one slot per period from a ticker.
#include <chrono>
#include <goro/goro.hpp>

#include "common/print.hpp"

using namespace std::chrono_literals;
using std::chrono::steady_clock;

constexpr auto period = 10ms;

// Returns a channel holding the requests 1..n.
goro::chan<int> requests(int n) {
  auto ch = goro::make_chan<int>(static_cast<std::size_t>(n));
  for (int i = 1; i <= n; ++i) {
    ch.send(i);
  }
  ch.close();
  return ch;
}

int main() {
  return goro::run([] {
    // Steady: one request per tick. The k-th tick is due k periods after the start.
    const auto start = steady_clock::now();
    goro::ticker limiter(period);
    for (int request : requests(5)) {
      limiter.c().recv();
      examples::println("request", request);
    }
    limiter.stop();
    examples::println("5 requests took at least 5 periods:",
                      steady_clock::now() - start >= 5 * period);

    // Bursty: three tokens up front, then one per tick. A token is a slot in the buffer.
    auto bursty = goro::make_chan<steady_clock::time_point>(3);
    const auto burst_start = steady_clock::now();
    for (int i = 0; i < 3; ++i) {
      bursty.send(burst_start);
    }
    auto done = goro::make_chan<goro::signal>();
    goro::wait_group refiller;
    refiller.add(1);
    goro::go([bursty, done, &refiller] {
      goro::ticker refill(period);
      for (;;) {
        auto tick = refill.c().recv();
        // Blocks while the bucket is full, so the select also watches for the end.
        if (goro::select(goro::on_send(bursty, tick.value()), goro::on_recv(done, [] {})) == 1) {
          break;
        }
      }
      refill.stop();
      refiller.done();
    });
    for (int request : requests(5)) {
      bursty.recv();
      examples::println("bursty request", request);
    }
    // Three went through at once, the 4th and 5th waited for two refills.
    examples::println("5 bursty requests took at least 2 periods:",
                      steady_clock::now() - burst_start >= 2 * period);
    done.close();
    refiller.wait();
  });
}
