#!/usr/bin/env python3
"""Captures record batches exactly as librdkafka (through kcat) encodes them.

Not part of the build: run once by hand, output committed under tests/data/.

  python3 tests/data/capture/capture.py tests/data

1. Starts a librdkafka mock cluster (1 broker) through ctypes.
2. For each codec, pipes tests/data/capture/input.txt into
   `kcat -P -z <codec> -K : -H h1=v1 -H h2=` with linger so all lines form
   one batch (plus one idempotent and one transactional run).
3. Fetches the partition with a hand-written Fetch v4 request and stores the
   raw `records` bytes of the response as <name>.records (the mock broker
   stores and returns the batches byte for byte as the producer sent them).
4. Stores kcat's own consumer view (-J, decoded by librdkafka) as
   <name>.kcat.json, from which the timestamps in the tests were copied.
"""
import ctypes, json, os, socket, struct, subprocess, sys, time

out_dir = sys.argv[1] if len(sys.argv) > 1 else "."
here = os.path.dirname(os.path.abspath(__file__))
rk_lib = ctypes.CDLL("librdkafka.so.1")
rk_lib.rd_kafka_conf_new.restype = ctypes.c_void_p
rk_lib.rd_kafka_new.restype = ctypes.c_void_p
rk_lib.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
rk_lib.rd_kafka_mock_cluster_new.restype = ctypes.c_void_p
rk_lib.rd_kafka_mock_cluster_new.argtypes = [ctypes.c_void_p, ctypes.c_int]
rk_lib.rd_kafka_mock_cluster_bootstraps.restype = ctypes.c_char_p
rk_lib.rd_kafka_mock_cluster_bootstraps.argtypes = [ctypes.c_void_p]
rk_lib.rd_kafka_mock_topic_create.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]

errbuf = ctypes.create_string_buffer(512)
rk = rk_lib.rd_kafka_new(0, rk_lib.rd_kafka_conf_new(), errbuf, 512)
mc = rk_lib.rd_kafka_mock_cluster_new(rk, 1)
bootstrap = rk_lib.rd_kafka_mock_cluster_bootstraps(mc).decode()
host, port = bootstrap.split(",")[0].rsplit(":", 1)


def fetch_records(topic):
    t = topic.encode()
    body = struct.pack(">iiiib", -1, 100, 1, 16 << 20, 0)
    body += struct.pack(">ih", 1, len(t)) + t
    body += struct.pack(">iiqi", 1, 0, 0, 16 << 20)
    hdr = struct.pack(">hhih", 1, 4, 7, 7) + b"capture"
    req = hdr + body
    s = socket.create_connection((host, int(port)))
    s.sendall(struct.pack(">i", len(req)) + req)
    def readn(n):
        b = b""
        while len(b) < n:
            c = s.recv(n - len(b))
            if not c:
                raise EOFError
            b += c
        return b
    size, = struct.unpack(">i", readn(4))
    resp = readn(size)
    s.close()
    p = 4 + 4  # correlation id, throttle time
    ntopics, = struct.unpack_from(">i", resp, p); p += 4
    assert ntopics == 1
    tl, = struct.unpack_from(">h", resp, p); p += 2 + tl
    nparts, = struct.unpack_from(">i", resp, p); p += 4
    assert nparts == 1
    part, err, hw, lso = struct.unpack_from(">ihqq", resp, p); p += 22
    assert err == 0, err
    naborted, = struct.unpack_from(">i", resp, p); p += 4
    if naborted > 0:
        p += 16 * naborted
    rlen, = struct.unpack_from(">i", resp, p); p += 4
    return resp[p:p + rlen]


runs = [
    ("none", ["-z", "none"]),
    ("gzip", ["-z", "gzip"]),
    ("snappy", ["-z", "snappy"]),
    ("lz4", ["-z", "lz4"]),
    ("zstd", ["-z", "zstd"]),
    ("idempotent", ["-z", "none", "-X", "enable.idempotence=true"]),
    ("transactional", ["-z", "none", "-X", "transactional.id=capture-txn"]),
]
with open(os.path.join(here, "input.txt"), "rb") as f:
    data = f.read()
for name, extra in runs:
    topic = "t-" + name
    rk_lib.rd_kafka_mock_topic_create(mc, topic.encode(), 1, 1)
    cmd = ["kcat", "-P", "-b", bootstrap, "-t", topic, "-p", "0", "-K", ":",
           "-H", "h1=v1", "-H", "h2=", "-X", "linger.ms=500"] + extra
    subprocess.run(cmd, input=data, check=True)
    time.sleep(0.2)
    recs = fetch_records(topic)
    with open(os.path.join(out_dir, name + ".records"), "wb") as f:
        f.write(recs)
    js = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", topic, "-p", "0", "-e", "-J",
                         "-X", "check.crcs=true", "-X", "isolation.level=read_uncommitted"],
                        check=True, capture_output=True).stdout
    with open(os.path.join(out_dir, name + ".kcat.json"), "wb") as f:
        f.write(js)
    print(name, len(recs), "bytes")
