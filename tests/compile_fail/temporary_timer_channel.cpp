// Compile-failure test: the channel of a temporary ticker or timer cannot be taken, since the
// temporary stops at the end of the statement and its channel would never deliver.
// check.cmake compiles this file once as it is (it must compile: the control) and once with
// GORO_COMPILE_FAIL_CASE set to each case number (each must fail, naming the deleted c()).
#include <chrono>
#include <goro/goro.hpp>

using namespace std::chrono_literals;

int main() {
  goro::ticker held(1h);
  goro::recv_chan<goro::time_point> ok = held.c();  // a named ticker: fine
  goro::timer named(1h);
  ok = named.c();
#if GORO_COMPILE_FAIL_CASE == 1
  auto c = goro::ticker(200ms).c();
#elif GORO_COMPILE_FAIL_CASE == 2
  auto c = goro::timer(200ms).c();
#elif GORO_COMPILE_FAIL_CASE == 3
  auto c = std::move(held).c();
#else
  auto c = goro::after(200ms);  // the one-expression form that works
#endif
  static_cast<void>(c);
  return 0;
}
