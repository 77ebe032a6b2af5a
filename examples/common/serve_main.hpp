// The main() of the goro::net examples: with no argument, the program's self-test (what ctest
// runs); with `--serve HOST:PORT`, a listener on that address handed to `serve`, which never
// returns. A goro::net::error (a taken port, a bad address) is printed as "NAME: what()" with
// exit status 1; a wrong command line prints the usage with status 2.
#pragma once

#include <cstdio>
#include <goro/goro.hpp>
#include <string_view>

#include "common/print.hpp"

namespace examples {

template <class SelfTest, class Serve>
int serve_main(int argc, char** argv, const char* name, SelfTest self_test, Serve serve) {
  const bool serve_only = argc == 3 && std::string_view(argv[1]) == "--serve";
  if (argc != 1 && !serve_only) {
    std::fprintf(stderr, "usage: %s [--serve HOST:PORT]\n", argv[0]);
    return 2;
  }
  return goro::run([&]() -> int {
    try {
      if (!serve_only) return self_test();
      goro::net::listener ln = goro::net::listen("tcp", argv[2]);
      serve(ln);  // never returns: nothing closes ln
      return 0;
    } catch (const goro::net::error& e) {
      std::fprintf(stderr, "%s: %s\n", name, e.what());
      return 1;
    }
  });
}

}  // namespace examples
