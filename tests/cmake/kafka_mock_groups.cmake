# kafka_mock's group coordinator (src/mock/mock_group*.c) checked by clients
# that are not ours: kafka-python's consumer groups and group admin, and the
# group tests of our suite (librdkafka/kcat members included) run on
# kafka-mock. Only when the kafka-mock program is built; a test another
# file already registers is not registered twice.
if(TARGET kafka-mock)
  find_program(KAFKA_GROUPS_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
  if(KAFKA_GROUPS_PYTHON3 AND NOT TEST kafka_mock/kafka_python_groups)
    add_test(NAME kafka_mock/kafka_python_groups
             COMMAND ${KAFKA_GROUPS_PYTHON3} ${PROJECT_SOURCE_DIR}/tests/mock/kafka_python_groups_test.py
                     $<TARGET_FILE:kafka-mock>)
    set_tests_properties(kafka_mock/kafka_python_groups PROPERTIES LABELS interop TIMEOUT 300
                         SKIP_RETURN_CODE 77)
  endif()
  foreach(t integration/test_reader_group interop/test_reader_kcat_group interop/test_rdkafka_group)
    string(REPLACE "/" "_" target ${t})
    if(TARGET ${target} AND NOT TEST kafka_mock/${t})
      add_test(NAME kafka_mock/${t} COMMAND ${target})
      set_tests_properties(kafka_mock/${t} PROPERTIES LABELS interop TIMEOUT 600
                           ENVIRONMENT "CMOCKA_MESSAGE_OUTPUT=stdout;KAFKA_TEST_BROKER=kafka_mock")
    endif()
  endforeach()
endif()
