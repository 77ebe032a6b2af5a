// The per-thread state (see goroutine.hpp): which goroutine runs on this thread, and the
// laundered addresses of errno and the exception globals.
#include <cxxabi.h>

#include <cerrno>

#include "goroutine/goroutine.hpp"

// libc++abi exports __cxa_get_globals (the same two fields first as libstdc++'s: caught
// exceptions, uncaught count) but does not declare it in its public <cxxabi.h>.
#if defined(_LIBCPPABI_VERSION)
namespace __cxxabiv1 {
extern "C" void* __cxa_get_globals() noexcept;
}  // namespace __cxxabiv1
#endif

namespace goro::detail {

namespace {
thread_local thread_state tls;
}  // namespace

__attribute__((noinline)) thread_state* ts() noexcept {
  thread_state* p = &tls;
  asm volatile("" : "+r"(p));
  return p;
}

goroutine* current_g() noexcept { return ts()->g; }

parker* current_parker() noexcept {
  thread_state* t = ts();
  return t->g ? &t->g->park : &t->thread_parker;
}

__attribute__((noinline)) eh_state* eh_globals() noexcept {
  auto* p = reinterpret_cast<eh_state*>(abi::__cxa_get_globals());
  asm volatile("" : "+r"(p));
  return p;
}

__attribute__((noinline)) int* errno_ptr() noexcept {
  int* p = &errno;
  asm volatile("" : "+r"(p));
  return p;
}

}  // namespace goro::detail
