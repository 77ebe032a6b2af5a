// A sanitized program's view of goro: data handed between goroutines on different threads
// through a channel, a mutex, a select and a wait_group, with plain (non-atomic) memory on both
// sides. Built by scripts/package-check.sh with -fsanitize=thread against goro::goro_tsan and
// with -fsanitize=address,undefined against goro::goro_asan, from the unpacked Debian package,
// and run at GORO_MAXPROCS=4: it must print "sum 128008000 total 16000 late 8" and nothing else
// (a sanitizer report fails the check). Against a plain libgoro.a the TSan build reports
// races that are not there: the library's own synchronisation is invisible to it.
#include <chrono>
#include <cstdio>
#include <goro/goro.hpp>
#include <optional>
#include <vector>

namespace {

struct payload {
  std::vector<long> values;  // written by the sender, read by the receiver: plain memory
};

}  // namespace

int main() {
  return goro::run([] {
    constexpr int kSenders = 8;
    constexpr long kPerSender = 2000;
    auto data = goro::make_chan<payload*>(4);
    auto late = goro::make_chan<int>();
    goro::mutex mu;
    long total = 0;  // guarded by mu
    goro::wait_group wg;
    for (int s = 0; s < kSenders; ++s) {
      wg.add(1);
      goro::go([&, s] {
        for (long i = 0; i < kPerSender; ++i) {
          auto* p = new payload{{s * kPerSender + i, 1}};
          data.send(p);
          mu.lock();
          ++total;
          mu.unlock();
        }
        // A select between a timer and a receiver that comes late.
        goro::select(goro::on_recv(goro::after(std::chrono::hours(1)), [] {}),
                     goro::on_send(late, 1));
        wg.done();
      });
    }
    goro::go([&] {
      wg.wait();
      data.close();
    });
    long sum = 0;
    int nlate = 0;
    long received = 0;
    while (received < kSenders * kPerSender) {
      auto p = data.recv();
      if (!p) break;
      sum += (*p)->values[0] + (*p)->values[1];
      delete *p;
      ++received;
    }
    for (int s = 0; s < kSenders; ++s) nlate += late.recv().value_or(0);
    while (data.recv()) {
    }
    mu.lock();
    const long t = total;
    mu.unlock();
    std::printf("sum %ld total %ld late %d\n", sum, t, nlate);
    return 0;
  });
}
