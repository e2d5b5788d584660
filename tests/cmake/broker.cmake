# Tests of the embedded test broker's shell side, and the fixture-based
# tests once more in "real cluster" mode (KAFKA_BROKERS pointing at a second
# kafka_test_broker), which exercises the skip path and the admin-API path.
add_test(NAME broker/script COMMAND sh ${PROJECT_SOURCE_DIR}/tests/broker/test_broker_sh.sh)
set_tests_properties(broker/script PROPERTIES LABELS integration TIMEOUT 120
  ENVIRONMENT "KAFKA_TEST_BROKER_BIN=$<TARGET_FILE:kafka_test_broker>")

foreach(t integration_test_broker_fixture interop_test_kcat_roundtrip)
  if(TARGET ${t})
    string(REPLACE "_test_" "/test_" tname ${t})
    add_test(NAME ${tname}_realmode
      COMMAND sh ${PROJECT_SOURCE_DIR}/tests/broker/run_real_mode.sh $<TARGET_FILE:${t}>)
    string(REGEX REPLACE "_.*" "" tlabel ${t})
    set_tests_properties(${tname}_realmode PROPERTIES LABELS ${tlabel} TIMEOUT 600
      ENVIRONMENT "KAFKA_TEST_BROKER_BIN=$<TARGET_FILE:kafka_test_broker>;CMOCKA_MESSAGE_OUTPUT=stdout")
  endif()
endforeach()
