// src/fiber: layer 1. A fiber is a stack plus a saved context: fresh contexts, the register
// switch (switch_*.S), the one switch function that tells the sanitizers (switch.hpp), and
// stack memory (stack.cpp). Knows nothing about goroutines or workers.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/sanitizers.hpp"

extern "C" void goro_ctx_switch(void** save_sp, void* load_sp);
// Not called: goro_ctx_entry is the address in goro_ctx_start where a fresh context resumes.
extern "C" void goro_ctx_entry();

namespace goro::detail {

// Prepares a fresh context on the stack whose highest address is `top`; switching to the
// returned stack pointer calls entry(arg), which must never return.
void* ctx_make(void* top, void (*entry)(void*), void* arg) noexcept;

// A goroutine stack: usable memory [lo, lo + size), a guard region just below lo.
struct stack {
  char* lo = nullptr;
  std::size_t size = 0;
  char* top() const noexcept { return lo + size; }
  explicit operator bool() const noexcept { return lo != nullptr; }
};

// The default stack size: 256 KiB, or 1 MiB under sanitizers (their frames are larger).
std::size_t default_stack_size() noexcept;
std::size_t guard_size() noexcept;

// Process-wide pool of stacks of one size. Stacks are carved from larger mappings, lazily
// committed by the kernel, never given back while pooled.
class stack_pool {
 public:
  // Changes the size of stacks handed out from now on (pooled ones of the old size are unmapped).
  void set_size(std::size_t bytes);
  // Takes up to n stacks into out[]; returns how many (at least 1, or throws std::bad_alloc).
  std::size_t get(stack* out, std::size_t n);
  void put(const stack* in, std::size_t n) noexcept;

 private:
  static void grow(std::size_t size, std::size_t count, stack* out);
  std::size_t size_ = 0;
};

// A worker's own stacks, taken from and given back to the pool in batches so that spawning and
// ending goroutines take the pool's lock once per batch. Owned by one thread.
class stack_cache {
 public:
  // A stack ready for a fresh context (throws std::bad_alloc when none can be mapped).
  stack take(stack_pool& pool);
  void give(stack_pool& pool, const stack& s) noexcept;

 private:
  stack stacks_[64];
  unsigned n_ = 0;
};

// Lets a stack's memory be reused with no stale sanitizer state.
void stack_prepare_reuse(const stack& s) noexcept;
// Whether addr falls in the guard region of s.
bool stack_guard_hit(const stack& s, const void* addr) noexcept;

}  // namespace goro::detail
