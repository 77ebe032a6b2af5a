// src/io: the layer below src/net. Waiting for a descriptor's readiness from goroutines and plain
// threads: the blocking half of src/poll's descriptors (park through the waiting layer,
// deadlines on the runtime's timers, unblock-on-close), and goro::io::wait_readable /
// wait_writable (include/goro/io.hpp, io.cpp). goro::net builds on the functions below.
//
// The contract for a user of a registration (what goro::net must keep, as Go's internal/poll
// keeps it with its fdMutex):
//  - io_register() once per descriptor, io_deregister() once, before closing the descriptor
//    and only when no wait is in progress on it (nor starting: count references).
//  - At most one io_wait() per direction at a time (a second throws goro::panic_error).
//  - io_wait() after the non-blocking call returned EAGAIN: readiness is edge-triggered and
//    kept in the descriptor until a wait consumes it, so none is lost between the call and the
//    wait; a wait may also report a readiness that the next call finds already used up (retry).
//  - io_evict() from any goroutine or thread, any number of times: from then on every wait,
//    blocked or new, returns closed.
//  - io_set_deadline() from anywhere, at any time: it applies to the blocked wait too.
#pragma once

#include <cstdint>

#include "goro/source_location.hpp"
#include "poll/poll.hpp"

namespace goro::detail {

enum class io_result : std::uint8_t { ready, timeout, closed };

// Registers fd (non-blocking, the caller's) with the poller, starting the runtime if it is not
// running. Null with errno set if epoll refuses it (EPERM: a regular file, always ready).
poll_desc* io_register(int fd) noexcept;
// Stops the deadline timers and deletes the registration (see the contract above).
void io_deregister(poll_desc* pd) noexcept;
// Parks the caller (a goroutine: [IO wait] at `where`; a plain thread: on its futex) until
// mode's direction is ready, its deadline passes (timeout) or io_evict() (closed). An error
// that holds already is returned at once, before any readiness.
io_result io_wait(poll_desc* pd, poll_mode mode, const goro::source_location& where);
// Go's prepareRead/prepareWrite, before the non-blocking call: closed after io_evict(),
// timeout while mode's deadline has passed, else ready (no readiness is consumed).
io_result io_check(poll_desc* pd, poll_mode mode) noexcept;
// Sets mode's deadline: `when` in steady ns, 0 for none (kNever is none too). One in the past
// makes the waits of that direction return timeout at once, the blocked one too.
void io_set_deadline(poll_desc* pd, poll_mode mode, std::int64_t when);
// Close from another goroutine: wakes both directions' waiters, which return closed, as will
// every later wait.
void io_evict(poll_desc* pd) noexcept;

}  // namespace goro::detail
