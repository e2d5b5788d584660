# The admin suites also run on kafka-mock (KAFKA_TEST_BROKER=kafka_mock),
# which serves what librdkafka's mock lacks (CreateTopics, DescribeConfigs,
# ACLs, SCRAM, group administration...): there their skipped tests run.
# Inert until the kafka-mock program is part of the build.
if(TARGET kafka-mock)
  foreach(area topics offsets cluster groups configs acls scram replicas txn quotas failmalloc)
    set(t integration/test_admin_${area})
    add_test(NAME kafka_mock/${t}
             COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/support/run_cmocka.sh $<TARGET_FILE:integration_test_admin_${area}>)
    set_tests_properties(kafka_mock/${t} PROPERTIES LABELS interop TIMEOUT 600 SKIP_RETURN_CODE 77
                         ENVIRONMENT "CMOCKA_MESSAGE_OUTPUT=stdout;KAFKA_TEST_BROKER=kafka_mock")
  endforeach()
endif()
