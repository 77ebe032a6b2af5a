// max_procs_prog: prints goro::max_procs(), the worker count the runtime chose, and exits.
// tests/unit/cpus_test.cpp runs it under taskset and with GORO_MAXPROCS set or unset.
#include <cstdio>
#include <goro/goro.hpp>

int main() {
  std::printf("%u\n", goro::max_procs());
  return 0;
}
