# Regeneration test: the committed generated codecs (src/protocol/gen/) and
# the generated round-trip test (tests/unit/test_protocol_gen.c) must be
# exactly what tools/kafka_codegen.py produces from the schemas.
#
# This file plays two roles. Included by tests/CMakeLists.txt it registers
# the test; run with `cmake -P` (CMAKE_SCRIPT_MODE_FILE set) it is the test.
if(NOT CMAKE_SCRIPT_MODE_FILE)
  get_filename_component(_kafka_schemas ${PROJECT_SOURCE_DIR}/../shared/kafka-protocol/message ABSOLUTE)
  find_program(KAFKA_PYTHON3 python3)
  add_test(NAME codegen/regenerate
    COMMAND ${CMAKE_COMMAND}
      -DPYTHON=${KAFKA_PYTHON3}
      -DSRC=${PROJECT_SOURCE_DIR}
      -DSCHEMAS=${_kafka_schemas}
      -DTMP=${CMAKE_CURRENT_BINARY_DIR}/codegen_check
      -P ${CMAKE_CURRENT_LIST_FILE})
  set_tests_properties(codegen/regenerate PROPERTIES LABELS unit TIMEOUT 120)
  if(NOT EXISTS ${_kafka_schemas} OR NOT KAFKA_PYTHON3)
    # Not a pass: ctest lists it as disabled.
    message(STATUS "codegen/regenerate disabled: no python3 or no schemas at ${_kafka_schemas}")
    set_tests_properties(codegen/regenerate PROPERTIES DISABLED TRUE)
  endif()
  return()
endif()

file(REMOVE_RECURSE ${TMP})
file(MAKE_DIRECTORY ${TMP})
execute_process(
  COMMAND ${PYTHON} ${SRC}/tools/kafka_codegen.py --schemas ${SCHEMAS} --out ${TMP}/gen
          --tests-out ${TMP}/test_protocol_gen.c
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "kafka_codegen.py failed (${rc})")
endif()
execute_process(COMMAND diff -r -u ${SRC}/src/protocol/gen ${TMP}/gen RESULT_VARIABLE rc1)
execute_process(COMMAND diff -u ${SRC}/tests/unit/test_protocol_gen.c ${TMP}/test_protocol_gen.c RESULT_VARIABLE rc2)
if(NOT rc1 EQUAL 0 OR NOT rc2 EQUAL 0)
  message(FATAL_ERROR "generated code differs from the committed code: run tools/kafka_codegen.py and commit "
                      "(never edit src/protocol/gen by hand)")
endif()
message(STATUS "generated code is up to date")
