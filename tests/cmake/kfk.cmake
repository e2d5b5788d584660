# kfk (tools/kfk) against the test broker: one ctest per tests/kfk/test_*.sh,
# named kfk/<script>. A script exits 77 to report a skip (kcat, socat or
# openssl missing).
if(TARGET kfk)
  file(GLOB KFK_TEST_SCRIPTS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/kfk/test_*.sh)
  foreach(script ${KFK_TEST_SCRIPTS})
    get_filename_component(name ${script} NAME_WE)
    add_test(NAME kfk/${name} COMMAND sh ${script} $<TARGET_FILE:kfk>)
    set_tests_properties(kfk/${name} PROPERTIES LABELS integration TIMEOUT 300 SKIP_RETURN_CODE 77
      ENVIRONMENT "KAFKA_TEST_BROKER_BIN=$<TARGET_FILE:kafka_test_broker>;KFK_BUILD_DIR=${PROJECT_BINARY_DIR}")
  endforeach()
endif()
