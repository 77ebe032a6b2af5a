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

// A panic raised where nothing can be thrown (a destructor: a wait_group or mutex destroyed
// in use): prints "panic: <what>", a blank line, the dump with the calling goroutine (if the
// caller is one) first as [running], exits with status 2.
[[noreturn]] void fatal_panic(const char* what) noexcept;

// A fatal runtime error: prints `before` (a line of detail, or null), "fatal error: <what>", a
// blank line and the dump with the calling goroutine (if any) first, and exits with status 2.
// Allocates nothing (for "runtime: out of memory").
[[noreturn]] void fatal_error(const char* before, const char* what) noexcept;

// Installs the SIGSEGV/SIGBUS (stack overflow) and SIGQUIT (dump) handlers, once.
void install_signal_handlers() noexcept;
// Gives the calling runtime thread an alternate signal stack, so a stack overflow can be
// reported; teardown_signal_stack() frees it before the thread ends.
void setup_signal_stack() noexcept;
void teardown_signal_stack() noexcept;

// The state word dumps print for goroutine `id` ("running", "chan receive", "syscall", ...),
// or null if no live goroutine has that id (goro::debug::goroutine_status()).
const char* goroutine_status_text(unsigned long long id) noexcept;

// Writes every live goroutine to `out`, by id (goro::dump()).
void dump_to(std::FILE* out) noexcept;

// GORO_LEAKCHECK=1: after run() returns, lets the goroutines still running or runnable go on
// until none is left (or kLeakSettleMs pass), then lists the goroutines blocked, and
// separately those still running. Returns how many it listed. The scheduler passes its own
// query, whether at one instant no goroutine runs on a worker or waits in a run queue (this
// layer sits below the scheduler and reads goroutine records only).
inline constexpr int kLeakSettleMs = 1000;
int leak_report(bool (*no_goroutine_runnable)() noexcept) noexcept;

}  // namespace goro::detail
