# Smoke test of the benchmark programs (bench/smoke.sh): every mode of both
# clients runs once with a tiny N against a private test broker and must
# print a well-formed result line. Behaviour only: no timing is asserted
# (benchmarks are run by bench/run.sh, never as timed tests).
if(KAFKA_BUILD_BENCH AND CMAKE_SYSTEM_NAME STREQUAL "Linux")
  add_test(NAME bench/smoke
    COMMAND sh ${PROJECT_SOURCE_DIR}/bench/smoke.sh $<TARGET_FILE:bench_libkafka> $<TARGET_FILE:bench_rdkafka>
            $<TARGET_FILE:bench_malloc_count>)
  set_tests_properties(bench/smoke PROPERTIES LABELS bench TIMEOUT 60
    ENVIRONMENT "KAFKA_TEST_BROKER_BIN=$<TARGET_FILE:kafka_test_broker>")
endif()
