# ctest reports cmocka skips as "Skipped" (tests/support/run_cmocka.sh); this
# proves it on a probe program with a skip, and with a skip and a failure.
add_executable(cmocka_skip_probe ${PROJECT_SOURCE_DIR}/tests/release/skip_probe.c)
target_compile_options(cmocka_skip_probe PRIVATE ${KAFKA_WARNINGS})
target_link_libraries(cmocka_skip_probe PRIVATE PkgConfig::CMOCKA)
add_test(NAME release/skip_report COMMAND ${PROJECT_SOURCE_DIR}/tests/release/skip_report.sh
         $<TARGET_FILE:cmocka_skip_probe>)
set_tests_properties(release/skip_report PROPERTIES LABELS unit TIMEOUT 60
  ENVIRONMENT "CMOCKA_MESSAGE_OUTPUT=stdout")
