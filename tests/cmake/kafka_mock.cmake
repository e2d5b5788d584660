# kafka_mock checked by clients that are not ours, and parts of our suite
# run on it (KAFKA_TEST_BROKER=kafka_mock makes the fixture start
# kafka-mock instead of kafka_test_broker).
find_program(KAFKA_DEBIAN_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT KAFKA_DEBIAN_PYTHON3)
  find_program(KAFKA_DEBIAN_PYTHON3 python3)
endif()
if(KAFKA_DEBIAN_PYTHON3)
  add_test(NAME kafka_mock/kafka_python
           COMMAND ${KAFKA_DEBIAN_PYTHON3} ${PROJECT_SOURCE_DIR}/tests/mock/kafka_python_test.py
                   $<TARGET_FILE:kafka-mock>)
  set_tests_properties(kafka_mock/kafka_python PROPERTIES LABELS interop TIMEOUT 300 SKIP_RETURN_CODE 77)
endif()

# Tests of the suite that pass on kafka-mock, run there as well.
foreach(t interop/test_kcat_roundtrip interop/test_record_batch_kcat integration/test_reader
          integration/test_conn_offsets integration/test_cluster integration/test_writer_zip
          integration/test_threads integration/test_writer_mt integration/test_writer_pool
          integration/test_writer_sticky interop/test_balancer_kcat integration/test_reader_txn
          integration/test_conn integration/test_tls_conn integration/test_reader_engine
          integration/test_writer integration/test_writer_sync integration/test_writer_api
          integration/test_writer_engine integration/test_writer_errors integration/test_reader_partitions)
  string(REPLACE "/" "_" target ${t})
  add_test(NAME kafka_mock/${t} COMMAND ${target})
  set_tests_properties(kafka_mock/${t} PROPERTIES LABELS interop TIMEOUT 600
                       ENVIRONMENT "CMOCKA_MESSAGE_OUTPUT=stdout;KAFKA_TEST_BROKER=kafka_mock")
endforeach()

# The kafka-mock program's contract: first line, answers, exit statuses.
add_test(NAME kafka_mock/program COMMAND ${PROJECT_SOURCE_DIR}/tests/mock/kafka_mock_program.sh
         $<TARGET_FILE:kafka-mock>)
set_tests_properties(kafka_mock/program PROPERTIES LABELS integration TIMEOUT 120)
