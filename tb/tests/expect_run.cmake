# cmake -DCMD="prog;arg;..." [-DEXIT=N] [-DMATCH=regex...] [-DREJECT=regex] -P expect_run.cmake
# Runs CMD and fails unless it exits with EXIT (default 0), its output (stdout and stderr) matches
# every MATCH (a list) and does not match REJECT.
if(NOT DEFINED EXIT)
  set(EXIT 0)
endif()
execute_process(COMMAND ${CMD} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("${out}")
if(NOT rc STREQUAL "${EXIT}")
  message(FATAL_ERROR "expect_run: ${CMD} exited ${rc}, expected ${EXIT}")
endif()
foreach(m ${MATCH})
  if(NOT out MATCHES "${m}")
    message(FATAL_ERROR "expect_run: the output of ${CMD} does not match: ${m}")
  endif()
endforeach()
if(DEFINED REJECT AND out MATCHES "${REJECT}")
  message(FATAL_ERROR "expect_run: the output of ${CMD} matches what it must not: ${REJECT}")
endif()
