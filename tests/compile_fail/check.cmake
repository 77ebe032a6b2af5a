# Runs the compile-failure tests of one file here (see its opening comment).
# Arguments: -DCXX=<compiler> -DINCLUDE=<goro include dir> -DSOURCE=<file> -DCASES=<n>
# -DEXPECT=<regex the compiler's error must match> [-DFLAGS=<extra flags, ;-separated>]
set(base ${FLAGS} -std=c++20 -fsyntax-only -I${INCLUDE} ${SOURCE})
execute_process(COMMAND ${CXX} ${base} RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the control (no case selected) does not compile:\n${err}")
endif()
foreach(n RANGE 1 ${CASES})
  execute_process(COMMAND ${CXX} ${base} -DGORO_COMPILE_FAIL_CASE=${n}
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(rc EQUAL 0)
    message(FATAL_ERROR "case ${n} compiled, but must not")
  endif()
  if(NOT err MATCHES "${EXPECT}")
    message(FATAL_ERROR "case ${n} failed for another reason than '${EXPECT}':\n${err}")
  endif()
  message(STATUS "case ${n}: does not compile, as it must")
endforeach()
