# The code examples of README.md and the public headers compile
# (release/code_examples), and the README's usage example, run against the
# test broker, prints what the README says (release/readme_example).
if(NOT KAFKA_SANITIZE AND NOT KAFKA_SANITIZE_THREAD AND NOT KAFKA_BUILD_FUZZ)
  add_test(NAME release/code_examples COMMAND ${PROJECT_SOURCE_DIR}/tests/release/code_examples.sh
           ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  set_tests_properties(release/code_examples PROPERTIES LABELS release TIMEOUT 120)
  add_test(NAME release/readme_example COMMAND ${PROJECT_SOURCE_DIR}/tests/release/readme_example.sh
           ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  set_tests_properties(release/readme_example PROPERTIES LABELS "release;integration" TIMEOUT 120
    SKIP_RETURN_CODE 77 ENVIRONMENT "KAFKA_TEST_BROKER_BIN=$<TARGET_FILE:kafka_test_broker>")
endif()
