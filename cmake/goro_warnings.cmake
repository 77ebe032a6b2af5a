# goro_warnings: the warning set for goro's own targets (library, tests, examples, bench).
#
# An INTERFACE target so each subdirectory opts in with
#   target_link_libraries(<tgt> PRIVATE goro::warnings)
# It is never exported: users of an installed goro get no warning flags from us.
#
# The flags apply to C++ only. The context-switch sources (src/**/*.S) go through the C
# preprocessor, where -Wpedantic complains about assembler syntax it does not understand.

option(GORO_WERROR "Build goro's own targets with -Wall -Wextra -Wpedantic -Werror" OFF)
option(GORO_THREAD_SAFETY
       "clang: check goro's own targets with the thread-safety analysis (-Wthread-safety)" OFF)

add_library(goro_warnings INTERFACE)
add_library(goro::warnings ALIAS goro_warnings)

# Not a warning, but wanted by every own target too: file names in std::source_location (the
# diagnostics' "blocked at", "created by") relative to the repository root, tests/x.cpp:12.
target_compile_options(goro_warnings INTERFACE
  "$<$<COMPILE_LANGUAGE:CXX>:-fmacro-prefix-map=${PROJECT_SOURCE_DIR}/=>")

if(GORO_WERROR)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(goro_warnings INTERFACE
      $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Werror>)
  elseif(MSVC)
    target_compile_options(goro_warnings INTERFACE $<$<COMPILE_LANGUAGE:CXX>:/W4 /WX>)
  endif()
endif()

# The capability annotations (goro/detail/thread_annotations.hpp) checked: which lock guards
# which field, which functions need a lock held. An error with GORO_WERROR, like the rest.
if(GORO_THREAD_SAFETY)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "GORO_THREAD_SAFETY needs clang (the analysis is clang's)")
  endif()
  target_compile_options(goro_warnings INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Wthread-safety>)
endif()
