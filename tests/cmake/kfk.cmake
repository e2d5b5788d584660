# kfk (tools/kfk) against the test broker (and kafka-mock, when it is
# built): one ctest per tests/kfk/test_*.sh, named kfk/<script>. A script
# exits 77 to report a skip (kcat, socat, openssl or kafka-mock missing).
if(TARGET kfk)
  file(GLOB KFK_TEST_SCRIPTS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/kfk/test_*.sh)
  foreach(script ${KFK_TEST_SCRIPTS})
    get_filename_component(name ${script} NAME_WE)
    add_test(NAME kfk/${name} COMMAND sh ${script} $<TARGET_FILE:kfk>)
    set(env "KAFKA_TEST_BROKER_BIN=$<TARGET_FILE:kafka_test_broker>;KFK_BUILD_DIR=${PROJECT_BINARY_DIR}")
    if(TARGET kafka-mock)
      list(APPEND env "KAFKA_MOCK_BIN=$<TARGET_FILE:kafka-mock>")
    endif()
    set_tests_properties(kfk/${name} PROPERTIES LABELS integration TIMEOUT 300 SKIP_RETURN_CODE 77
      ENVIRONMENT "${env}")
  endforeach()
endif()

# kfk's JSON reading and writing, without a broker (cmocka, label unit).
if(TARGET kfk)
  add_executable(kfk_unit_json ${PROJECT_SOURCE_DIR}/tests/kfk/unit_json.c
                 ${PROJECT_SOURCE_DIR}/tools/kfk/json_in.c ${PROJECT_SOURCE_DIR}/tools/kfk/json.c)
  target_include_directories(kfk_unit_json PRIVATE ${PROJECT_SOURCE_DIR}/tools/kfk)
  target_compile_options(kfk_unit_json PRIVATE ${KAFKA_WARNINGS} -Wno-missing-prototypes)
  target_link_libraries(kfk_unit_json PRIVATE kafka_testsupport)
  add_test(NAME kfk/unit_json COMMAND ${PROJECT_SOURCE_DIR}/tests/support/run_cmocka.sh $<TARGET_FILE:kfk_unit_json>)
  set_tests_properties(kfk/unit_json PROPERTIES LABELS unit TIMEOUT 120
    ENVIRONMENT "CMOCKA_MESSAGE_OUTPUT=stdout" SKIP_RETURN_CODE 77)
endif()
