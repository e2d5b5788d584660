# The ABI policy's check (tests/release/abi.sh): abidiff of the built shared
# library against abi/libkafka.abi. Not in sanitizer or fuzz builds (same
# types, other instrumentation); skipped (exit 77) without debug info.
find_program(ABIDIFF_EXE abidiff)
if(ABIDIFF_EXE AND NOT KAFKA_SANITIZE AND NOT KAFKA_SANITIZE_THREAD AND NOT KAFKA_BUILD_FUZZ)
  add_test(NAME release/abi COMMAND ${PROJECT_SOURCE_DIR}/tests/release/abi.sh
           ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  set_tests_properties(release/abi PROPERTIES LABELS release TIMEOUT 120 SKIP_RETURN_CODE 77)
endif()

# The files that repeat the version agree with project(VERSION).
add_test(NAME release/versions COMMAND ${PROJECT_SOURCE_DIR}/tests/release/versions.sh ${PROJECT_SOURCE_DIR})
set_tests_properties(release/versions PROPERTIES LABELS release TIMEOUT 60)
