# examples/log_sink: brokers killed mid-run; Kafka + fallback file == input.
if(TARGET log_sink AND TARGET kafka_test_broker)
  add_test(NAME examples/log_sink
    COMMAND sh ${PROJECT_SOURCE_DIR}/tests/examples/test_log_sink.sh $<TARGET_FILE:log_sink>)
  set_tests_properties(examples/log_sink PROPERTIES LABELS integration TIMEOUT 240 SKIP_RETURN_CODE 77
    ENVIRONMENT "KAFKA_TEST_BROKER_BIN=$<TARGET_FILE:kafka_test_broker>")
endif()
