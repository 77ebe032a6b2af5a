# Runs one example and checks what it printed. Usage:
#   cmake -DPROGRAM=<exe> -DEXPECTED=<file> [options] -P check_output.cmake
# Options:
#   SORT_LINES=ON          compare stdout's lines sorted (for output whose order Go leaves open)
#   EXIT_CODE=<n>          expected exit status (default 0)
#   STDERR_HEAD=<file>     stderr must begin with this file's text; without it, stderr must be
#                          empty (so a sanitizer report or stray diagnostic fails the test)
#   STDERR_COUNT_REGEX=<re> and STDERR_COUNT=<n>: <re> must match stderr exactly <n> times
#   SOURCE_PATH=<path>     stderr must name <path> (relative to the repository root) and never
#                          the file under any other path, e.g. an absolute one
#   ARGS=<argument>        one command-line argument to run the program with
#   TIMEOUT=<seconds>      kill the program after this long (default 100); set below ctest's
#                          TIMEOUT, so that a hang is reported with the output so far
#
# Normalisation: timestamps of the form 2006-01-02T15:04:05Z (the Go layout the logger uses)
# become <time> before comparing, so expected files do not depend on the clock.

foreach(required PROGRAM EXPECTED)
  if(NOT DEFINED ${required})
    message(FATAL_ERROR "check_output.cmake: ${required} is not set")
  endif()
endforeach()
if(NOT DEFINED EXIT_CODE)
  set(EXIT_CODE 0)
endif()
if(NOT DEFINED TIMEOUT)
  set(TIMEOUT 100)
endif()

execute_process(COMMAND ${PROGRAM} ${ARGS}
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err
  RESULT_VARIABLE rc
  TIMEOUT ${TIMEOUT})

set(failures "")
macro(fail text)
  string(APPEND failures "  - ${text}\n")
endmacro()

if(NOT "${rc}" STREQUAL "${EXIT_CODE}")
  fail("exit status ${rc}, expected ${EXIT_CODE}")
endif()

# stdout
set(d "[0-9]")
string(REGEX REPLACE "${d}${d}${d}${d}-${d}${d}-${d}${d}T${d}${d}:${d}${d}:${d}${d}Z" "<time>"
       out "${out}")
file(READ "${EXPECTED}" expected)
if(SORT_LINES)
  foreach(var out expected)
    # Lines become list items; the outputs sorted this way contain no ';', '[' or ']'.
    string(REGEX REPLACE "\n$" "" ${var} "${${var}}")
    string(REPLACE "\n" ";" ${var} "${${var}}")
    list(SORT ${var})
    list(JOIN ${var} "\n" ${var})
  endforeach()
endif()
if(NOT out STREQUAL expected)
  fail("stdout differs from ${EXPECTED}\n--- expected\n${expected}\n--- got\n${out}\n---")
endif()

# stderr
if(DEFINED STDERR_HEAD)
  file(READ "${STDERR_HEAD}" head)
  string(LENGTH "${head}" head_length)
  string(SUBSTRING "${err}" 0 ${head_length} err_head)
  if(NOT err_head STREQUAL head)
    fail("stderr does not begin with the text of ${STDERR_HEAD}:\n${head}")
  endif()
elseif(NOT err STREQUAL "")
  fail("stderr is not empty")
endif()
if(DEFINED STDERR_COUNT_REGEX)
  string(REGEX MATCHALL "${STDERR_COUNT_REGEX}" matches "${err}")
  list(LENGTH matches count)
  if(NOT count EQUAL STDERR_COUNT)
    fail("stderr matches '${STDERR_COUNT_REGEX}' ${count} times, expected ${STDERR_COUNT}")
  endif()
endif()
if(DEFINED SOURCE_PATH)
  get_filename_component(source_name "${SOURCE_PATH}" NAME)
  string(REPLACE "." "\\." source_name_re "${source_name}")
  string(REGEX MATCHALL "[^ \t\n]*${source_name_re}" mentions "${err}")
  list(LENGTH mentions mention_count)
  if(mention_count EQUAL 0)
    fail("stderr never names ${SOURCE_PATH}")
  endif()
  foreach(mention IN LISTS mentions)
    if(NOT mention STREQUAL SOURCE_PATH)
      fail("stderr names the source as '${mention}', expected '${SOURCE_PATH}'")
    endif()
  endforeach()
endif()

if(failures)
  message(FATAL_ERROR "${PROGRAM}:\n${failures}stderr was:\n${err}")
endif()
