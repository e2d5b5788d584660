#!/bin/sh
# kfk's errors and exit codes: usage errors exit 2, broker and data errors
# exit 1 with the reason on stderr, and nothing hangs (every run is bounded
# by `timeout`, which would exit 124).
. "$(dirname "$0")/lib.sh"

start_broker -t t:2:1 -t leaderless:2:1

# Usage errors: exit 2, with a reason.
expect_status 2 kfk -b "$B" consume t -p abc 2>"$WORK/err"
grep -q "bad partition 'abc'" "$WORK/err" || { show "$WORK/err"; fail "-p abc message"; }
expect_status 2 kfk -b "$B" produce t -p -1 2>/dev/null </dev/null
expect_status 2 kfk -b "$B" consume t -o sometime 2>/dev/null
expect_status 2 kfk -b "$B" consume t -c 0 2>/dev/null
expect_status 2 kfk -b "$B" consume t -f '%q' 2>/dev/null
expect_status 2 kfk -b "$B" consume t -g G -p 1 2>/dev/null
expect_status 2 kfk -b "$B" consume t -g G -o 5 2>/dev/null
expect_status 2 kfk -b "$B" consume 2>/dev/null
expect_status 2 kfk -b "$B" produce t -z brotli 2>/dev/null </dev/null
expect_status 2 kfk -b "$B" produce t -H novalue 2>/dev/null </dev/null
expect_status 2 kfk -b "$B" metadata --bogus 2>/dev/null
expect_status 2 kfk -b "$B" frobnicate 2>/dev/null
expect_status 2 kfk metadata 2>"$WORK/err"
grep -q "no brokers" "$WORK/err" || fail "missing -b message"
expect_status 2 kfk -b "$B" -X no.such.setting=1 metadata 2>"$WORK/err"
grep -q "unknown setting 'no.such.setting'" "$WORK/err" || fail "unknown -X setting message"
expect_status 2 kfk -b "$B" -X sasl.mechanism=GSSAPI metadata 2>/dev/null
expect_status 2 kfk -b "$B" --sasl-mechanism PLAIN metadata 2>"$WORK/err"
grep -q "sasl.username" "$WORK/err" || fail "SASL without user message"
expect_status 2 kfk -b "$B" -X security.protocol=plaintext --ca /dev/null metadata 2>/dev/null
expect_status 2 kfk -b "$B" -F "$WORK/no-such-file" metadata 2>/dev/null
expect_status 0 kfk --help >/dev/null
expect_status 0 kfk consume --help >/dev/null
expect_status 0 kfk --version >/dev/null

# Verbs this build lacks: a clear error, exit 1 (the admin verbs when kfk
# was built without kafka/admin.h).
missing=""
"$KFK" --help | grep -q "^  topic " || missing="acl topic group offsets delete-records"
for verb in $missing; do
    expect_status 1 kfk -b "$B" $verb list 2>"$WORK/err"
    grep -q "not implemented yet" "$WORK/err" || { show "$WORK/err"; fail "$verb message"; }
done

# A broker that refuses connections: reported at once, with the reason.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
for verb in "metadata" "consume t -e" "produce t"; do
    # shellcheck disable=SC2086
    expect_status 1 kfk -b "127.0.0.1:$PORT" --connect-timeout 3000 $verb 2>"$WORK/err" </dev/null
    grep -q "Connection refused" "$WORK/err" || { show "$WORK/err"; fail "$verb: no 'Connection refused'"; }
done

# A topic or partition that does not exist: an error, not a hang (and no
# topic gets auto-created by asking).
expect_status 1 kfk -b "$B" consume nosuch -e 2>"$WORK/err"
grep -q "topic 'nosuch' does not exist" "$WORK/err" || { show "$WORK/err"; fail "missing topic message"; }
expect_status 1 kfk -b "$B" consume t -p 5 2>"$WORK/err"
grep -q "partition 5 of topic 't' does not exist" "$WORK/err" || { show "$WORK/err"; fail "missing partition"; }
expect_status 1 kfk -b "$B" consume nosuch -g G -e 2>/dev/null
expect_status 1 kfk -b "$B" produce nosuch 2>/dev/null </dev/null
expect_status 1 kfk -b "$B" produce t -p 2 2>/dev/null </dev/null
expect_status 1 kfk -b "$B" metadata -t nosuch 2>/dev/null
# A partition without a leader: named in the error, not waited for forever.
broker_cmd leader leaderless 1 -1
expect_status 1 kfk -b "$B" consume leaderless -e 2>"$WORK/err"
grep -q "leaderless \[1\]: leader not available" "$WORK/err" || { show "$WORK/err"; fail "leaderless message"; }
kfk -b "$B" metadata >"$WORK/md" || fail "metadata"
if grep -q nosuch "$WORK/md"; then fail "a look-up created topic nosuch"; fi

# Settings from a -F file (kcat-style names) and -X; comments and blanks.
cat >"$WORK/kfk.conf" <<CONF
# comment
bootstrap.servers=$B

client.id = kfk-test
  socket.connection.setup.timeout.ms=5000
CONF
kfk -F "$WORK/kfk.conf" metadata -t t >"$WORK/md" || fail "metadata with -F"
grep -q 'topic "t" with 2 partitions' "$WORK/md" || { show "$WORK/md"; fail "-F metadata output"; }
kfk metadata -t t -X "bootstrap.servers=$B" >/dev/null || fail "metadata with -X after the verb"
printf 'bootstrap.servers=%s\nsasl.mechanism=PLAIN\n' "$B" >"$WORK/bad.conf"
expect_status 2 kfk -F "$WORK/bad.conf" metadata 2>"$WORK/err"
grep -q "line 2" "$WORK/err" && fail "a valid line was blamed" || true
printf 'bootstrap.servers=%s\nfoo=bar\n' "$B" >"$WORK/bad.conf"
expect_status 2 kfk -F "$WORK/bad.conf" metadata 2>"$WORK/err"
grep -q "line 2" "$WORK/err" || { show "$WORK/err"; fail "bad line number"; }

echo "ok: kfk errors and settings"
