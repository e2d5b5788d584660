#!/usr/bin/python3
"""kafka-python (Debian python3-kafka, a client that is not ours) against
kafka-mock: the admin client creates a topic, a producer writes to it with
every codec kafka-python can use here, a consumer reads everything back in
order, and the admin client deletes the topic. Exit 0 = pass, 1 = fail,
77 = skipped (kafka-python missing).

usage: kafka_python_test.py /path/to/kafka-mock
"""
import subprocess
import sys
import time

try:
    import kafka
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType,
                             ConfigResource, ConfigResourceType, NewTopic, ResourcePattern,
                             ResourcePatternFilter, ResourceType)
    from kafka.codec import has_gzip, has_lz4, has_snappy, has_zstd
except ImportError as e:
    print("skipped: kafka-python is not installed (%s)" % e)
    sys.exit(77)


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def main():
    mock = subprocess.Popen([sys.argv[1], "--brokers", "3"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    bootstrap = mock.stdout.readline().strip()
    if not bootstrap:
        fail("kafka-mock printed no bootstrap list")
    print("kafka-python %s against kafka-mock at %s" % (kafka.__version__, bootstrap))
    try:
        run(bootstrap)
    finally:
        mock.stdin.close()  # EOF: kafka-mock exits
        code = mock.wait(timeout=20)
    if code != 0:
        fail("kafka-mock exit status %d" % code)
    print("PASS")


def run(bootstrap):
    topic = "kafka-python-topic"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=2)])
    if topic not in admin.list_topics():
        fail("created topic not listed")
    try:
        admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=2)])
        fail("creating the topic twice succeeded")
    except kafka.errors.TopicAlreadyExistsError:
        pass

    codecs = [None] + [name for name, have in (("gzip", has_gzip), ("snappy", has_snappy),
                                                ("lz4", has_lz4), ("zstd", has_zstd)) if have()]
    sent = []
    for codec in codecs:
        producer = KafkaProducer(bootstrap_servers=bootstrap, compression_type=codec, acks="all",
                                 linger_ms=5)
        for i in range(50):
            value = ("%s-%03d" % (codec or "none", i)).encode()
            producer.send(topic, key=b"k%d" % (i % 3), value=value, partition=i % 3).get(timeout=10)
            sent.append(value)
        producer.close()
    print("produced %d messages with codecs %s" % (len(sent), codecs))

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=5000)
    consumer.assign([TopicPartition(topic, p) for p in range(3)])
    got = {p: [] for p in range(3)}
    deadline = time.time() + 30
    while sum(len(v) for v in got.values()) < len(sent) and time.time() < deadline:
        for tp, records in consumer.poll(timeout_ms=1000).items():
            for r in records:
                if r.offset != len(got[tp.partition]):
                    fail("partition %d: offset %d after %d records" % (tp.partition, r.offset,
                                                                       len(got[tp.partition])))
                got[tp.partition].append(r.value)
    end = consumer.end_offsets([TopicPartition(topic, p) for p in range(3)])
    consumer.close()
    for p in range(3):
        want = [v for i, v in enumerate(sent) if i % 50 % 3 == p]
        if got[p] != want:
            fail("partition %d: read %d records, expected %d (first diff near %r)" %
                 (p, len(got[p]), len(want), next((a for a, b in zip(got[p], want) if a != b), None)))
        if end[TopicPartition(topic, p)] != len(want):
            fail("partition %d: end offset %d, expected %d" % (p, end[TopicPartition(topic, p)], len(want)))
    print("consumed all %d messages in order" % len(sent))

    # topic configs: set at creation, described, altered
    cfg_topic = "kafka-python-configs"
    admin.create_topics([NewTopic(cfg_topic, num_partitions=1, replication_factor=1,
                                  topic_configs={"cleanup.policy": "compact"})])
    if describe(admin, cfg_topic).get("cleanup.policy") != "compact":
        fail("cleanup.policy set at creation not described")
    admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, cfg_topic, configs={"retention.ms": "1000"})])
    configs = describe(admin, cfg_topic)
    if configs.get("retention.ms") != "1000" or configs.get("cleanup.policy") != "delete":
        fail("AlterConfigs did not replace the topic's configs: %r" % configs)
    print("topic configs created, described and altered")

    # ACLs: created, described with a filter, deleted
    acl = ACL(principal="User:alice", host="*", operation=ACLOperation.READ,
              permission_type=ACLPermissionType.ALLOW,
              resource_pattern=ResourcePattern(ResourceType.TOPIC, topic))
    result = admin.create_acls([acl])
    if result["failed"] or len(result["succeeded"]) != 1:
        fail("CreateAcls: %r" % (result,))
    acl_filter = ACLFilter(principal=None, host="*", operation=ACLOperation.ANY,
                           permission_type=ACLPermissionType.ANY,
                           resource_pattern=ResourcePatternFilter(ResourceType.TOPIC, topic,
                                                                  ACLResourcePatternType.LITERAL))
    acls, error = admin.describe_acls(acl_filter)
    if error.errno != 0 or len(acls) != 1 or acls[0].principal != "User:alice":
        fail("DescribeAcls: %r %r" % (acls, error))
    deleted = admin.delete_acls([acl_filter])
    if len(deleted) != 1 or len(deleted[0][1]) != 1:
        fail("DeleteAcls: %r" % (deleted,))
    acls, error = admin.describe_acls(acl_filter)
    if acls:
        fail("ACL still there after DeleteAcls: %r" % (acls,))
    print("ACLs created, described and deleted")

    admin.delete_topics([topic, cfg_topic])
    if topic in admin.list_topics() or cfg_topic in admin.list_topics():
        fail("deleted topic still listed")
    admin.close()


def describe(admin, topic):
    """The topic's configs as a dict, from DescribeConfigs."""
    responses = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    resources = responses[0].resources
    if len(resources) != 1 or resources[0][0] != 0:
        fail("DescribeConfigs failed: %r" % (resources,))
    # (error_code, error_message, resource_type, resource_name, config_entries)
    return {entry[0]: entry[1] for entry in resources[0][4]}


if __name__ == "__main__":
    main()
