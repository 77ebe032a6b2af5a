// Shared helpers for the Go channel conformance ports in tests/conformance.
//
// Every test that starts goroutines runs its body through run_checked(), which runs it as
// goro's main goroutine and then checks that no goroutine and no goroutine stack outlived it.
// Tests that must prove an operation blocks *forever* do so with a death test: the operation
// runs in a child process where nothing else can wake it, and the runtime's deadlock detector
// must end that child with Go's report and exit status 2 (an oracle with no timing in it).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <goro/goro.hpp>
#include <string>
#include <thread>
#include <utility>

#include "test_util.hpp"

namespace conformance {

using goro_test::sanitized;

// Loop counts: `n` in plain builds, n / divisor (at least 1) under a sanitizer, which slows
// context switches and atomics down by an order of magnitude.
constexpr int scaled(int n, int divisor = 10) {
  if (!sanitized) return n;
  return n / divisor > 0 ? n / divisor : 1;
}

// Checks that every goroutine has finished and released its stack. A goroutine that has
// returned from its function may still be unwinding on its worker thread when run() returns,
// so this polls; the bound only turns a real leak into a failure instead of a hang.
inline void expect_no_leaks() { goro_test::expect_nothing_leaked(); }

// Runs `body` as goro's main goroutine, then checks that nothing leaked.
template <class F>
void run_checked(F&& body) {
  goro::run(std::forward<F>(body));
  expect_no_leaks();
}

using goro_test::panic_text;

// The first line of Go's deadlock report, as a POSIX extended regex anchored at the start of
// the child's stderr. Without REG_NEWLINE, '.' also matches '\n', so `deadlock_then(reason)`
// requires that some goroutine in the dump is parked for `reason` (Go's wording).
inline constexpr const char* deadlock_first_line =
    "^fatal error: all goroutines are asleep - deadlock!\n";

inline std::string deadlock_then(const std::string& escaped_reason) {
  return std::string(deadlock_first_line) + "\n.*goroutine [0-9]+ \\[" + escaped_reason + "\\]:";
}

// Death tests re-execute the test binary instead of forking: the parent has runtime worker
// threads, which a fork would not copy.
inline void use_threadsafe_death_tests() { GTEST_FLAG_SET(death_test_style, "threadsafe"); }

}  // namespace conformance

// Expects that `body`, run as goro's main goroutine in a child process, never finishes because
// every goroutine blocks for good: the runtime must print Go's deadlock report naming a
// goroutine parked for `reason` and exit with status 2.
#define GORO_EXPECT_DEADLOCK(body, reason)                       \
  do {                                                           \
    ::conformance::use_threadsafe_death_tests();                 \
    EXPECT_EXIT(::goro::run(body), ::testing::ExitedWithCode(2), \
                ::conformance::deadlock_then(reason));           \
  } while (0)
