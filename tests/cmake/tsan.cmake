# ThreadSanitizer builds (KAFKA_SANITIZE_THREAD=ON): the tests that run
# librdkafka inside the test process are disabled (ctest lists them as "Not
# Run (Disabled)"). librdkafka starts its threads with C11 thrd_create,
# which the TSan runtimes of gcc 12 and clang 14 do not intercept, so those
# threads crash in TSan's allocator on their first malloc. These are tests
# of the test-broker fixture (its admin-API path and "real cluster" mode)
# and the interop tests that check kafka_mock with librdkafka programs run
# in-process (transactions, consumer groups), not of libkafka's threads. For the same reason a TSan build runs against
# the mock broker only (KAFKA_BROKERS makes the fixture use librdkafka).
if(KAFKA_SANITIZE_THREAD)
  foreach(t integration/test_broker_fixture integration/test_broker_fixture_realmode
            interop/test_kcat_roundtrip_realmode interop/test_mock_txn_kcat
            interop/test_rdkafka_group kafka_mock/integration/test_reader_txn
            kafka_mock/interop/test_rdkafka_group kafka_mock/interop/test_mock_txn_kcat)
    if(TEST ${t})
      set_tests_properties(${t} PROPERTIES DISABLED TRUE)
    endif()
  endforeach()
endif()
