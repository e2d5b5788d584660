# Version and ABI of the shared library (the policy is written down in
# include/kafka/kafka.h, ABI section, and in README.md, "Versions and ABI").
#
# One version source: project(libkafka VERSION x.y.z) in CMakeLists.txt.
# From it come
#   - include/kafka/version.h (generated into the build tree, installed),
#   - the soname: while the major version is 0, every minor release may
#     change the ABI (public structs are nested and kafka_message is passed
#     in arrays, so no size field could protect them), so the soname carries
#     major.minor: libkafka.so.0.1, libkafka.so.0.2, ...; from 1.0 on it is
#     the major version alone,
#   - the symbol version node of every exported function (LIBKAFKA_<soname
#     version>, cmake/libkafka.map.in),
#   - the Debian binary package name (libkafka<soname version>; debian/ and
#     tests/release/check_versions.sh keep the two in step).
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(KAFKA_SOVERSION "${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}")
else()
  set(KAFKA_SOVERSION "${PROJECT_VERSION_MAJOR}")
endif()

set(KAFKA_GENERATED_INCLUDE_DIR ${PROJECT_BINARY_DIR}/include)
configure_file(${PROJECT_SOURCE_DIR}/include/kafka/version.h.in
  ${KAFKA_GENERATED_INCLUDE_DIR}/kafka/version.h @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/cmake/libkafka.map.in
  ${PROJECT_BINARY_DIR}/libkafka.map @ONLY)

# Applies the soname and the symbol version script to the shared library.
function(kafka_set_abi target)
  set_target_properties(${target} PROPERTIES
    VERSION ${PROJECT_VERSION} SOVERSION ${KAFKA_SOVERSION}
    LINK_DEPENDS ${PROJECT_BINARY_DIR}/libkafka.map)
  target_link_options(${target} PRIVATE
    "LINKER:--version-script=${PROJECT_BINARY_DIR}/libkafka.map" "LINKER:--no-undefined")
endfunction()
