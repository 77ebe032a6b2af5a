// Fresh contexts and goroutine stacks.
//
// Invariants: pool_state::free holds unused stacks of exactly stack_pool::size_ bytes (a size
// change unmaps the rest); every stack handed out has a guard below it (or none, past
// kMaxProtectedGuards); a stack_cache belongs to one thread.
//
// Stacks are carved from mappings of many stacks each: [guard][stack][guard][stack]...
// Guards use MADV_GUARD_INSTALL (Linux 6.13+), which costs no VMA; where it is missing they use
// mprotect, which splits the mapping (2 VMAs per stack), so after kMaxProtectedGuards such
// guards stacks go unguarded rather than run into vm.max_map_count (65530): a spawn never fails
// because of the VMA limit. Not 2 MiB stacks, and MADV_NOHUGEPAGE on every chunk: with
// transparent huge pages a first touch could otherwise commit 2 MiB.
// Chunks grow from 16 stacks to 256 (65 MiB of address space, none of it committed until
// touched; 16 under the sanitizers, whose stacks are 1 MiB and whose leak checker scans every
// stack's range): with 16 stacks per chunk throughout, two workers starting goroutines queued on
// the kernel's mmap lock, one mapping while the other took page faults (idle benchmark, P=2: 2,790
// -> 1,860 ns per goroutine together with not holding a channel lock across a first run, see
// switch_out()). Guards stay one madvise() each: one process_madvise() call for a whole chunk
// measured no faster (the kernel's work per guard dominates).
//
// Valgrind: where its headers were found at build time, each stack is registered with it
// (VALGRIND_STACK_REGISTER) once, when its chunk is mapped, and deregistered when unmapped, so
// that memcheck takes a switch between two goroutine stacks (often neighbours in one chunk) for
// a stack switch, not for a frame of hundreds of kilobytes. Outside valgrind that costs one
// RUNNING_ON_VALGRIND check (a few instructions that do nothing) per chunk mapped or stack
// unmapped, and nothing per switch.
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <new>
#include <utility>
#include <vector>

#include "base/sanitizers.hpp"
#include "fiber/fiber.hpp"
#include "fiber/switch.hpp"
#include "goro/detail/spinlock.hpp"
#include "goro/detail/thread_annotations.hpp"
#ifdef GORO_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#endif

#if __has_include(<valgrind/valgrind.h>) && !defined(GORO_ASAN) && !defined(GORO_TSAN)
#include <valgrind/valgrind.h>
#define GORO_VALGRIND 1
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

namespace goro::detail {

void* ctx_make(void* top, void (*entry)(void*), void* arg) noexcept {
  // top, rounded down to 16 bytes (pointer arithmetic: no integer turned back into a pointer).
  char* t = static_cast<char*>(top) - (reinterpret_cast<std::uintptr_t>(top) & 15);
#if defined(__x86_64__)
  // Popped by goro_ctx_switch in this order: r15 r14 r13 r12 rbx rbp, then the address it jumps
  // to. After the pops rsp is 16-byte aligned, as a call instruction expects.
  auto* sp = reinterpret_cast<void**>(t - 72);
  sp[0] = nullptr;                                   // r15
  sp[1] = nullptr;                                   // r14
  sp[2] = reinterpret_cast<void*>(entry);            // r13
  sp[3] = arg;                                       // r12
  sp[4] = nullptr;                                   // rbx
  sp[5] = nullptr;                                   // rbp
  sp[6] = reinterpret_cast<void*>(&goro_ctx_entry);  // jumped to
  sp[7] = nullptr;
  return sp;
#elif defined(__aarch64__)
  auto* sp = reinterpret_cast<void**>(t - 160);
  std::memset(sp, 0, 160);
  sp[0] = arg;                                        // x19
  sp[1] = reinterpret_cast<void*>(entry);             // x20
  sp[11] = reinterpret_cast<void*>(&goro_ctx_entry);  // x30
  return sp;
#else
#error "goro: no context switch for this architecture"
#endif
}

namespace {

constexpr std::size_t kMinStacksPerChunk = 16;
#if defined(GORO_ASAN) || defined(GORO_TSAN)
constexpr std::size_t kMaxStacksPerChunk = 16;
#else
constexpr std::size_t kMaxStacksPerChunk = 256;
#endif
constexpr std::size_t kMaxProtectedGuards = 16384;

std::size_t page_size() noexcept {
  static const std::size_t p = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return p;
}

struct pool_state {
  spinlock lock;
  std::vector<stack> free GORO_GUARDED_BY(lock);
  std::atomic<int> guard_mode{0};  // 0 unknown, 1 madvise guards, 2 mprotect guards
  std::atomic<std::size_t> protected_guards{0};
  std::atomic<std::size_t> next_chunk{kMinStacksPerChunk};  // stacks in the next mapping
#ifdef GORO_VALGRIND
  // Under valgrind, each mapped stack's lo and valgrind stack id (for deregistering it when it
  // is unmapped); empty otherwise.
  std::vector<std::pair<const char*, unsigned>> valgrind_ids GORO_GUARDED_BY(lock);
#endif
};

pool_state& state() {
  static pool_state* s = new pool_state;  // never destroyed: goroutines may outlive exit()
  return *s;
}

// Whether an access to g faults. Some environments accept MADV_GUARD_INSTALL and do nothing
// (qemu-user returns 0 for advice it does not know): checked once, through a write() from g
// into a pipe, which fails with EFAULT instead of raising SIGSEGV.
bool guard_effective(char* g) noexcept {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return false;
  bool faulted = write(p[1], g, 1) < 0 && errno == EFAULT;
  close(p[0]);
  close(p[1]);
  return faulted;
}

void install_guard(char* g, std::size_t len) noexcept {
  pool_state& s = state();
  int mode = s.guard_mode.load(std::memory_order_relaxed);
  if (mode != 2) {
    if (madvise(g, len, MADV_GUARD_INSTALL) == 0 && (mode == 1 || guard_effective(g))) {
      s.guard_mode.store(1, std::memory_order_relaxed);
      return;
    }
    s.guard_mode.store(2, std::memory_order_relaxed);
  }
  if (s.protected_guards.fetch_add(1, std::memory_order_relaxed) < kMaxProtectedGuards)
    mprotect(g, len, PROT_NONE);
}

// Registers freshly mapped stacks with valgrind, when running under it.
void valgrind_register(const stack* st, std::size_t n) noexcept {
#ifdef GORO_VALGRIND
  if (!RUNNING_ON_VALGRIND) return;
  pool_state& s = state();
  s.lock.lock();
  for (std::size_t i = 0; i < n; i++) {
    // The lowest and the highest byte of the stack, as valgrind.h asks.
    unsigned id = VALGRIND_STACK_REGISTER(st[i].lo, st[i].lo + st[i].size - 1);
    try {
      s.valgrind_ids.emplace_back(st[i].lo, id);
    } catch (...) {  // then it stays registered after an unmap: only valgrind's view is stale
    }
  }
  s.lock.unlock();
#else
  static_cast<void>(st);
  static_cast<void>(n);
#endif
}

#ifndef GORO_ASAN  // under ASan chunks are LSan root regions: never unmapped
// Gives a pooled or returned stack's memory (and its guard) back to the kernel.
void unmap_stack(pool_state& s, const stack& st) noexcept GORO_REQUIRES(s.lock) {
#ifdef GORO_VALGRIND
  auto& ids = s.valgrind_ids;
  auto it = std::find_if(ids.begin(), ids.end(), [&](const auto& e) { return e.first == st.lo; });
  if (it != ids.end()) {
    VALGRIND_STACK_DEREGISTER(it->second);
    *it = ids.back();
    ids.pop_back();
  }
#else
  static_cast<void>(s);
#endif
  munmap(st.lo - guard_size(), st.size + guard_size());
}
#endif

}  // namespace

std::size_t default_stack_size() noexcept {
#if defined(GORO_ASAN) || defined(GORO_TSAN)
  return std::size_t{1} << 20;
#else
  return std::size_t{256} << 10;
#endif
}

std::size_t guard_size() noexcept { return page_size(); }

void stack_pool::set_size(std::size_t bytes) {
  std::size_t p = page_size();
  bytes = (bytes + p - 1) / p * p;
  if (bytes < 4 * p) bytes = 4 * p;
  if (bytes == size_) return;
  pool_state& s = state();
  s.lock.lock();
#ifndef GORO_ASAN  // under ASan chunks are LSan root regions: never unmap part of one
  for (const stack& st : s.free) unmap_stack(s, st);
#endif
  s.free.clear();
  size_ = bytes;
  s.lock.unlock();
}

// Maps `count` new stacks of `size` bytes into out[]. Takes no lock: the syscalls and guard
// installs (about a microsecond per stack here) of two workers growing at once overlap instead
// of queueing on the pool's lock.
void stack_pool::grow(std::size_t size, std::size_t count, stack* out) {
  std::size_t g = guard_size(), one = size + g;
  void* m = mmap(nullptr, one * count, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) throw std::bad_alloc();
  madvise(m, one * count, MADV_NOHUGEPAGE);

  char* base = static_cast<char*>(m);
  for (std::size_t i = 0; i < count; i++) {
    char* lo = base + i * one + g;
    install_guard(lo - g, g);
#ifdef GORO_ASAN
    // LeakSanitizer scans thread stacks, not ours: without this, whatever only a parked
    // goroutine's frames point to would be reported as leaked at exit. The usable range only:
    // scanning a guard page would fault.
    __lsan_register_root_region(lo, size);
#endif
    out[i] = stack{lo, size};
  }
}

std::size_t stack_pool::get(stack* out, std::size_t n) {
  pool_state& s = state();
  s.lock.lock();
  std::size_t k = 0;
  while (k < n && !s.free.empty()) {
    out[k++] = s.free.back();
    s.free.pop_back();
  }
  const std::size_t size = size_;  // set_size() changes it under the lock
  s.lock.unlock();
  if (k > 0) return k;

  // Each chunk twice the last, up to the maximum: a small program maps little.
  std::size_t chunk = s.next_chunk.load(std::memory_order_relaxed);
  if (chunk < kMaxStacksPerChunk) s.next_chunk.store(2 * chunk, std::memory_order_relaxed);
  const std::size_t count = chunk > n ? chunk : n;
  std::vector<stack> fresh(count);
  grow(size, count, fresh.data());
  valgrind_register(fresh.data(), count);
  for (; k < n; k++) out[k] = fresh[k];
  // The rest goes to the pool, unless the stack size changed meanwhile (put() then unmaps
  // them, as it does any stack of another size).
  put(fresh.data() + k, count - k);
  return k;
}

void stack_pool::put(const stack* in, std::size_t n) noexcept {
  pool_state& s = state();
  s.lock.lock();
  for (std::size_t i = 0; i < n; i++) {
    if (in[i].size == size_) {
      try {
        s.free.push_back(in[i]);
        continue;
      } catch (...) {
      }
    }
#ifndef GORO_ASAN
    unmap_stack(s, in[i]);
#endif
  }
  s.lock.unlock();
}

stack stack_cache::take(stack_pool& pool) {
  if (n_ == 0) n_ = static_cast<unsigned>(pool.get(stacks_, 16));
  stack st = stacks_[--n_];
  stack_prepare_reuse(st);
  return st;
}

void stack_cache::give(stack_pool& pool, const stack& s) noexcept {
  if (n_ == std::size(stacks_)) {  // full: the older half goes back to the pool
    pool.put(stacks_ + n_ / 2, n_ / 2);
    n_ /= 2;
  }
  stacks_[n_++] = s;
}

void stack_prepare_reuse(const stack& s) noexcept {
#ifdef GORO_ASAN
  __asan_unpoison_memory_region(s.lo, s.size);
#else
  static_cast<void>(s);
#endif
}

bool stack_guard_hit(const stack& s, const void* addr) noexcept {
  auto a = reinterpret_cast<std::uintptr_t>(addr);
  auto lo = reinterpret_cast<std::uintptr_t>(s.lo);
  // Below the guard too: a large frame can jump over a single guard page.
  return s.lo && a < lo && a + (std::uintptr_t{64} << 10) >= lo;
}

fiber_ref thread_fiber() noexcept {
  fiber_ref f{nullptr, nullptr, 0, nullptr};
#ifdef GORO_ASAN
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* addr;
    std::size_t size;
    pthread_attr_getstack(&attr, &addr, &size);
    f.stack_lo = addr;
    f.stack_size = size;
    pthread_attr_destroy(&attr);
  }
#endif
#ifdef GORO_TSAN
  f.tsan_fiber = __tsan_get_current_fiber();
#endif
  return f;
}

}  // namespace goro::detail
