// src/poll: layer 5, below the scheduler. The operating system's readiness poller (epoll) and
// the poll descriptors registered with it (Go's runtime/netpoll.go + netpoll_epoll.go). It knows
// nothing of workers or run queues: a wait is a parker (goro/detail/core.hpp) in a descriptor's
// read or write slot, and netpoll() hands the parkers whose descriptors became ready back to its
// caller, the scheduler (src/sched/find.cpp, monitor.cpp), which wakes them. The blocking half of
// a wait (park, deadlines, close) is src/io's, above the scheduler.
//
// A poll descriptor (poll_desc) is one registration of one file descriptor: epoll_ctl(ADD) once,
// edge-triggered (EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET), until pd_close() deletes it. Records are
// never freed (an event may be delivered after its descriptor was closed): pd_close() puts the
// record on a free list and pd_open() reuses it. Every registration gets a new sequence number,
// and the epoll data of each event carries (seq << 32 | index): netpoll() drops an event whose
// sequence is not the record's current one, so a stale event never wakes the waiter of a later
// registration that reuses the record or the descriptor number (Go's fdseq).
//
// Each direction has a slot (Go's rg/wg semaphores), an atomic word holding
//   kSlotNone   nothing: no readiness seen since the last wait consumed it, nobody waits
//   kSlotReady  readiness arrived and nobody consumed it yet
//   kSlotWait   a waiter claimed the slot and is about to park (pd_prepare_wait)
//   a parker*   that waiter, parked (pd_commit ran after its context was saved)
// Transitions: readiness (netpoll) None/Wait -> Ready and parker -> Ready (wake it); a wait
// Ready -> None (consume, no park) or None -> Wait -> parker (park); close and deadlines
// Wait/parker -> None (wake it, it sees the error). The commit is a CAS Wait -> parker: if
// readiness or an unblock came in between, the CAS fails and the waiter wakes itself at once,
// so no readiness racing a park is ever lost (Go's netpollblockcommit).
#pragma once

#include <atomic>
#include <cstdint>

#include "goro/detail/core.hpp"
#include "goro/detail/spinlock.hpp"
#include "goro/detail/thread_annotations.hpp"
#include "timer/timers.hpp"

namespace goro::detail {

enum class poll_mode : std::uint8_t { read, write };

inline constexpr std::uintptr_t kSlotNone = 0;
inline constexpr std::uintptr_t kSlotReady = 1;
inline constexpr std::uintptr_t kSlotWait = 2;

struct poll_desc;

// A deadline timer of one direction of a descriptor (src/io arms and fires it).
struct pd_timer : rtimer {
  poll_desc* pd = nullptr;  // fixed when the record is made
  poll_mode mode = poll_mode::read;
};

struct poll_desc {
  // Guards the registration (fd, seq's changes), the deadlines, and netpoll()'s delivery of an
  // event (which checks seq under it, so an event never lands on a newer registration).
  spinlock lock;
  int fd GORO_GUARDED_BY(lock) = -1;
  // The current registration's number: written under lock; read under lock by netpoll().
  std::atomic<std::uint32_t> seq{0};
  std::uint32_t index = 0;  // fixed: this record's place in the table (the epoll data's low half)
  // The two slots (see the top of this file). seq_cst on every access: a waiter's claim (Wait)
  // and its re-check of `closing` and `expired` form Dekker's pattern with the closer's and the
  // deadline's store of those flags followed by their look at the slot.
  std::atomic<std::uintptr_t> rg{kSlotNone};
  std::atomic<std::uintptr_t> wg{kSlotNone};
  // Written under lock (src/io), read by waiters without it (seq_cst, see the slots).
  std::atomic<bool> closing{false};   // io_evict(): every wait returns "closed"
  std::atomic<bool> rexpired{false};  // the read deadline passed: read waits return "timeout"
  std::atomic<bool> wexpired{false};
  // An event of this registration said EPOLLRDHUP, EPOLLHUP or EPOLLERR: the peer shut its side
  // (or the socket failed), so a read will not block again (end of stream or the error), and
  // no later edge need come. Set by netpoll() under lock before it makes the read slot ready
  // (seq_cst, so whoever consumes that readiness sees it); reset by pd_open().
  std::atomic<bool> hup{false};
  // Deadlines (steady ns): 0 none, -1 passed, else when; under lock (src/io).
  std::int64_t rd GORO_GUARDED_BY(lock) = 0;
  std::int64_t wd GORO_GUARDED_BY(lock) = 0;
  pd_timer rt;  // in a heap only while rd > 0; timer_add/del under lock
  pd_timer wt;
  poll_desc* next_free = nullptr;  // the free list's link (its lock)

  std::atomic<std::uintptr_t>& slot(poll_mode m) noexcept { return m == poll_mode::read ? rg : wg; }
  std::atomic<bool>& expired(poll_mode m) noexcept {
    return m == poll_mode::read ? rexpired : wexpired;
  }
};

// ---- Registration ----------------------------------------------------------------------------

// Registers fd (non-blocking, owned by the caller) with the poller, creating the poller on first
// use. Returns null with errno set when epoll refuses it (EPERM for a regular file, which is
// always ready; EBADF; ENOMEM). The record starts with no readiness, no deadline, not closing;
// if fd is ready already, the first netpoll() reports it (epoll queues an event on ADD).
poll_desc* pd_open(int fd) noexcept;
// Deletes the registration (epoll_ctl DEL: call it before closing fd) and frees the record for
// reuse; stale events for it are dropped from now on. No waiter may be in it (src/io's callers
// make sure), and its deadline timers must be stopped (src/io's io_deregister() does).
void pd_close(poll_desc* pd) noexcept;

// ---- The slot protocol (src/io's waits) -----------------------------------------------------

enum class pd_prep : std::uint8_t { ready, park, closed, timeout };
// Before parking on mode's slot: consumes a readiness (ready), reports an error (closing:
// closed; the deadline passed: timeout; a readiness then stays for the next wait), or claims
// the slot (park: the caller must park with pd_commit as its unlock step and call
// pd_finish_wait after it wakes). At most one waiter per direction: a second one throws
// goro::panic_error.
pd_prep pd_prepare_wait(poll_desc* pd, poll_mode mode);
// The park's commit, after the waiter's context is saved: Wait -> p. False when readiness or an
// unblock came in between: the caller (park's unlock step) must then unpark p itself.
bool pd_commit(poll_desc* pd, poll_mode mode, parker* p) noexcept;
// After the wake: empties the slot; true if the waiter was woken by readiness (consumed).
bool pd_finish_wait(poll_desc* pd, poll_mode mode) noexcept;
// Close and deadlines: empties the slot if a waiter is in it and returns that waiter's parker
// (to be unparked by the caller, after any lock), or null (nobody parked, or not committed yet:
// its commit then fails and it wakes itself). A readiness in the slot stays.
parker* pd_unblock(poll_desc* pd, poll_mode mode) noexcept;

// ---- The poller (the scheduler's) ------------------------------------------------------------

// Waits in epoll_wait until `until` (steady ns; 0: do not block; kNever: no limit), an event, or
// netpoll_break(); delivers each event to its descriptor's slots and stores in out[] the
// parkers to wake (at most `max`, which must be >= kPollBatch * 2). Returns how many. Never
// blocks if the poller does not exist yet. Several threads may call it at once. Only a call
// that may block (until != 0) consumes a netpoll_break(): a non-blocking one leaves it for the
// thread blocked in epoll_wait, or for the next one to block.
inline constexpr int kPollBatch = 128;
int netpoll(std::int64_t until, parker** out, int max) noexcept;
// Makes a blocked (or the next) netpoll() return early: one eventfd write, skipped while one is
// pending already.
void netpoll_break() noexcept;
// Waits in progress, goroutines' and threads' (from pd_prepare_wait's park to
// pd_finish_wait). seq_cst: the scheduler polls, and the deadlock detector stays quiet, while
// it is non-zero.
int netpoll_waiters() noexcept;
// netpoll() calls so far (relaxed; for the monitor, which polls when it has not changed for a
// while).
std::uint64_t netpoll_count() noexcept;

}  // namespace goro::detail
