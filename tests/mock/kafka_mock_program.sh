#!/bin/sh
# The kafka-mock program's contract (tools/kafka-mock): the bootstrap list
# is the first line of stdout, commands answer "ok"/"err ...", and it exits
# 0 on quit, on end of input and on SIGTERM, 2 on a usage error.
# Usage: kafka_mock_program.sh /path/to/kafka-mock
set -eu
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# usage error
set +e
"$bin" --brokers 0 >/dev/null 2>&1; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "--brokers 0 exited $rc, not 2"

# commands, then quit
printf 'ping\nnonsense\ntopic t 3\ntopic t 3\nleader t 0 2\ndown 2\nup 2\nerror Produce NOT_LEADER_OR_FOLLOWER\nbroker_error_count 1 Produce\nquit\n' |
    "$bin" --brokers 2 --topic pre:2 >"$tmp/out"
first=$(head -1 "$tmp/out")
echo "$first" | grep -Eq '^127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+$' || fail "first line '$first' is not a bootstrap list"
tail -n +2 "$tmp/out" >"$tmp/answers"
cat >"$tmp/want" <<'W'
ok
err unknown or unsupported command 'nonsense'
ok
err topic: TOPIC_ALREADY_EXISTS (36)
ok
ok
ok
ok
ok 0
ok
W
diff -u "$tmp/want" "$tmp/answers" || fail "answers differ"

# end of input
"$bin" </dev/null >/dev/null || fail "EOF on stdin: exit $?"

# SIGTERM while it waits for commands
mkfifo "$tmp/in"
"$bin" <"$tmp/in" >"$tmp/out2" &
pid=$!
exec 3>"$tmp/in"
i=0
while [ ! -s "$tmp/out2" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$tmp/out2" ] || fail "no bootstrap line within 10 s"
kill -TERM "$pid"
set +e
wait "$pid"; rc=$?
set -e
exec 3>&-
[ "$rc" -eq 0 ] || fail "SIGTERM: exit $rc"
echo "PASS"
