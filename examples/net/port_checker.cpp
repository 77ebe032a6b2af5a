// A concurrent port checker: one goroutine per address tries goro::net::dial_timeout (Go's
// net.DialTimeout) and sends its verdict on a channel; main puts the verdicts back in the order
// the addresses were given. The time the whole check takes is about that of the slowest address,
// not the sum. Go's version:
//
//   results := make(chan result)
//   for i, addr := range addrs {
//       go func() {
//           c, err := net.DialTimeout("tcp", addr, 2*time.Second)
//           if err == nil { c.Close() }
//           results <- result{i, err}
//       }()
//   }
//   for range addrs { r := <-results; verdicts[r.i] = describe(r.err) }
//
// A verdict is "open" (it connected), "closed (connect: connection refused)" (nothing listens
// there), "filtered (...)" (no answer before the timeout: a firewall that drops, or no such
// machine), or "error: " and the error's text (a malformed address, a name that does not
// resolve).
//
//   port_checker                  self-test on 127.0.0.1: a port with a listener, a port without
//                                 one, and an address without a port
//   port_checker HOST:PORT...     checks those; exits 1 unless every one is open
#include <chrono>
#include <cstddef>
#include <goro/goro.hpp>
#include <string>
#include <system_error>
#include <vector>

#include "common/print.hpp"

namespace net = goro::net;
using namespace std::chrono_literals;

// What follows "ADDR: " in the error's text: "connect: connection refused", not the address.
std::string reason(const net::error& e) {
  const std::string what = e.what();
  const std::string::size_type at = what.find(e.addr() + ": ");
  return at == std::string::npos ? what : what.substr(at + e.addr().size() + 2);
}

std::string check(const std::string& address) {
  try {
    net::conn c = net::dial_timeout("tcp", address, 2s);
    return "open";  // c's destructor hangs up at once
  } catch (const net::error& e) {
    if (e.timeout()) return "filtered (" + reason(e) + ")";
    if (e.code() == std::errc::connection_refused) return "closed (" + reason(e) + ")";
    return std::string("error: ") + e.what();
  }
}

// Checks every address at once; the verdicts come back in the order of `addresses`.
std::vector<std::string> check_all(const std::vector<std::string>& addresses) {
  struct result {
    std::size_t index;
    std::string verdict;
  };
  auto results = goro::make_chan<result>(addresses.size());  // nobody waits to send
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    goro::go([i, address = addresses[i], results] { results.send({i, check(address)}); });
  }
  std::vector<std::string> verdicts(addresses.size());
  for (std::size_t k = 0; k < addresses.size(); ++k) {
    result r = *results.recv();
    verdicts[r.index] = std::move(r.verdict);
  }
  return verdicts;
}

int self_test() {
  // An open port: a listener that never accepts (the kernel completes the handshake anyway).
  net::listener open = net::listen("tcp", "127.0.0.1:0");
  // A closed port: one the kernel just gave out, listened on and closed again, so that nothing
  // listens there now.
  std::string freed;
  {
    net::listener l = net::listen("tcp", "127.0.0.1:0");
    freed = l.addr();
  }
  // The port numbers change from run to run, so the labels stand in for them.
  const std::vector<std::string> labels = {"127.0.0.1:<listening>", "127.0.0.1:<freed>",
                                           "127.0.0.1"};
  const std::vector<std::string> verdicts = check_all({open.addr(), freed, "127.0.0.1"});
  for (std::size_t i = 0; i < labels.size(); ++i) examples::println(labels[i], verdicts[i]);
  return 0;
}

int main(int argc, char** argv) {
  const std::vector<std::string> addresses(argv + 1, argv + argc);
  return goro::run([&] {
    if (addresses.empty()) return self_test();
    const std::vector<std::string> verdicts = check_all(addresses);
    int status = 0;
    for (std::size_t i = 0; i < addresses.size(); ++i) {
      examples::println(addresses[i], verdicts[i]);
      if (verdicts[i] != "open") status = 1;
    }
    return status;
  });
}
