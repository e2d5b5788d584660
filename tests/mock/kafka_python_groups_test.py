#!/usr/bin/python3
"""kafka-python (Debian python3-kafka, a client that is not ours) against
kafka-mock's group coordinator: two consumers of one group split a topic's
partitions between them (JoinGroup, SyncGroup, Heartbeat as kafka-python
speaks them), commit, and the admin client lists the group, describes its
two members and their assignments, reads the committed offsets, sees the
group empty once the consumers have left, and deletes it. Exit 0 = pass,
1 = fail, 77 = skipped (kafka-python missing).

usage: kafka_python_groups_test.py /path/to/kafka-mock
"""
import subprocess
import sys
import threading
import time

try:
    import kafka
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka import ConsumerRebalanceListener
    from kafka.admin import NewTopic
except ImportError as e:
    print("skipped: kafka-python is not installed (%s)" % e)
    sys.exit(77)

TOPIC = "kafka-python-group-topic"
GROUP = "kafka-python-group"
PARTITIONS = 4
MESSAGES = 200


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


class Progress(ConsumerRebalanceListener):
    """Next offset each member has read up to in each partition of its
    current assignment. A member that joins after the other has read
    everything is handed partitions with no committed offset: it starts
    them again at the earliest offset (position 0), as it would on Kafka,
    so its progress on them restarts at every assignment."""

    def __init__(self, lock):
        self.lock = lock
        self.read_to = {}

    def on_partitions_revoked(self, revoked):
        with self.lock:
            self.read_to = {}

    def on_partitions_assigned(self, assigned):
        with self.lock:
            self.read_to = {}

    def all_read(self, owned):
        return all(self.read_to.get(tp, 0) == MESSAGES // PARTITIONS for tp in owned)


def consumer(bootstrap):
    return KafkaConsumer(group_id=GROUP, bootstrap_servers=bootstrap,
                         auto_offset_reset="earliest", enable_auto_commit=False,
                         session_timeout_ms=10000, heartbeat_interval_ms=1000,
                         max_poll_interval_ms=30000)


def split_and_consume(consumers):
    """Polls every member in a thread of its own (a kafka-python poll
    blocks while its member joins, and the join waits for the other member
    to rejoin) until they hold disjoint halves of the partitions, every
    message has been read, and each member has read its own partitions to
    the end (what it commits afterwards is its position: without the last
    condition a member that got its half in a later generation would commit
    position 0 for partitions it had not read yet). Returns the
    assignments."""
    seen = {}
    lock = threading.Lock()
    stop = threading.Event()
    progress = [Progress(lock) for _ in consumers]
    for c, p in zip(consumers, progress):
        c.subscribe([TOPIC], listener=p)

    def loop(c, p):
        while not stop.is_set():
            for tp, records in c.poll(timeout_ms=200).items():
                with lock:
                    for r in records:
                        seen[r.value] = True
                        p.read_to[tp] = r.offset + 1

    threads = [threading.Thread(target=loop, args=(c, p)) for c, p in zip(consumers, progress)]
    for t in threads:
        t.start()
    deadline = time.time() + 90
    owned = []
    try:
        while time.time() < deadline:
            time.sleep(0.2)
            owned = [set(c.assignment()) for c in consumers]
            with lock:
                count = len(seen)
                all_read = all(p.all_read(a) for p, a in zip(progress, owned))
            if (count == MESSAGES and all_read and all(len(a) == PARTITIONS // 2 for a in owned)
                    and not (owned[0] & owned[1])):
                break
    finally:
        stop.set()
        for t in threads:
            t.join()
    owned = [set(c.assignment()) for c in consumers]
    if len(seen) != MESSAGES or any(len(a) != PARTITIONS // 2 for a in owned) or owned[0] & owned[1]:
        fail("no split: %d of %d messages, assignments %s" % (len(seen), MESSAGES, owned))
    if not all(p.all_read(a) for p, a in zip(progress, owned)):
        fail("a member has not read its own partitions to the end: %s"
             % [p.read_to for p in progress])
    return owned


def run(bootstrap):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    admin.create_topics([NewTopic(TOPIC, num_partitions=PARTITIONS, replication_factor=1)])
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i in range(MESSAGES):
        producer.send(TOPIC, value=b"m%03d" % i, partition=i % PARTITIONS)
    producer.flush()
    producer.close()

    consumers = [consumer(bootstrap), consumer(bootstrap)]
    owned = split_and_consume(consumers)
    print("two members split %d partitions: %s" % (PARTITIONS, owned))
    for c in consumers:
        c.commit()

    groups = admin.list_consumer_groups()
    if (GROUP, "consumer") not in groups:
        fail("ListGroups: %s" % groups)
    (info,) = admin.describe_consumer_groups([GROUP])
    print("DescribeGroups: state %s, protocol %s, %d members" % (info.state, info.protocol,
                                                                 len(info.members)))
    if info.state != "Stable" or info.protocol_type != "consumer" or len(info.members) != 2:
        fail("DescribeGroups: %s" % (info,))
    described = set()
    for m in info.members:
        tps = m.member_assignment.assignment if m.member_assignment else []
        for topic, parts in tps:
            described.update(TopicPartition(topic, p) for p in parts)
    if described != owned[0] | owned[1]:
        fail("described assignments %s, consumers own %s" % (described, owned))

    offsets = admin.list_consumer_group_offsets(GROUP)
    total = sum(om.offset for tp, om in offsets.items() if tp.topic == TOPIC)
    if len(offsets) != PARTITIONS or total != MESSAGES:
        fail("OffsetFetch: %s" % offsets)

    for c in consumers:
        c.close()  # LeaveGroup
    (info,) = admin.describe_consumer_groups([GROUP])
    if info.state != "Empty" or info.members:
        fail("after both left: %s" % (info,))
    # the committed offsets outlive the members
    if len(admin.list_consumer_group_offsets(GROUP)) != PARTITIONS:
        fail("offsets lost when the group emptied")
    result = dict(admin.delete_consumer_groups([GROUP]))
    if result.get(GROUP) is None or result[GROUP].errno != 0:
        fail("DeleteGroups: %s" % result)
    if admin.list_consumer_group_offsets(GROUP):
        fail("offsets left after DeleteGroups")
    admin.close()


if __name__ == "__main__":
    main()
