# The example programs against the test broker; in the normal build also
# under valgrind (the examples must be valgrind clean).
if(KAFKA_BUILD_EXAMPLES AND NOT KAFKA_BUILD_FUZZ)
  add_test(NAME examples/produce_consume
           COMMAND ${PROJECT_SOURCE_DIR}/tests/examples/run_examples.sh ${PROJECT_BINARY_DIR})
  set_tests_properties(examples/produce_consume PROPERTIES LABELS integration TIMEOUT 300)
  find_program(VALGRIND_EXE valgrind)
  if(VALGRIND_EXE AND NOT KAFKA_SANITIZE AND NOT KAFKA_SANITIZE_THREAD)
    add_test(NAME examples/produce_consume_valgrind
             COMMAND ${PROJECT_SOURCE_DIR}/tests/examples/run_examples.sh ${PROJECT_BINARY_DIR})
    set_tests_properties(examples/produce_consume_valgrind PROPERTIES LABELS integration TIMEOUT 600
                         ENVIRONMENT "VALGRIND=1")
  endif()
endif()
