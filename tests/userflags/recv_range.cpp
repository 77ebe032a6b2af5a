// tests/userflags/recv_range.cpp: receiving outside select as users write it, built with
// -Wall -Wextra -Werror at -O2 and -O3 (see CMakeLists.txt).
//
// Covered: recv() used through ->, * and .value() without a test; recv() passed straight to a
// function taking std::optional by value; range-for over a chan and a recv_chan of strings and
// vectors; try_recv into a string and a unique_ptr, until closed.
#include <cstddef>
#include <goro/goro.hpp>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "check.hpp"

using userflags::check;

namespace {

std::size_t length_of(std::optional<std::string> s) { return s->size(); }

std::size_t recv_forms() {
  auto ch = goro::make_chan<std::string>(4);
  ch.send("one");
  ch.send("three");
  ch.send("seventeen");
  ch.send("x");
  std::size_t n = 0;
  auto a = ch.recv();
  n += a->size();                 // 3
  n += (*ch.recv()).size();       // 5
  n += ch.recv().value().size();  // 9
  n += length_of(ch.recv());      // 1
  return n;
}

int range_vectors(goro::recv_chan<std::vector<int>> in) {
  int sum = 0;
  for (const std::vector<int>& v : in)
    for (int x : v) sum += x;
  return sum;
}

std::string range_strings() {
  auto ch = goro::make_chan<std::string>();
  goro::go([ch] {
    for (const char* w : {"range", "-", "for"}) ch.send(w);
    ch.close();
  });
  std::string all;
  for (const std::string& s : ch) all += s;
  return all;
}

int try_recvs() {
  auto strings = goro::make_chan<std::string>(2);
  strings.send("ab");
  strings.send("cde");
  strings.close();
  int n = 0;
  std::string s;
  while (strings.try_recv(s) == goro::status::ok) n += static_cast<int>(s.size());

  auto ptrs = goro::make_chan<std::unique_ptr<int>>(1);
  std::unique_ptr<int> p;
  if (ptrs.try_recv(p) == goro::status::not_ready) n += 100;
  ptrs.send(std::make_unique<int>(1000));
  if (ptrs.try_recv(p) == goro::status::ok) n += *p;
  return n;
}

}  // namespace

int main() {
  return goro::run([] {
    check(recv_forms() == 18, "recv_forms");
    auto vectors = goro::make_chan<std::vector<int>>(2);
    vectors.send({1, 2, 3});
    vectors.send({10, 20});
    vectors.close();
    check(range_vectors(vectors) == 36, "range_vectors");
    check(range_strings() == "range-for", "range_strings");
    check(try_recvs() == 5 + 100 + 1000, "try_recvs");
    return 0;
  });
}
