#!/bin/sh
# kfk side by side with kcat on the same topics:
#   - for every codec, kcat produces (kcat -P -z CODEC, keys and headers),
#     then `kfk consume -e` prints what `kcat -C -e` prints with the same
#     format string (all partitions, each partition in the same order, and
#     one partition in order),
#     and kfk's --json carries what kcat's -J carries;
#   - for every codec, what kfk produces (-z CODEC) kcat reads back;
#   - `kfk metadata` lists what `kcat -L` lists.
# Skipped (exit 77) when kcat is not installed.
. "$(dirname "$0")/lib.sh"
command -v kcat >/dev/null 2>&1 || skip "kcat not installed"

CODECS="none gzip snappy lz4 zstd"
TOPICS=""
for c in $CODECS; do TOPICS="$TOPICS -t by-kcat-$c:3:1 -t by-kfk-$c:2:1"; done
TOPICS="$TOPICS -t keys-kcat:5:1 -t keys-kfk:5:1"
# shellcheck disable=SC2086
start_broker $TOPICS

FMT='%t %p %o %k|%s|%h|%T|%K|%S\n'
i=0
: >"$WORK/in"
while [ $i -lt 300 ]; do
    printf 'key%d\tvalue %d ünï\n' $((i % 17)) $i >>"$WORK/in"
    i=$((i + 1))
done

for c in $CODECS; do
    t=by-kcat-$c
    timeout $T kcat -b "$B" -P -t "$t" -z "$c" -K '\t' -H "codec=$c" -H h2=x <"$WORK/in" || fail "kcat -P -z $c"
    # Partitions interleave differently (kfk reads them all with one
    # reader, kcat with its own fetcher): a stable sort on the partition
    # (field 2) keeps each partition's own order, which must be the same.
    timeout $T kcat -b "$B" -C -t "$t" -e -q -f "$FMT" | sort -s -n -k2,2 >"$WORK/kcat.$c" || fail "kcat -C $c"
    kfk -b "$B" consume "$t" -e -f "$FMT" | sort -s -n -k2,2 >"$WORK/kfk.$c" || fail "kfk consume $c"
    [ "$(wc -l <"$WORK/kcat.$c")" -eq 300 ] || fail "kcat read $(wc -l <"$WORK/kcat.$c") lines ($c)"
    cmp "$WORK/kcat.$c" "$WORK/kfk.$c" || { diff "$WORK/kcat.$c" "$WORK/kfk.$c" | head >&2; fail "outputs differ ($c)"; }
    # One partition, in order, default format with a key delimiter.
    timeout $T kcat -b "$B" -C -t "$t" -p 1 -e -q -K '=' >"$WORK/kcat1.$c" || fail "kcat -C -p 1"
    kfk -b "$B" consume "$t" -p 1 -e -K '=' >"$WORK/kfk1.$c" || fail "kfk consume -p 1"
    [ -s "$WORK/kcat1.$c" ] || fail "partition 1 is empty ($c)"
    cmp "$WORK/kcat1.$c" "$WORK/kfk1.$c" || fail "partition 1 differs ($c)"
    # JSON: the same records as kcat -J (kcat: payload, headers as a flat list).
    timeout $T kcat -b "$B" -C -t "$t" -e -q -J >"$WORK/kcat.$c.json" || fail "kcat -J"
    kfk -b "$B" consume "$t" -e --json >"$WORK/kfk.$c.json" || fail "kfk --json"
    json_lines_ok "$WORK/kfk.$c.json"
    python3 - "$WORK/kcat.$c.json" "$WORK/kfk.$c.json" <<'PY' || fail "JSON records differ ($c)"
import json, sys
def kcat(r):
    h = r.get("headers", [])
    return (r["partition"], r["offset"], r["ts"], r["key"], r["payload"], tuple(zip(h[0::2], h[1::2])))
def kfk(r):
    return (r["partition"], r["offset"], r["timestamp"], r["key"], r["value"],
            tuple((x["key"], x["value"]) for x in r["headers"]))
a = sorted(kcat(json.loads(l)) for l in open(sys.argv[1]))
b = sorted(kfk(json.loads(l)) for l in open(sys.argv[2]))
assert len(a) == 300 and a == b, (len(a), len(b), [x for x in a if x not in b][:3])
PY
done

# What kfk produces, kcat reads (and checks CRCs: the mock does not).
for c in $CODECS; do
    t=by-kfk-$c
    kfk -b "$B" produce "$t" -z "$c" -K '\t' -H "codec=$c" <"$WORK/in" || fail "kfk produce -z $c"
    timeout $T kcat -b "$B" -C -t "$t" -e -q -f '%k\t%s\n' | sort >"$WORK/back.$c" || fail "kcat -C $t"
    sort "$WORK/in" | cmp - "$WORK/back.$c" || fail "kcat read back something else ($c)"
    timeout $T kcat -b "$B" -C -t "$t" -e -q -c 1 -f '%h\n' >"$WORK/h.$c"
    printf 'codec=%s\n' "$c" | cmp - "$WORK/h.$c" || fail "header ($c)"
done

# Keyed messages land where kcat puts them with --partitioner crc32
# (librdkafka's default partitioner).
i=0
: >"$WORK/keys"
while [ $i -lt 60 ]; do printf 'key%d:v%d\n' $i $i >>"$WORK/keys"; i=$((i + 1)); done
timeout $T kcat -b "$B" -P -t keys-kcat -K : <"$WORK/keys" || fail "kcat -P keys"
kfk -b "$B" produce keys-kfk -K : --partitioner crc32 <"$WORK/keys" || fail "kfk produce --partitioner crc32"
kfk -b "$B" consume keys-kcat -e -f '%k %p\n' | sort >"$WORK/keys.kcat" || fail "consume keys-kcat"
kfk -b "$B" consume keys-kfk -e -f '%k %p\n' | sort >"$WORK/keys.kfk" || fail "consume keys-kfk"
[ "$(cut -d' ' -f2 "$WORK/keys.kcat" | sort -u | wc -l)" -gt 1 ] || fail "kcat put every key in one partition"
cmp "$WORK/keys.kcat" "$WORK/keys.kfk" || fail "--partitioner crc32 places keys unlike kcat"

# Metadata: same brokers, topics, partition counts, leaders, replicas, ISRs.
timeout $T kcat -b "$B" -L >"$WORK/kcat.L" || fail "kcat -L"
kfk -b "$B" metadata >"$WORK/kfk.L" || fail "kfk metadata"
tail -n +2 "$WORK/kcat.L" | sort >"$WORK/kcat.L.s"
tail -n +2 "$WORK/kfk.L" | sort >"$WORK/kfk.L.s"
cmp "$WORK/kcat.L.s" "$WORK/kfk.L.s" || { diff "$WORK/kcat.L.s" "$WORK/kfk.L.s" >&2; fail "metadata differs"; }
timeout $T kcat -b "$B" -L -J >"$WORK/kcat.L.json" || fail "kcat -L -J"
kfk -b "$B" metadata --json >"$WORK/kfk.L.json" || fail "kfk metadata --json"
json_ok "$WORK/kfk.L.json"
python3 - "$WORK/kcat.L.json" "$WORK/kfk.L.json" <<'PY' || fail "metadata JSON differs"
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert sorted((x["id"], x["name"]) for x in a["brokers"]) == \
       sorted((x["id"], "%s:%d" % (x["host"], x["port"])) for x in b["brokers"])
def parts(t, rep, isr):
    return sorted((p["partition"], p["leader"], tuple(r["id"] if isinstance(r, dict) else r for r in p[rep]),
                   tuple(r["id"] if isinstance(r, dict) else r for r in p[isr])) for p in t["partitions"])
ta = {t["topic"]: parts(t, "replicas", "isrs") for t in a["topics"]}
tb = {t["name"]: parts(t, "replicas", "isr") for t in b["topics"]}
assert ta == tb, (ta, tb)
PY

echo "ok: kfk matches kcat ($CODECS; metadata)"
