# examples/conn_produce + examples/conn_consume against the test broker:
# lines written by one must come back, in order, from the other.
if(TARGET conn_produce AND TARGET conn_consume)
  add_test(NAME examples/conn_produce_consume
    COMMAND sh ${PROJECT_SOURCE_DIR}/tests/examples/test_conn_examples.sh
            $<TARGET_FILE:conn_produce> $<TARGET_FILE:conn_consume>)
  set_tests_properties(examples/conn_produce_consume PROPERTIES LABELS integration TIMEOUT 180
    ENVIRONMENT "KAFKA_TEST_BROKER_BIN=$<TARGET_FILE:kafka_test_broker>")
endif()
