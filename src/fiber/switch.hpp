// src/fiber: the one function that switches between fibers, with every sanitizer hook the
// switch needs, so that no other place in the runtime talks to ASan or TSan about stacks.
//
// ASan: start_switch before leaving (saving our fake stack, unless we never come back),
// finish_switch on arrival; a fresh fiber's first code calls fiber_entered(). TSan: the fiber
// to run is announced before the registers change.
#pragma once

#include <cstddef>
#include <iterator>

#include "base/sanitizers.hpp"
#include "fiber/fiber.hpp"
#ifdef GORO_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef GORO_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace goro::detail {

// A fiber to switch to: its saved stack pointer and what the sanitizers know of it.
struct fiber_ref {
  void* sp;                // where its context was saved (by a switch or ctx_make)
  const void* stack_lo;    // its stack, for ASan
  std::size_t stack_size;  //
  void* tsan_fiber;        // its TSan fiber (null when not under TSan)
};

// Saves the running fiber's context in *save_sp and resumes `to`; returns when something
// switches back to us. `ending`: the running fiber never resumes (a finished goroutine).
// May return on another thread: the caller must not keep thread-local addresses across it.
[[gnu::always_inline]] inline void fiber_switch(void** save_sp, const fiber_ref& to,
                                                bool ending) noexcept {
#ifdef GORO_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(ending ? nullptr : &fake, to.stack_lo, to.stack_size);
#else
  static_cast<void>(ending);
#endif
#ifdef GORO_TSAN
  __tsan_switch_to_fiber(to.tsan_fiber, 0);
#endif
  goro_ctx_switch(save_sp, to.sp);
#ifdef GORO_ASAN
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
}

// The first thing a fresh fiber's entry function does.
[[gnu::always_inline]] inline void fiber_entered() noexcept {
#ifdef GORO_ASAN
  __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
#endif
}

// What the sanitizers need to know of the calling thread's own stack (its g0), for a
// fiber_ref that switches back to it; sp is left for the caller. Called on that thread.
fiber_ref thread_fiber() noexcept;

// TSan fibers for goroutines, one cache per worker thread: creating one is slow and TSan allows
// only 8128 at once, so they are reused from finished goroutines and no more exist than
// goroutines that have started and not finished. Without TSan, take() is null and give() does
// nothing.
class tsan_fiber_cache {
 public:
  void* take() noexcept {
#ifdef GORO_TSAN
    return n_ ? spare_[--n_] : __tsan_create_fiber(0);
#else
    return nullptr;
#endif
  }
  void give(void* f) noexcept {
#ifdef GORO_TSAN
    if (n_ < std::size(spare_))
      spare_[n_++] = f;
    else
      __tsan_destroy_fiber(f);
#else
    static_cast<void>(f);
#endif
  }

 private:
#ifdef GORO_TSAN
  void* spare_[64];
  unsigned n_ = 0;
#endif
};

#ifdef GORO_TSAN
// Not instrumented by TSan: a function that switches fibers (a finished fiber never returns
// from it, and TSan fibers are reused, so their shadow call stacks must stay balanced).
#define GORO_NO_TSAN __attribute__((no_sanitize("thread")))
#else
#define GORO_NO_TSAN
#endif

}  // namespace goro::detail
