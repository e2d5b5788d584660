#!/bin/sh
# kfk produce and kfk consume against the test broker: every partition by
# default, -p, -o (beginning, end, N, -N, @timestamp), -c, -e, keys (-k,
# -K), headers (-H), null values (-Z), delimiters, files as input, the
# format string and --json. Expected outputs are written by hand here.
. "$(dirname "$0")/lib.sh"

start_broker -t plain:3:1 -t one:1:1 -t keyed:1:1 -t times:1:1 -t files:2:1 -t delim:1:1 -t json1:1:1 -t json2:1:1 \
    -t live:1:1

# 1. Lines from stdin over 3 partitions; consume reads every partition.
printf '%s\n' "first message" "  spaces  around  " "tab	inside" "ünïcödé ✓" >"$WORK/text"
seq 1 2000 >>"$WORK/text"
kfk -b "$B" produce plain <"$WORK/text" || fail "produce plain"
kfk -b "$B" consume plain -e >"$WORK/all" || fail "consume plain -e"
sort "$WORK/text" >"$WORK/text.sorted"
sort "$WORK/all" | cmp - "$WORK/text.sorted" || fail "consume -e: not every line came back once"
total=0
for p in 0 1 2; do
    kfk -b "$B" consume plain -p $p -e >"$WORK/p$p" || fail "consume -p $p"
    n=$(wc -l <"$WORK/p$p")
    [ "$n" -gt 0 ] || fail "partition $p is empty: the balancer did not spread the lines"
    total=$((total + n))
done
[ "$total" -eq 2004 ] || fail "partitions hold $total lines, expected 2004"

# 2. -p with offsets on a one-partition topic: 10 lines at offsets 0..9.
seq 0 9 | kfk -b "$B" produce one -p 0 || fail "produce one"
kfk -b "$B" consume one -o 7 -e >"$WORK/o7" && printf '7\n8\n9\n' | cmp - "$WORK/o7" || fail "-o 7"
kfk -b "$B" consume one -o -2 -e >"$WORK/o-2" && printf '8\n9\n' | cmp - "$WORK/o-2" || fail "-o -2"
kfk -b "$B" consume one -o -50 -e >"$WORK/o-50" && seq 0 9 | cmp - "$WORK/o-50" || fail "-o -50 (more than the log)"
kfk -b "$B" consume one -o end -e >"$WORK/oend" && [ ! -s "$WORK/oend" ] || fail "-o end -e printed something"
kfk -b "$B" consume one -o beginning -c 3 >"$WORK/c3" && printf '0\n1\n2\n' | cmp - "$WORK/c3" || fail "-c 3"
kfk -b "$B" consume one -p 0 -o 4 -c 2 -f '%t/%p/%o=%s\n' >"$WORK/fmt" || fail "consume -f"
printf 'one/0/4=4\none/0/5=5\n' | cmp - "$WORK/fmt" || { show "$WORK/fmt"; fail "-f output"; }

# 3. Timestamps: --timestamp on input, %T on output, -o @ms.
printf 'old1\nold2\n' | kfk -b "$B" produce times --timestamp 1000000 || fail "produce --timestamp"
printf 'new1\n' | kfk -b "$B" produce times --timestamp 2000000 || fail "produce --timestamp 2"
kfk -b "$B" consume times -e -f '%T %s\n' >"$WORK/ts" || fail "consume %T"
printf '1000000 old1\n1000000 old2\n2000000 new1\n' | cmp - "$WORK/ts" || { show "$WORK/ts"; fail "%T"; }
# The test broker (librdkafka's mock) answers every ListOffsets by time
# with -1 ("no message at or after it"), so only that case is checked
# here; kfk then starts at the end, as Kafka's answer means.
kfk -b "$B" consume times -o @3000000 -e >"$WORK/at2" && [ ! -s "$WORK/at2" ] || fail "-o @3000000"

# 4. Keys, headers and nulls; text and JSON output.
printf 'k1:v1\nk2:\n:v3\nnokey\n' | kfk -b "$B" produce keyed -K : -Z -H trace=abc -H eq=x=y || fail "produce -K -Z -H"
printf 'v4\n' | kfk -b "$B" produce keyed --key fixed || fail "produce --key"
kfk -b "$B" consume keyed -e -K '|' -Z >"$WORK/keyed" || fail "consume -K -Z"
printf 'k1|v1\nk2|NULL\nNULL|v3\nNULL|nokey\nfixed|v4\n' | cmp - "$WORK/keyed" || { show "$WORK/keyed"; fail "keys/nulls"; }
kfk -b "$B" consume keyed -e -c 1 -f '%k %K %s %S %h\n' >"$WORK/hdr" || fail "consume %h"
printf 'k1 2 v1 2 trace=abc,eq=x=y\n' | cmp - "$WORK/hdr" || { show "$WORK/hdr"; fail "%h"; }
kfk -b "$B" consume keyed -e --json >"$WORK/keyed.json" || fail "consume --json"
json_lines_ok "$WORK/keyed.json"
python3 - "$WORK/keyed.json" <<'PY' || fail "--json content"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [(r["key"], r["value"]) for r in rows] == [("k1", "v1"), ("k2", None), (None, "v3"), (None, "nokey"), ("fixed", "v4")], rows
assert rows[0]["headers"] == [{"key": "trace", "value": "abc"}, {"key": "eq", "value": "x=y"}], rows[0]
assert rows[4]["headers"] == [], rows[4]
assert all(r["topic"] == "keyed" and r["partition"] == 0 for r in rows)
assert [r["offset"] for r in rows] == [0, 1, 2, 3, 4]
assert all(isinstance(r["timestamp"], int) and r["timestamp"] > 0 for r in rows)
PY

# 5. Files as input (each read as lines; "-" is stdin), gzip.
printf 'a1\na2\n' >"$WORK/f1"
printf 'b1\n' >"$WORK/f2"
printf 's1\n' | kfk -b "$B" produce files "$WORK/f1" - "$WORK/f2" -z gzip -p 1 || fail "produce FILE - FILE"
kfk -b "$B" consume files -p 1 -e >"$WORK/files" && printf 'a1\na2\ns1\nb1\n' | cmp - "$WORK/files" || fail "files"
expect_status 1 kfk -b "$B" produce files "$WORK/missing" 2>/dev/null

# 6. Delimiters: records split on -D, output delimiter -D on consume.
printf 'x;y;z' | kfk -b "$B" produce delim -D ';' || fail "produce -D"
kfk -b "$B" consume delim -e -D ',' >"$WORK/delim" && printf 'x,y,z,' | cmp - "$WORK/delim" || fail "-D"

# 7. JSON input: per-message keys, headers (array or object form), nulls,
# timestamps and escapes; consume --json output fed back in copies the
# topic exactly (apart from the topic name).
cat >"$WORK/in.json" <<'JSON'
{"key":"k1","value":"v1","headers":[{"key":"h","value":"x"},{"key":"n","value":null}],"timestamp":1234}
{"value":"only value"}
{"key":null,"value":null,"headers":{"a":"1","b":"2"},"timestamp":5678}
{"key":"\u00e9\ud83d\ude00","value":"tab\there \"q\" \\ /","extra":[1,{"z":true}],"n":-1.5e3,"timestamp":9}
JSON
kfk -b "$B" produce json1 --json <"$WORK/in.json" || fail "produce --json"
kfk -b "$B" consume json1 -e -f '%k|%s|%h|%T\n' -Z >"$WORK/json1.txt" || fail "consume json1"
python3 - "$WORK/json1.txt" <<'PY' || { show "$WORK/json1.txt"; fail "produce --json content"; }
import sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
assert lines[0] == "k1|v1|h=x,n=NULL|1234", lines[0]
assert lines[1].startswith("NULL|only value||"), lines[1]
assert lines[2] == "NULL|NULL|a=1,b=2|5678", lines[2]
assert lines[3] == 'é😀|tab\there "q" \\ /||9', lines[3]
PY
kfk -b "$B" consume json1 -e --json >"$WORK/json1.out" || fail "consume --json json1"
kfk -b "$B" produce json2 --json <"$WORK/json1.out" || fail "produce --json from consume --json"
kfk -b "$B" consume json2 -e --json | sed 's/"topic":"json2"/"topic":"json1"/' | cmp - "$WORK/json1.out" \
    || fail "consume --json | produce --json is not a copy"
expect_status 1 kfk -b "$B" produce json1 --json <<'JSON' 2>"$WORK/err"
{"key":1}
JSON
grep -q "record 1" "$WORK/err" || { show "$WORK/err"; fail "bad JSON record message"; }
echo '{}' | expect_status 2 kfk -b "$B" produce json1 --json -k x 2>/dev/null

# 8. A line is sent when it arrives, not at the end of the input: with the
# input still open, the line can be consumed.
mkfifo "$WORK/fifo"
kfk -b "$B" produce live <"$WORK/fifo" &
PRODUCER=$!
exec 3>"$WORK/fifo"
echo "while open" >&3
seen=0
for i in $(seq 1 120); do
    kfk -b "$B" consume live -e >"$WORK/live" || fail "consume live"
    if grep -q "while open" "$WORK/live"; then seen=1; break; fi
    sleep 0.5
done
exec 3>&-
wait $PRODUCER || fail "produce from a pipe kept open"
[ $seen -eq 1 ] || fail "a line was not sent while its input stayed open"

# 9. stderr: nothing on success when it is not a terminal; on a terminal
# (a pty from script(1)) the progress line's final summary.
seq 1 100 >"$WORK/hundred"
kfk -b "$B" produce one -p 0 <"$WORK/hundred" 2>"$WORK/quiet" || fail "produce (quiet)"
kfk -b "$B" consume one -e -c 5 >/dev/null 2>>"$WORK/quiet" || fail "consume (quiet)"
[ ! -s "$WORK/quiet" ] || { show "$WORK/quiet"; fail "stderr not empty without a terminal"; }
if command -v script >/dev/null 2>&1; then
    timeout $T script -qec "'$KFK' -b '$B' produce one -p 0 <'$WORK/hundred'" /dev/null >"$WORK/tty" 2>&1 \
        || { show "$WORK/tty"; fail "produce on a pty"; }
    grep -q "100 delivered, 0 failed" "$WORK/tty" || { show "$WORK/tty"; fail "no summary on a terminal"; }
fi

echo "ok: kfk produce/consume"
