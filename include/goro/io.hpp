// goro/io.hpp: waiting for a descriptor the caller owns to become ready (a pipe, an eventfd, a
// database client's socket), without blocking the goroutine's processor.
//
//   fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
//   for (;;) {
//     ssize_t n = read(fd, buf, sizeof buf);
//     if (n >= 0) break;
//     if (errno != EAGAIN) throw ...;
//     if (!goro::io::wait_readable(fd, deadline)) throw timeout;
//   }
//
// Memory ordering: none beyond the kernel's. What a writer did before its write(2) is visible
// after the read(2) that returns its data, as for any two threads.
#pragma once

#include <chrono>

#include "goro/source_location.hpp"
#include "goro/time.hpp"

#pragma GCC visibility push(default)  // exported from libgoro.so: see CMakeLists.txt
namespace goro::io {

// Parks the calling goroutine until fd is readable (data, end of file, a hang-up or an error
// pending: the next read(2) will not block), or until `deadline`; returns false when the
// deadline passed first (at once for one already past). The goroutine's processor runs other
// goroutines meanwhile; dumps show it as [IO wait] at the caller's line, and the deadlock
// detector reports nothing while it waits (the kernel can wake it).
// For a non-blocking descriptor (O_NONBLOCK): it reports readiness that may be used up by
// someone else before the caller reads, so read until EAGAIN and wait again. A regular file is
// always ready (returns true at once, as poll(2)).
// From a plain thread, or inside goro::blocking(), it blocks the thread in poll(2).
// The wait holds its own duplicate of the descriptor while it lasts (one more descriptor per
// wait), and registers it with the runtime's poller only for the wait: closing fd afterwards and
// reusing its number is always safe. If another goroutine or thread closes fd while the wait is
// in progress, the wait is not woken: the file stays open through the duplicate until the wait
// ends, which is when the file becomes ready or at the deadline (a socket closed so is shut
// down only then). Close descriptors only after their waits have ended.
// Throws std::invalid_argument for a negative fd, std::system_error (EBADF) for one that is not
// open, std::system_error (EMFILE) when the duplicate cannot be had.
bool wait_readable(int fd, time_point deadline = time_point::max(),
                   goro::source_location where = goro::source_location::current());

// The same for writability (room in the buffer, a hang-up or an error pending).
bool wait_writable(int fd, time_point deadline = time_point::max(),
                   goro::source_location where = goro::source_location::current());

}  // namespace goro::io
#pragma GCC visibility pop
