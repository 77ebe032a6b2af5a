// Goroutine records: the registry, free lists, ids and closures (see goroutine.hpp).
//
// Invariants:
//  - Records are never freed: allg_segs[i >> kSegBits][i & (kSegSize - 1)] is the i-th record
//    ever made, for every i < allg_count, so dump() may walk them lock-free at any time.
//  - A dead record is in exactly one free list: a thread's record_cache (chained through
//    next) or one batch of the shared list (its header in the first record's inline_buf,
//    unused while the record is dead).
//  - allg_lock guards the slab and the registry's writes; gfree_lock the shared list.
//
// Debuggers find the registry through the global goro_gdb_registry (tools/goro-gdb.py reads
// every record from it, with the types from the debug information): set once, when the
// registry is made, and never read by the runtime.
#include <algorithm>
#include <cstddef>
#include <new>

#include "goro/detail/spinlock.hpp"
#include "goro/detail/thread_annotations.hpp"
#include "goroutine/goroutine.hpp"

namespace goro::detail {

namespace {

// Every goroutine record ever made, in segments that never move (dump() reads it lock-free).
constexpr std::size_t kSegBits = 12, kSegSize = std::size_t{1} << kSegBits, kMaxSegs = 4096;
constexpr std::size_t kSlab = 64;
// Dead records move between a thread's cache and the shared list this many at a time.
constexpr unsigned kRecordBatch = 64;

// A chain of dead goroutine records (through goroutine::next) in the shared free list.
struct record_batch {
  goroutine* first;
  unsigned n;
  record_batch* next;
};

struct registry {
  // For debuggers, which cannot see kSegBits: record i is allg_segs[i >> seg_bits][i & mask].
  const std::size_t seg_bits = kSegBits;
  spinlock allg_lock;
  goroutine* slab GORO_GUARDED_BY(allg_lock) = nullptr;
  std::size_t slab_left GORO_GUARDED_BY(allg_lock) = 0;
  std::atomic<goroutine**> allg_segs[kMaxSegs] = {};
  std::atomic<std::size_t> allg_count{0};

  spinlock gfree_lock;
  record_batch* gfree_batches GORO_GUARDED_BY(gfree_lock) = nullptr;

  std::atomic<std::uint64_t> next_id{2};  // 1 is run()'s main goroutine
};

}  // namespace
}  // namespace goro::detail

// Where a debugger finds every goroutine record, in a live process or a core (tools/goro-gdb.py):
// a name with C linkage, and a typed pointer, so the registry's layout comes from the debug
// information. Null until the runtime makes its first goroutine record. Written once, inside
// R()'s thread-safe static initialisation (never on a hot path); the runtime never reads it.
extern "C" {
extern goro::detail::registry* goro_gdb_registry;
goro::detail::registry* goro_gdb_registry = nullptr;
}

namespace goro::detail {
namespace {

registry& R() {
  // Never destroyed: workers outlive exit().
  static registry* r = [] {
    auto* made = new registry;
    goro_gdb_registry = made;
    return made;
  }();
  return *r;
}

goroutine* new_record() {
  registry& r = R();
  r.allg_lock.lock();
  if (r.slab_left == 0) {
    // Records come in slabs (no allocator header each) and are never freed, only reused.
    r.slab = static_cast<goroutine*>(::operator new(sizeof(goroutine) * kSlab, std::nothrow));
    if (!r.slab) {
      r.allg_lock.unlock();
      throw std::bad_alloc();
    }
    r.slab_left = kSlab;
  }
  goroutine* g = ::new (r.slab++) goroutine;
  r.slab_left--;
  std::size_t i = r.allg_count.load(std::memory_order_relaxed);
  std::size_t seg = i >> kSegBits;
  if (seg >= kMaxSegs) {
    r.allg_lock.unlock();
    throw std::bad_alloc();  // g stays in the slab, unused
  }
  goroutine** p = r.allg_segs[seg].load(std::memory_order_relaxed);
  if (!p) {
    p = new (std::nothrow) goroutine*[kSegSize]();
    if (!p) {
      r.allg_lock.unlock();
      throw std::bad_alloc();
    }
    // release: pairs with the acquire in goroutine_at().
    r.allg_segs[seg].store(p, std::memory_order_release);
  }
  p[i & (kSegSize - 1)] = g;
  // release: publishes the slot to goroutine_at() (acquire in goroutine_count_all()).
  r.allg_count.store(i + 1, std::memory_order_release);
  r.allg_lock.unlock();
  return g;
}

void push_batch(goroutine* first, unsigned n) noexcept {
  auto* b = ::new (first->inline_buf) record_batch{first, n, nullptr};
  registry& r = R();
  r.gfree_lock.lock();
  b->next = r.gfree_batches;
  r.gfree_batches = b;
  r.gfree_lock.unlock();
}

// Heap closures are allocated with at least max_align_t's alignment; the record keeps the
// requested one, and both sides compute the real one here.
std::align_val_t heap_closure_align(std::size_t align) noexcept {
  return std::align_val_t{std::max(align, alignof(std::max_align_t))};
}

}  // namespace

std::size_t goroutine_count_all() noexcept {
  // acquire: pairs with the release in new_record(); the slots below the count are written.
  return R().allg_count.load(std::memory_order_acquire);
}

goroutine* goroutine_at(std::size_t i) noexcept {
  // acquire: pairs with the release that published the segment.
  goroutine** seg = R().allg_segs[i >> kSegBits].load(std::memory_order_acquire);
  return seg[i & (kSegSize - 1)];
}

goroutine* record_get(record_cache* c) {
  if (c && !c->free) {
    registry& r = R();
    r.gfree_lock.lock();
    if (r.gfree_batches) {
      c->free = r.gfree_batches->first;
      c->n = r.gfree_batches->n;
      r.gfree_batches = r.gfree_batches->next;
    }
    r.gfree_lock.unlock();
  }
  if (c && c->free) {
    goroutine* g = c->free;
    c->free = g->next;
    c->n--;
    return g;
  }
  return new_record();
}

void record_put(record_cache* c, goroutine* g) noexcept {
  if (!c) {  // a plain thread (whose closure threw)
    g->next = nullptr;
    push_batch(g, 1);
    return;
  }
  g->next = c->free;
  c->free = g;
  if (++c->n < 2 * kRecordBatch) return;
  // Hand the oldest kRecordBatch (the coldest) to the shared list.
  goroutine* keep_last = c->free;
  for (unsigned i = 1; i < c->n - kRecordBatch; i++) keep_last = keep_last->next;
  goroutine* batch = keep_last->next;
  keep_last->next = nullptr;
  c->n -= kRecordBatch;
  push_batch(batch, kRecordBatch);
}

void record_flush(record_cache* c) noexcept {
  if (!c->free) return;
  push_batch(c->free, c->n);
  c->free = nullptr;
  c->n = 0;
}

std::uint64_t id_get(id_cache* c) noexcept {
  constexpr std::uint64_t kIdBatchMax = 16;
  if (!c) return R().next_id.fetch_add(1, std::memory_order_relaxed);
  if (c->next == c->end) {
    c->batch = c->batch ? std::min(2 * c->batch, kIdBatchMax) : 1;
    c->next = R().next_id.fetch_add(c->batch, std::memory_order_relaxed);
    c->end = c->next + c->batch;
  }
  return c->next++;
}

void* closure_alloc(goroutine* g, std::size_t size, std::size_t align) {
  g->closure_align = static_cast<std::uint32_t>(align);
  if (size <= sizeof(g->inline_buf) && align <= alignof(std::max_align_t))
    g->closure = g->inline_buf;
  else
    g->closure = ::operator new(size, heap_closure_align(align));
  return g->closure;
}

void closure_free(goroutine* g) noexcept {
  if (g->closure != g->inline_buf)
    ::operator delete(g->closure, heap_closure_align(g->closure_align));
  g->closure = nullptr;
}

}  // namespace goro::detail
