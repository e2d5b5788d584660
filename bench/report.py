#!/usr/bin/env python3
"""Turns the key=value lines of bench_libkafka / bench_rdkafka (raw.txt)
into the table of medians: Markdown (stdout and --md), and a data file for
bench/chart.gp (--dat).

Usage: report.py raw.txt --md latest.md --dat latest.dat [--header TEXT]

Every row is one workload and one metric: the median over rounds of each
client, and the libkafka/librdkafka ratio. "Target" is issue 7's bar, and
"met" whether the median meets it (a bar, not a test: nothing fails)."""
import argparse
import statistics
import sys


def parse(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("client="):
                continue
            kv = dict(p.split("=", 1) for p in line.split() if "=" in p)
            rows.append(kv)
    return rows


def key_of(kv):
    return (kv.get("bench"), kv.get("acks", ""), kv.get("codec", ""), kv.get("threads", ""))


def medians(rows, client, key, metric, api=None):
    vals = [float(r[metric]) for r in rows
            if r["client"] == client and key_of(r) == key and metric in r
            and (api is None or r.get("api") == api)]
    return (statistics.median(vals), len(vals)) if vals else (None, 0)


def fmt(v, metric):
    if v is None:
        return "-"
    if metric in ("msgs_per_s",):
        return f"{v / 1e6:.2f} M"
    if metric.startswith("allocs") or metric.startswith("hook"):
        return f"{v:.3f}"
    if v >= 100:
        return f"{v:.0f}"
    return f"{v:.1f}"


# (label, key, metric, unit, better, target ratio, target text)
def workloads():
    out = []
    codecs = ["none", "gzip", "snappy", "lz4", "zstd"]
    for acks, codec in [("1", c) for c in codecs] + [("all", "none")]:
        key = ("produce", acks, codec, "")
        name = f"produce acks={acks} {codec}"
        out.append((name, key, "msgs_per_s", "msgs/s", "high", 2.0, ">= 2x"))
        out.append((name, key, "mb_per_s", "MB/s", "high", None, ""))
        out.append((name, key, "cpu_ns_per_msg", "CPU ns/msg", "low", 0.25, "<= 0.25x"))
    key = ("produce_keyed", "1", "none", "")
    name = "keyed produce 1,000 partitions"
    out.append((name, key, "msgs_per_s", "msgs/s", "high", 2.0, ">= 2x"))
    out.append((name, key, "cpu_ns_per_msg", "CPU ns/msg", "low", 0.25, "<= 0.25x"))
    key = ("consume", "", "", "")
    out.append(("consume 1 partition", key, "msgs_per_s", "msgs/s", "high", 2.0, ">= 2x"))
    out.append(("consume 1 partition", key, "mb_per_s", "MB/s", "high", None, ""))
    out.append(("consume 1 partition", key, "cpu_ns_per_msg", "CPU ns/msg", "low", 0.25, "<= 0.25x"))
    key = ("group", "", "", "")
    name = "group consume 1,000 partitions"
    out.append((name, key, "msgs_per_s", "msgs/s", "high", 2.0, ">= 2x"))
    out.append((name, key, "cpu_ns_per_msg", "CPU ns/msg", "low", 0.5, "<= 0.5x"))
    out.append((name, key, "threads_peak", "peak threads", "low", 1.0, "<= 1x"))
    out.append((name, key, "rss_peak_kb", "peak RSS KB", "low", 1.0, "<= 1x"))
    out.append((name, key, "join_ms", "join ms", "low", None, ""))
    for name, key in (("produce acks=1 none", ("produce", "1", "none", "")),
                      ("consume 1 partition", ("consume", "", "", ""))):
        out.append((name, key, "threads_peak", "peak threads", "low", None, ""))
        out.append((name, key, "rss_peak_kb", "peak RSS KB", "low", None, ""))
    for t in ("1", "4"):
        out.append((f"enqueue {t} thread{'s' if t != '1' else ''}", ("enqueue", "", "", t), "ns_per_call",
                    "ns/call", "low", 0.15, "<= 0.15x"))
    key = ("latency", "1", "", "")
    out.append(("sync write acks=1", key, "p50_us", "p50 us", "low", None, "<= 2x RTT"))
    out.append(("sync write acks=1", key, "p99_us", "p99 us", "low", None, ""))
    out.append(("allocs produce acks=1 none", ("produce_allocs", "1", "none", ""), "allocs_per_msg",
                "allocs/msg", "low", None, "0"))
    out.append(("allocs consume", ("consume_allocs", "", "", ""), "allocs_per_msg", "allocs/msg", "low",
                None, "0"))
    return out


def libkafka_apis(rows, key):
    apis = []
    for r in rows:
        if r["client"] == "libkafka" and key_of(r) == key and r.get("api") not in apis:
            apis.append(r.get("api"))
    # high-level API first
    return sorted(apis, key=lambda a: a == "conn")


def build(rows):
    rtt, _ = medians(rows, "libkafka", ("rtt", "", "", ""), "p50_us")
    table, chart = [], []
    for label, key, metric, unit, better, target, ttext in workloads():
        rd, nrd = medians(rows, "librdkafka", key, metric)
        for api in libkafka_apis(rows, key) or [None]:
            lk, nlk = medians(rows, "libkafka", key, metric, api)
            if lk is None and rd is None:
                continue
            ratio = lk / rd if lk is not None and rd else None
            met = ""
            if metric == "p50_us" and lk is not None and rtt:
                met = "yes" if lk <= 2 * rtt else "no"
                ttext = f"<= 2x RTT ({2 * rtt:.1f} us)"
            elif metric == "allocs_per_msg" and lk is not None:
                met = "yes" if lk < 0.01 else "no"
            elif target is not None and ratio is not None:
                met = "yes" if (ratio >= target if better == "high" else ratio <= target) else "no"
            table.append((label, unit, f"libkafka/{api}" if api else "libkafka", lk, rd, ratio, ttext, met,
                          metric, min(nlk, nrd) if rd is not None else nlk))
            if ratio and metric in ("msgs_per_s", "cpu_ns_per_msg", "ns_per_call", "p50_us"):
                adv = ratio if better == "high" else 1 / ratio
                chart.append((f"{label} {unit} ({api})", adv))
    return rtt, table, chart


def markdown(rtt, table, header):
    lines = [header, ""] if header else []
    lines.append("| workload | metric | libkafka API | libkafka | librdkafka | libkafka/librdkafka | target | met | rounds |")
    lines.append("|---|---|---|---:|---:|---:|---|---|---:|")
    for label, unit, api, lk, rd, ratio, ttext, met, metric, n in table:
        r = f"{ratio:.2f}" if ratio is not None else "-"
        lines.append(f"| {label} | {unit} | {api.split('/')[-1]} | {fmt(lk, metric)} | {fmt(rd, metric)} | {r} | "
                     f"{ttext} | {met} | {n} |")
    if rtt:
        lines.append(f"| broker RTT (ApiVersions, kafka_conn) | p50 us | conn | {rtt:.1f} | - | - | baseline | | |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("--md")
    ap.add_argument("--dat")
    ap.add_argument("--header", default="")
    a = ap.parse_args()
    rows = parse(a.raw)
    if not rows:
        sys.exit("report.py: no result lines in " + a.raw)
    rtt, table, chart = build(rows)
    md = markdown(rtt, table, a.header)
    sys.stdout.write(md)
    if a.md:
        with open(a.md, "w") as f:
            f.write(md)
    if a.dat:
        with open(a.dat, "w") as f:
            for name, adv in chart:
                f.write(f"\"{name}\" {adv:.4f}\n")


if __name__ == "__main__":
    main()
