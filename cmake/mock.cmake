# libkafka-mock: the fake Kafka cluster (src/mock/, include/kafka/mock.h)
# and the kafka-mock program, built on libkafka's protocol layer.
#
# The shared library carries its own copy of libkafka's objects, because
# libkafka.so exports only the public API, not the protocol internals the
# mock is built on; a version script keeps everything but kafka_mock_*
# local, so it never clashes with the libkafka.so an application also
# links. The static library holds the mock alone and links kafka_static.
file(GLOB KAFKA_MOCK_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/mock/*.c)

add_library(kafka_mock_objects OBJECT ${KAFKA_MOCK_SOURCES})
target_compile_options(kafka_mock_objects PRIVATE ${KAFKA_WARNINGS})
target_compile_definitions(kafka_mock_objects PRIVATE KAFKA_BUILDING _GNU_SOURCE)
target_link_libraries(kafka_mock_objects PRIVATE PkgConfig::OPENSSL)
target_include_directories(kafka_mock_objects
  PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
  PRIVATE ${PROJECT_SOURCE_DIR}/src)

set(KAFKA_MOCK_VERSION_SCRIPT ${PROJECT_BINARY_DIR}/kafka_mock.map)
file(WRITE ${KAFKA_MOCK_VERSION_SCRIPT} "{ global: kafka_mock_*; local: *; };\n")

add_library(kafka_mock SHARED $<TARGET_OBJECTS:kafka_mock_objects> $<TARGET_OBJECTS:kafka_objects>)
target_include_directories(kafka_mock PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(kafka_mock PRIVATE ${KAFKA_PRIVATE_LIBS} m)
target_link_options(kafka_mock PRIVATE "LINKER:--version-script=${KAFKA_MOCK_VERSION_SCRIPT}" "LINKER:--no-undefined")
set_target_properties(kafka_mock PROPERTIES OUTPUT_NAME kafka-mock
  VERSION ${PROJECT_VERSION} SOVERSION ${KAFKA_SOVERSION} EXPORT_NAME kafka_mock
  LINK_DEPENDS ${KAFKA_MOCK_VERSION_SCRIPT})

add_library(kafka_mock_static STATIC $<TARGET_OBJECTS:kafka_mock_objects>)
target_include_directories(kafka_mock_static PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_definitions(kafka_mock_static INTERFACE KAFKA_MOCK_STATIC)
target_link_libraries(kafka_mock_static PUBLIC kafka_static)
set_target_properties(kafka_mock_static PROPERTIES OUTPUT_NAME kafka-mock EXPORT_NAME kafka_mock_static)

add_library(libkafka::kafka_mock ALIAS kafka_mock)
add_library(libkafka::kafka_mock_static ALIAS kafka_mock_static)

add_executable(kafka-mock ${PROJECT_SOURCE_DIR}/tools/kafka-mock/kafka_mock_main.c
  ${PROJECT_SOURCE_DIR}/tools/kafka-mock/commands.c)
target_compile_options(kafka-mock PRIVATE ${KAFKA_WARNINGS})
target_compile_definitions(kafka-mock PRIVATE _GNU_SOURCE)
target_include_directories(kafka-mock PRIVATE ${PROJECT_SOURCE_DIR}/tools/kafka-mock)
target_link_libraries(kafka-mock PRIVATE kafka_mock_static)

# The mock's targets are an export set of their own (libkafkaMockTargets,
# which libkafkaConfig.cmake includes when present), so libkafka's CMake
# package works without the mock installed (the Debian packages split them:
# libkafka-dev, libkafka-mock-dev).
install(TARGETS kafka_mock EXPORT libkafkaMockTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS kafka_mock_static EXPORT libkafkaMockTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT libkafkaMockTargets NAMESPACE libkafka::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/libkafka)
install(FILES ${PROJECT_SOURCE_DIR}/include/kafka/mock.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/kafka)
install(TARGETS kafka-mock RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/tools/kafka-mock/kafka-mock.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
configure_file(cmake/libkafka-mock.pc.in ${PROJECT_BINARY_DIR}/libkafka-mock.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/libkafka-mock.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
