// Timeouts: select between a reply and goro::after(d), Go's time.After. Whichever is ready
// first wins. Both outcomes are forced, so the output never depends on how fast the machine
// is: the first reply cannot come before its deadline, the second comes long before its own.
#include <chrono>
#include <goro/goro.hpp>
#include <optional>
#include <string>

#include "common/print.hpp"

using namespace std::chrono_literals;

void print_reply(std::optional<std::string> reply) { examples::println(reply.value()); }

int main() {
  return goro::run([] {
    // 1. The worker replies only once released, and main releases it after the select: the
    // deadline must win. The reply channel is buffered so that the worker's late send does not
    // block it forever once nobody is listening.
    auto release = goro::make_chan<goro::signal>();
    auto reply1 = goro::make_chan<std::string>(1);
    goro::go([release, reply1] {
      release.recv();
      reply1.send("result 1");
    });
    goro::select(goro::on_recv(reply1, print_reply),
                 goro::on_recv(goro::after(20ms), [] { examples::println("timeout 1"); }));
    release.close();

    // 2. The worker replies at once; the deadline is a minute away.
    auto reply2 = goro::make_chan<std::string>(1);
    goro::go([reply2] { reply2.send("result 2"); });
    goro::select(goro::on_recv(reply2, print_reply),
                 goro::on_recv(goro::after(1min), [] { examples::println("timeout 2"); }));
  });
}
