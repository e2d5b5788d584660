# Installs the library into a temp prefix and links a small program against
# it through pkg-config and find_package (not in sanitizer builds: the
# program is built without the sanitizer runtime).
if(NOT KAFKA_SANITIZE AND NOT KAFKA_SANITIZE_THREAD AND NOT KAFKA_BUILD_FUZZ)
  add_test(NAME install/pkgconfig_and_find_package
           COMMAND ${PROJECT_SOURCE_DIR}/tests/install/run.sh ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  set_tests_properties(install/pkgconfig_and_find_package PROPERTIES LABELS install TIMEOUT 300)
endif()
