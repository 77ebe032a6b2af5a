// goro/source_location.hpp: the call site that goro's diagnostics report ("blocked at",
// "created by", the creation site of a wait_group or mutex).
//
// goro::source_location, not std::source_location, in every signature: the library's ABI must
// not depend on which compiler built it or its users. libstdc++ 12 offers no
// std::source_location to clang 14, so a goro built by GCC and a program compiled by clang
// against the same libstdc++ would otherwise disagree on the type. It is filled from the
// compiler builtins that GCC and clang both have, so a call site reads the same whoever
// compiled it; one converts implicitly from std::source_location where that exists.
#pragma once

#include <cstdint>
#if __has_include(<source_location>)
#include <source_location>
#endif

// GCC 12 has no __builtin_COLUMN (the column is not shown anywhere by goro anyway).
#if defined(__has_builtin)
#if __has_builtin(__builtin_COLUMN)
#define GORO_BUILTIN_COLUMN() __builtin_COLUMN()
#endif
#endif
#ifndef GORO_BUILTIN_COLUMN
#define GORO_BUILTIN_COLUMN() 0
#endif

#pragma GCC visibility push(default)  // exported from libgoro.so: see CMakeLists.txt
namespace goro {

class source_location {
 public:
  // The place of the call that uses current() as a default argument (like
  // std::source_location::current()).
  static constexpr source_location current(
      const char* file = __builtin_FILE(), const char* function = __builtin_FUNCTION(),
      std::uint_least32_t line = __builtin_LINE(),
      std::uint_least32_t column = GORO_BUILTIN_COLUMN()) noexcept {
    source_location s;
    s.file_ = file;
    s.function_ = function;
    s.line_ = line;
    s.column_ = column;
    return s;
  }

  constexpr source_location() noexcept = default;
#if defined(__cpp_lib_source_location)
  constexpr source_location(const std::source_location& s) noexcept  // NOLINT: implicit
      : file_(s.file_name()), function_(s.function_name()), line_(s.line()), column_(s.column()) {}
#endif

  constexpr const char* file_name() const noexcept { return file_; }
  constexpr const char* function_name() const noexcept { return function_; }
  constexpr std::uint_least32_t line() const noexcept { return line_; }
  constexpr std::uint_least32_t column() const noexcept { return column_; }

 private:
  const char* file_ = "";
  const char* function_ = "";
  std::uint_least32_t line_ = 0;
  std::uint_least32_t column_ = 0;
};

}  // namespace goro
#pragma GCC visibility pop
