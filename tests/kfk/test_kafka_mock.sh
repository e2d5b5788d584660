#!/bin/sh
# kfk against kafka-mock (tools/kafka-mock), a broker with TLS listeners
# and SASL (PLAIN, SCRAM) and the admin APIs the test broker lacks: every
# verb runs over TLS + SASL here, end to end (produce, consume with and
# without a group, metadata, and the admin verbs when kfk has them).
# Needs KAFKA_MOCK_BIN (set by tests/cmake/kfk.cmake when kafka-mock is
# built); skipped otherwise.
. "$(dirname "$0")/lib.sh"
[ -n "${KAFKA_MOCK_BIN:-}" ] && [ -x "$KAFKA_MOCK_BIN" ] || skip "kafka-mock not built (KAFKA_MOCK_BIN)"
[ -z "${KAFKA_BROKERS:-}" ] || skip "needs its own kafka-mock (KAFKA_BROKERS is set)"

P="$WORK/pki"
make_pki "$P"

# kafka-mock runs until its stdin closes: a FIFO held open by fd 4.
mkfifo "$WORK/ctl"
"$KAFKA_MOCK_BIN" --brokers 3 --user 'alice:s3cret pw' --tls-cert "$P/srv.pem" --tls-key "$P/srv.key" \
    --topic sec:3 --no-auto-create <"$WORK/ctl" >"$WORK/mock.out" 2>"$WORK/mock.err" &
MOCK=$!
exec 4>"$WORK/ctl"
EXTRA_CLEANUP='exec 4>&-; wait $MOCK 2>/dev/null || true'
i=0
while [ ! -s "$WORK/mock.out" ] && [ $i -lt 200 ]; do
    kill -0 $MOCK 2>/dev/null || { show "$WORK/mock.err"; fail "kafka-mock exited"; }
    sleep 0.05
    i=$((i + 1))
done
B=$(head -1 "$WORK/mock.out")
[ -n "$B" ] || fail "kafka-mock printed no bootstrap list"

cat >"$WORK/kfk.conf" <<CONF
bootstrap.servers=$B
security.protocol=SASL_SSL
ssl.ca.location=$P/ca.pem
sasl.mechanism=SCRAM-SHA-512
sasl.username=alice
sasl.password=s3cret pw
CONF
k() { kfk -F "$WORK/kfk.conf" "$@"; }

# Metadata over TLS + SCRAM-SHA-512; PLAIN and SCRAM-SHA-256 too.
k metadata --json >"$WORK/md.json" || fail "metadata over TLS + SASL"
json_ok "$WORK/md.json"
python3 - "$WORK/md.json" <<'PY' || { show "$WORK/md.json"; fail "metadata content"; }
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["brokers"]) == 3, d["brokers"]
t = [x for x in d["topics"] if x["name"] == "sec"]
assert len(t) == 1 and len(t[0]["partitions"]) == 3, d["topics"]
PY
for mech in PLAIN SCRAM-SHA-256; do
    k -X "sasl.mechanism=$mech" metadata -t sec >/dev/null || fail "metadata with $mech"
done
expect_status 1 k -X 'sasl.password=wrong' metadata 2>"$WORK/err"
grep -qi "authentication failed" "$WORK/err" || { show "$WORK/err"; fail "wrong password message"; }
expect_status 1 kfk -b "$B" --ca "$P/other.pem" --sasl-mechanism PLAIN --sasl-user alice --sasl-password x \
    metadata 2>/dev/null

# Produce and consume over TLS + SASL: keys, headers, zstd; every
# partition; a group.
seq 1 300 | sed 's/^/key&:value /' >"$WORK/in"
k produce sec -K : -H via=tls-sasl -z zstd <"$WORK/in" || fail "produce over TLS + SASL"
k consume sec -e -f '%k:%s|%h\n' | sort >"$WORK/out" || fail "consume over TLS + SASL"
sed 's/$/|via=tls-sasl/' "$WORK/in" | sort | cmp - "$WORK/out" || fail "consume: not what was produced"
k consume sec -g tls-group -e --json >"$WORK/group.json" || fail "consume -g over TLS + SASL"
json_lines_ok "$WORK/group.json"
[ "$(wc -l <"$WORK/group.json")" -eq 300 ] || fail "group read $(wc -l <"$WORK/group.json") of 300"
expect_status 1 k consume nosuch -e 2>/dev/null

# The admin verbs, when kfk has them.
if "$KFK" --help | grep -q "^  topic "; then
    k topic create made --partitions 6 --json >"$WORK/create.json" || fail "topic create --partitions 6"
    json_ok "$WORK/create.json"
    k metadata -t made | grep -q 'topic "made" with 6 partitions' || fail "created topic has not 6 partitions"
    seq 1 10 | k produce made -p 2 || fail "produce made"
    k group lag tls-group --json >"$WORK/lag.json" || fail "group lag"
    json_ok "$WORK/lag.json"
    python3 - "$WORK/lag.json" <<'PY' || { show "$WORK/lag.json"; fail "group lag after reading everything"; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["group"] == "tls-group" and d["total"] == 0, d
assert sum(p["end"] for p in d["partitions"] if p["topic"] == "sec") == 300, d
PY
    k offsets made -p 2 --json >"$WORK/off.json" || fail "offsets"
    python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["partitions"]; assert p[0]["end"] == 10, p' \
        "$WORK/off.json" || fail "offsets content"
    # delete-records: partition 2 of made starts at 4 afterwards.
    k delete-records made -p 2 --before 4 --json >"$WORK/dr.json" || fail "delete-records"
    python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["partitions"]; assert p == [{"partition": 2, "low_watermark": 4, "error": None}], p' \
        "$WORK/dr.json" || { show "$WORK/dr.json"; fail "delete-records content"; }
    k offsets made -p 2 >"$WORK/off.txt" || fail "offsets after delete-records"
    printf 'made\t2\tstart 4\tend 10\n' | cmp - "$WORK/off.txt" || { show "$WORK/off.txt"; fail "offsets text"; }
    k topic alter-config made --set retention.ms=60000 >/dev/null || fail "topic alter-config"
    k topic describe made sec --json >"$WORK/desc.json" || fail "topic describe"
    json_ok "$WORK/desc.json"
    # Groups: list, describe, delete (tls-group has no members now).
    k group list --json >"$WORK/groups.json" || fail "group list"
    python3 -c 'import json,sys; g={x["group"]: x for x in json.load(open(sys.argv[1]))["groups"]}; assert g["tls-group"]["state"] == "Empty", g' \
        "$WORK/groups.json" || { show "$WORK/groups.json"; fail "group list content"; }
    k group describe tls-group --json >"$WORK/gd.json" || fail "group describe"
    json_ok "$WORK/gd.json"
    expect_status 1 k group describe nosuch-group 2>"$WORK/err" >/dev/null
    grep -q "nosuch-group: does not exist" "$WORK/err" || { show "$WORK/err"; fail "describe of a missing group"; }
    k group delete tls-group >/dev/null || fail "group delete"
    k group list >"$WORK/groups.txt" || fail "group list (text)"
    if grep -q "^tls-group" "$WORK/groups.txt"; then fail "deleted group still listed"; fi
    # ACLs: create, list, delete.
    acl="--resource-type topic --resource sec --principal User:bob --operation read"
    # shellcheck disable=SC2086
    k acl create $acl >"$WORK/acl.txt" || fail "acl create"
    grep -q "created: allow topic:sec literal User:bob from \*: read" "$WORK/acl.txt" || { show "$WORK/acl.txt"; fail "acl create text"; }
    k acl list --principal User:bob --json >"$WORK/acls.json" || fail "acl list"
    python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["acls"]; assert len(a) == 1 and a[0]["operation"] == "read", a' \
        "$WORK/acls.json" || { show "$WORK/acls.json"; fail "acl list content"; }
    k acl delete --principal User:bob --json >"$WORK/acld.json" || fail "acl delete"
    k acl list --principal User:bob --json | grep -q '"acls":\[\]' || fail "acl still there after delete"
    k topic delete made --json >"$WORK/del.json" || fail "topic delete"
    json_ok "$WORK/del.json"
    expect_status 1 k metadata -t made 2>/dev/null
fi

echo "ok: kfk on kafka-mock over TLS and SASL"
