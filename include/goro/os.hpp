// goro/os.hpp: the process's signals as channel values (Go's os/signal). `goro::signal` already
// names Go's struct{}, hence the namespace goro::os.
//
//   auto sig = goro::make_chan<int>(1);
//   goro::os::notify(sig, {SIGINT, SIGTERM});
//   int s = *sig.recv();  // blocks until Ctrl-C or a kill
//
// Memory ordering: the send of a signal number happens before the receive that takes it, as
// for any channel; it happens after the signal reached the process. notify() and stop() are
// safe to call from any goroutine or thread, concurrently.
#pragma once

#include <initializer_list>

#include "goro/chan.hpp"

#pragma GCC visibility push(default)  // exported from libgoro.so: see CMakeLists.txt
namespace goro::os {

// Go's signal.Notify: from now on, each signal in `signals` that reaches the process is sent to
// ch without blocking, and dropped when ch's buffer is full, as in Go: make ch buffered (one
// slot is enough to catch a Ctrl-C). A signal that arrives again before the first one was sent
// is sent once (Go too). Calling notify again for the same channel adds signals to it; several
// channels may watch one signal, and each gets it. An empty list means every signal notify
// accepts. While a channel is registered, the signals it watches lose their default action
// (SIGINT no longer ends the process), and the deadlock detector reports nothing: a signal
// may still wake a goroutine (Go's detector is quiet then too).
// Throws std::invalid_argument, changing nothing, for a signal it cannot relay: not a signal
// number (<= 0, above SIGRTMAX, or glibc's own 32 and 33), SIGKILL or SIGSTOP (they cannot be
// caught), or one the kernel raises on a fault of the instruction just run (SIGSEGV, SIGBUS,
// SIGFPE, SIGILL, SIGTRAP, SIGSYS: a handler that returns would run the instruction again; the
// runtime reports a goroutine's stack overflow through SIGSEGV and SIGBUS). Throws
// goro::panic_error("os/signal: Notify using nil channel") for a nil channel, as Go panics.
// If a registered channel is closed, the next signal it watches ends the program with
// "panic: send on closed channel", as in Go: stop() it before closing it.
void notify(send_chan<int> ch, std::initializer_list<int> signals);

// Go's signal.Stop: ch gets no signal once stop returns. A signal that reached the process
// before the call is still sent to ch (or, once no channel watches it, given its default
// action): it is not lost in between. A signal that no channel watches any more gets back the
// disposition it had before the first notify for it (SIG_DFL, SIG_IGN or another handler; for
// SIGQUIT, the runtime's goroutine dump). Does nothing for a channel that is not registered,
// or nil.
void stop(send_chan<int> ch);

}  // namespace goro::os
#pragma GCC visibility pop
