#!/bin/sh
# kfk consume -g GROUP: the group reads every partition once and commits
# what it printed, so a second run of the same group prints only what was
# produced since. (On the test broker a group whose member just left takes
# about 30 s to accept a new member: librdkafka's mock waits out a
# rebalance. kcat -G shows the same delay there.)
. "$(dirname "$0")/lib.sh"
T=120

start_broker -t g:3:1
seq 1 300 | kfk -b "$B" produce g || fail "produce"
kfk -b "$B" consume g -g grp -e >"$WORK/first" || fail "consume -g -e"
sort -n "$WORK/first" | cmp - "$(seq 1 300 >"$WORK/exp"; echo "$WORK/exp")" || fail "group run 1: not 1..300 once each"

seq 301 305 | kfk -b "$B" produce g || fail "produce 2"
kfk -b "$B" consume g -g grp -e --json >"$WORK/second" || fail "consume -g -e (2)"
json_lines_ok "$WORK/second"
python3 - "$WORK/second" <<'PY' || { show "$WORK/second"; fail "group run 2: expected only 301..305"; }
import json, sys
vals = sorted(int(json.loads(l)["value"]) for l in open(sys.argv[1]))
assert vals == [301, 302, 303, 304, 305], vals
PY
echo "ok: kfk consume -g"
