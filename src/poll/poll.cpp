// The poller: one epoll instance for the process, an eventfd that breaks a blocked epoll_wait,
// and the table of poll descriptors (see poll.hpp for the slot states).
//
// Invariants:
//  - A record is in the table for ever (never freed) and, at any moment, either registered (fd
//    >= 0, in epoll under the data (seq << 32 | index)) or on the free list (fd == -1).
//  - seq changes only under the record's lock, on open and on close; netpoll() delivers an
//    event only under that lock and only if the event's seq is the record's, so an event that
//    epoll returned for a closed registration is dropped, even when the record or the
//    descriptor number is registered again before netpoll() looks at it.
//  - A slot is changed only by CAS or exchange (every access seq_cst): readiness never
//    overwrites a parker without taking it, and a parker is never stored over anything but
//    kSlotWait.
//  - waiters counts the waits between pd_prepare_wait()'s claim and pd_finish_wait().
#include "poll/poll.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <new>

#include "base/check.hpp"
#include "base/clock.hpp"

namespace goro::detail {

namespace {

constexpr std::uint32_t kChunk = 256;                    // records per chunk
constexpr std::uint32_t kMaxChunks = 8192;               // 2M registrations at once
constexpr std::uint64_t kBreakData = ~std::uint64_t{0};  // the eventfd's epoll data

struct poller {
  int epfd = -1;  // written once, under init_once; read after it
  int evfd = -1;
  std::once_flag init_once;
  bool ok = false;  // created (written once under init_once)
  // 1 while an eventfd write is pending (netpoll_break() wrote, no netpoll() drained it yet).
  std::atomic<std::uint32_t> break_pending{0};
  std::atomic<int> waiters{0};
  std::atomic<std::uint64_t> polls{0};
  // The table: chunks are made on demand and never freed.
  spinlock table_lock;
  poll_desc* chunks[kMaxChunks] = {};  // written under table_lock; read by netpoll (see lookup)
  std::atomic<std::uint32_t> nchunks{0};
  poll_desc* free_head GORO_GUARDED_BY(table_lock) = nullptr;
};

poller& P() {
  static poller* p = new poller;  // never destroyed: workers outlive exit()
  return *p;
}

void create(poller& p) {
  p.epfd = epoll_create1(EPOLL_CLOEXEC);
  if (p.epfd < 0) return;
  p.evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (p.evfd < 0) return;
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: it stays reported until netpoll() drains it
  ev.data.u64 = kBreakData;
  if (epoll_ctl(p.epfd, EPOLL_CTL_ADD, p.evfd, &ev) != 0) return;
  p.ok = true;
}

// Whether the poller exists: acquire, pairs with the release in ensure_poller().
constinit std::atomic<bool> poller_ready{false};

bool ensure_poller() noexcept {
  if (poller_ready.load(std::memory_order_acquire)) return true;
  poller& p = P();
  std::call_once(p.init_once, [&] { create(p); });
  if (!p.ok) return false;
  // release: pairs with the acquire loads of poller_ready; epfd and evfd are visible.
  poller_ready.store(true, std::memory_order_release);
  return true;
}

// A new record from the free list or a new chunk; null if out of memory or room.
poll_desc* take_record() noexcept {
  poller& p = P();
  p.table_lock.lock();
  if (!p.free_head) {
    const std::uint32_t n = p.nchunks.load(std::memory_order_relaxed);
    poll_desc* chunk = n < kMaxChunks ? new (std::nothrow) poll_desc[kChunk] : nullptr;
    if (!chunk) {
      p.table_lock.unlock();
      return nullptr;
    }
    for (std::uint32_t i = 0; i < kChunk; i++) {
      poll_desc* pd = &chunk[i];
      pd->index = n * kChunk + i;
      pd->rt.pd = pd;
      pd->rt.mode = poll_mode::read;
      pd->wt.pd = pd;
      pd->wt.mode = poll_mode::write;
      pd->next_free = i + 1 < kChunk ? &chunk[i + 1] : p.free_head;
    }
    p.chunks[n] = chunk;
    // release: pairs with lookup()'s acquire; the chunk's records are complete.
    p.nchunks.store(n + 1, std::memory_order_release);
    p.free_head = chunk;
  }
  poll_desc* pd = p.free_head;
  p.free_head = pd->next_free;
  p.table_lock.unlock();
  return pd;
}

void put_record(poll_desc* pd) noexcept {
  poller& p = P();
  p.table_lock.lock();
  pd->next_free = p.free_head;
  p.free_head = pd;
  p.table_lock.unlock();
}

// The record an event names, or null if the index is not in the table (never, for our data).
poll_desc* lookup(std::uint32_t index) noexcept {
  poller& p = P();
  // acquire: pairs with the release in take_record().
  if (index / kChunk >= p.nchunks.load(std::memory_order_acquire)) return nullptr;
  return &p.chunks[index / kChunk][index % kChunk];
}

// Readiness for one slot: None/Wait -> Ready, parker -> Ready (returned, to be woken).
parker* make_ready(std::atomic<std::uintptr_t>& slot) noexcept {
  std::uintptr_t old = slot.load(std::memory_order_seq_cst);
  for (;;) {
    if (old == kSlotReady) return nullptr;
    if (slot.compare_exchange_weak(old, kSlotReady, std::memory_order_seq_cst)) break;
  }
  // NOLINTNEXTLINE(performance-no-int-to-ptr): the slot is a state or a waiter, as Go's pd.rg.
  return old == kSlotNone || old == kSlotWait ? nullptr : reinterpret_cast<parker*>(old);
}

}  // namespace

poll_desc* pd_open(int fd) noexcept {
  if (!ensure_poller()) return nullptr;
  poll_desc* pd = take_record();
  if (!pd) {
    errno = ENOMEM;
    return nullptr;
  }
  pd->lock.lock();
  const std::uint32_t seq = pd->seq.load(std::memory_order_relaxed) + 1;
  pd->seq.store(seq, std::memory_order_relaxed);
  pd->fd = fd;
  pd->rg.store(kSlotNone, std::memory_order_seq_cst);
  pd->wg.store(kSlotNone, std::memory_order_seq_cst);
  pd->closing.store(false, std::memory_order_seq_cst);
  pd->rexpired.store(false, std::memory_order_seq_cst);
  pd->wexpired.store(false, std::memory_order_seq_cst);
  pd->hup.store(false, std::memory_order_seq_cst);
  pd->rd = 0;
  pd->wd = 0;
  pd->lock.unlock();
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = (std::uint64_t{seq} << 32) | pd->index;
  if (epoll_ctl(P().epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    const int err = errno;
    pd->lock.lock();
    pd->seq.store(seq + 1, std::memory_order_relaxed);
    pd->fd = -1;
    pd->lock.unlock();
    put_record(pd);
    errno = err;
    return nullptr;
  }
  return pd;
}

void pd_close(poll_desc* pd) noexcept {
  pd->lock.lock();
  const int fd = pd->fd;
  GORO_DCHECK(fd >= 0);
  GORO_DCHECK(pd->rt.heap.load(std::memory_order_relaxed) < 0 &&
              pd->wt.heap.load(std::memory_order_relaxed) < 0);
  // From here on netpoll() drops this registration's events.
  pd->seq.store(pd->seq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  pd->fd = -1;
  pd->lock.unlock();
  // ENOENT or EBADF if the descriptor was closed already (epoll forgot it then): nothing to do.
  epoll_ctl(P().epfd, EPOLL_CTL_DEL, fd, nullptr);
  put_record(pd);
}

pd_prep pd_prepare_wait(poll_desc* pd, poll_mode mode) {
  std::atomic<std::uintptr_t>& slot = pd->slot(mode);
  if (pd->closing.load(std::memory_order_seq_cst)) return pd_prep::closed;
  if (pd->expired(mode).load(std::memory_order_seq_cst)) return pd_prep::timeout;
  std::uintptr_t old = slot.load(std::memory_order_seq_cst);
  for (;;) {
    if (old == kSlotReady) {
      if (slot.compare_exchange_weak(old, kSlotNone, std::memory_order_seq_cst))
        return pd_prep::ready;
      continue;
    }
    if (old != kSlotNone) throw_panic("goro: two waits on one descriptor in the same direction");
    if (slot.compare_exchange_weak(old, kSlotWait, std::memory_order_seq_cst)) break;
  }
  // Claimed. A closer or a deadline that stored its flag before our claim sees Wait when it
  // looks at the slot, or we see its flag here (seq_cst on both sides).
  pd_prep err = pd->closing.load(std::memory_order_seq_cst)         ? pd_prep::closed
                : pd->expired(mode).load(std::memory_order_seq_cst) ? pd_prep::timeout
                                                                    : pd_prep::park;
  if (err != pd_prep::park) {
    // Give the claim back; if readiness replaced it meanwhile, it stays for the next wait.
    std::uintptr_t wait = kSlotWait;
    slot.compare_exchange_strong(wait, kSlotNone, std::memory_order_seq_cst);
    return err;
  }
  P().waiters.fetch_add(1, std::memory_order_seq_cst);
  return pd_prep::park;
}

bool pd_commit(poll_desc* pd, poll_mode mode, parker* p) noexcept {
  std::uintptr_t wait = kSlotWait;
  return pd->slot(mode).compare_exchange_strong(wait, reinterpret_cast<std::uintptr_t>(p),
                                                std::memory_order_seq_cst);
}

bool pd_finish_wait(poll_desc* pd, poll_mode mode) noexcept {
  P().waiters.fetch_sub(1, std::memory_order_seq_cst);
  // Whoever woke us replaced our parker (or our claim, if the commit failed) with Ready
  // (readiness) or None (an unblock): Ready is ours to consume.
  return pd->slot(mode).exchange(kSlotNone, std::memory_order_seq_cst) == kSlotReady;
}

parker* pd_unblock(poll_desc* pd, poll_mode mode) noexcept {
  std::atomic<std::uintptr_t>& slot = pd->slot(mode);
  std::uintptr_t old = slot.load(std::memory_order_seq_cst);
  for (;;) {
    if (old == kSlotNone || old == kSlotReady) return nullptr;
    if (slot.compare_exchange_weak(old, kSlotNone, std::memory_order_seq_cst)) break;
  }
  // NOLINTNEXTLINE(performance-no-int-to-ptr): as in make_ready().
  return old == kSlotWait ? nullptr : reinterpret_cast<parker*>(old);
}

int netpoll(std::int64_t until, parker** out, int max) noexcept {
  GORO_DCHECK(max >= 2 * kPollBatch);
  if (!poller_ready.load(std::memory_order_acquire)) return 0;
  poller& p = P();
  p.polls.fetch_add(1, std::memory_order_relaxed);
  epoll_event evs[kPollBatch];
  int n;
  if (until == 0) {
    n = epoll_wait(p.epfd, evs, kPollBatch, 0);
  } else if (until == kNever) {
    n = epoll_wait(p.epfd, evs, kPollBatch, -1);
  } else {
    std::int64_t left = until - now_ns();
    if (left < 0) left = 0;
    timespec ts{static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
    n = epoll_pwait2(p.epfd, evs, kPollBatch, &ts, nullptr);
    if (n < 0 && errno == ENOSYS) {
      // Before Linux 5.11: milliseconds, rounded up so that the timer is due on return.
      n = epoll_wait(p.epfd, evs, kPollBatch, static_cast<int>((left + 999'999) / 1'000'000));
    }
  }
  if (n <= 0) return 0;  // timeout, or EINTR (a signal): the caller looks again anyway
  int k = 0;
  for (int i = 0; i < n; i++) {
    const std::uint64_t data = evs[i].data.u64;
    if (data == kBreakData) {
      // Only a poll that could have blocked consumes a break (Go's netpoll does the same): a
      // non-blocking one, called while nobody seemed to block, may run beside a worker that has
      // just begun to, and the break meant for that worker must stay reported (the eventfd is
      // level-triggered) until that worker's epoll_wait returns with it.
      if (until == 0) continue;
      std::uint64_t v;
      [[maybe_unused]] ssize_t r = read(p.evfd, &v, sizeof v);
      // After the drain: a break requested from now on writes again.
      p.break_pending.store(0, std::memory_order_seq_cst);
      continue;
    }
    const std::uint32_t ev = evs[i].events;
    const bool r = ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR);
    const bool w = ev & (EPOLLOUT | EPOLLHUP | EPOLLERR);
    poll_desc* pd = lookup(static_cast<std::uint32_t>(data));
    if (!pd || (!r && !w)) continue;
    pd->lock.lock();
    if (pd->seq.load(std::memory_order_relaxed) == static_cast<std::uint32_t>(data >> 32)) {
      if (r) {
        if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) pd->hup.store(true, std::memory_order_seq_cst);
        if (parker* q = make_ready(pd->rg)) out[k++] = q;
      }
      if (w) {
        if (parker* q = make_ready(pd->wg)) out[k++] = q;
      }
    }
    pd->lock.unlock();
  }
  return k;
}

void netpoll_break() noexcept {
  if (!poller_ready.load(std::memory_order_acquire)) return;
  poller& p = P();
  if (p.break_pending.exchange(1, std::memory_order_seq_cst) != 0) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t r = write(p.evfd, &one, sizeof one);
}

int netpoll_waiters() noexcept { return P().waiters.load(std::memory_order_seq_cst); }

std::uint64_t netpoll_count() noexcept { return P().polls.load(std::memory_order_relaxed); }

}  // namespace goro::detail
