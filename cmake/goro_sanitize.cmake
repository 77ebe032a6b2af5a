# GORO_SANITIZE: build everything below the top-level directory with a sanitizer.
#
# Set with add_compile_options/add_link_options (directory scope, before any target is made)
# rather than per target: tests, examples, benchmarks and the code GoogleTest's headers
# instantiate must all be instrumented, or ASan reports false container overflows and TSan
# misses the synchronisation done in uninstrumented code.
#
# No macro is defined here: the runtime detects sanitizers itself through
# __SANITIZE_ADDRESS__ / __SANITIZE_THREAD__ (GCC) and __has_feature (Clang), so a user who
# sanitizes their own build of goro gets the same behaviour (bigger stacks, fiber hooks).

set(GORO_SANITIZE "" CACHE STRING "Sanitizer for the whole build: empty, 'address' (ASan+UBSan) or 'thread' (TSan)")
set_property(CACHE GORO_SANITIZE PROPERTY STRINGS "" address thread)

if(GORO_SANITIZE STREQUAL "address")
  set(_goro_san_flags -fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
elseif(GORO_SANITIZE STREQUAL "thread")
  set(_goro_san_flags -fsanitize=thread)
elseif(NOT GORO_SANITIZE STREQUAL "")
  message(FATAL_ERROR "GORO_SANITIZE must be empty, 'address' or 'thread', not '${GORO_SANITIZE}'")
endif()

if(_goro_san_flags)
  # C and C++ only: the assembler has nothing to instrument.
  add_compile_options("$<$<COMPILE_LANGUAGE:C,CXX>:${_goro_san_flags}>")
  add_link_options(${_goro_san_flags})
  message(STATUS "goro: building with -fsanitize for '${GORO_SANITIZE}'")
endif()
unset(_goro_san_flags)
