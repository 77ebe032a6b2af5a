// src/diag: layer 4. Goroutine dumps, the fatal reports (deadlock, panic, stack overflow,
// SIGQUIT) and the leak report, in Go's words. It reads goroutine records only (src/goroutine);
// the layers above call it through this header (the deadlock detector, which reads scheduler
// state, is the scheduler's: src/sched/deadlock.cpp). Everything that ends the program writes
// with write(2) from a fixed buffer, so it also works inside a signal handler.
#pragma once

#include <cstdio>

namespace goro::detail {

struct goroutine;

// Prints "fatal error: all goroutines are asleep - deadlock!", a blank line, every goroutine,
// and exits with status 2.
[[noreturn]] void fatal_deadlock() noexcept;

// Called inside a catch block for an exception that escaped goroutine g: prints
// "panic: <what()>", a blank line, the dump with g first as [running], exits with status 2.
[[noreturn]] void fatal_panic_current_exception(goroutine* g) noexcept;

// Installs the SIGSEGV/SIGBUS (stack overflow) and SIGQUIT (dump) handlers, once.
void install_signal_handlers() noexcept;
// Gives the calling worker thread an alternate signal stack, so a stack overflow can be reported.
void setup_signal_stack() noexcept;

// Writes every live goroutine to `out`, by id (goro::dump()).
void dump_to(std::FILE* out) noexcept;

// GORO_LEAKCHECK=1: after run() returns, lists goroutines still blocked. Returns how many.
int leak_report() noexcept;

}  // namespace goro::detail
