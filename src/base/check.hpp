// src/base: GORO_DCHECK(cond), the runtime's internal assertions.
//
// On when the build defines GORO_DCHECKS=1 (the dev, asan and tsan presets); compiled out
// otherwise (release), so a check may cost what it likes but must have no side effects. A
// failed check prints the condition and its place and aborts: it is a bug in goro, never in
// the program using it (misuse by a program is a panic instead).
#pragma once

namespace goro::detail {
[[noreturn]] void dcheck_failed(const char* cond, const char* file, int line) noexcept;
}  // namespace goro::detail

#if defined(GORO_DCHECKS) && GORO_DCHECKS
#define GORO_DCHECK(cond) \
  ((cond) ? static_cast<void>(0) : ::goro::detail::dcheck_failed(#cond, __FILE__, __LINE__))
#else
#define GORO_DCHECK(cond) static_cast<void>(sizeof(static_cast<bool>(cond)))
#endif
