/* Keeps kafka_testsupport non-empty before any helper exists. */
typedef int kafka_testsupport_empty_unit;
