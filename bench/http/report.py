#!/usr/bin/env python3
"""bench/http/report.py — parses wrk output and prints the comparison table.

Used by run.sh; standard library only.

  report.py parse WRK_OUT SERVER ROUTE CONNS EXPECT_NON2XX RSS_KB CPU WRK_CPU OTHER_CPU REP
      prints one JSON object for one measured wrk run. EXPECT_NON2XX is
      "all" (every answer should be non-2xx, the POST route when hearth
      answers an error), "none" (every answer should be 2xx) or "any".
  report.py table RUNS_JSONL META_JSON SERVERS_JSONL OUT_JSON
      prints the table (server, route, conns, req/s, latency, CPU, memory,
      ratio hearth/peer in req/s and in req/s per core of server CPU; the
      best of repeated runs) and writes runs + meta as one JSON document to
      OUT_JSON.
  report.py freeports N
      prints N distinct free TCP ports on 127.0.0.1, one per line.
  report.py obj KEY VALUE [KEY VALUE ...]
      prints one JSON object; a KEY ending in ":json" has its VALUE parsed
      as JSON (numbers, lists), other values stay strings.
"""

import json
import re
import socket
import sys

# Above this much CPU (percent of one core) used by processes other than the
# server and wrk during a run, the run is flagged as disturbed.
OTHER_CPU_LIMIT = 20

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def to_ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        return None
    return round(float(m.group(1)) * UNITS[m.group(2)], 3)


def parse(path, server, route, conns, expect, rss_kb, cpu_pct, wrk_pct, other_pct, rep="1"):
    out = open(path, encoding="utf-8", errors="replace").read()
    r = {"server": server, "route": route, "conns": int(conns), "rep": int(rep)}
    m = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    r["rps"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in ([0-9.]+\w+),", out)
    r["requests"] = int(m.group(1)) if m else None
    r["duration_ms"] = to_ms(m.group(2)) if m else None
    m = re.search(r"^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)", out, re.M)
    if m:
        r["lat_avg_ms"], r["lat_stdev_ms"], r["lat_max_ms"] = (to_ms(g) for g in m.groups())
    for pct in ("50", "75", "90", "99"):
        m = re.search(r"^\s+%s%%\s+(\S+)" % pct, out, re.M)
        r["p%s_ms" % pct] = to_ms(m.group(1)) if m else None
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errs = dict(zip(("connect", "read", "write", "timeout"), (int(g) for g in m.groups()))) if m else \
        {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    r["socket_errors"] = errs
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["non2xx"] = int(m.group(1)) if m else 0
    r["cpu_pct"] = int(cpu_pct)
    r["wrk_cpu_pct"] = int(wrk_pct)
    r["other_cpu_pct"] = int(other_pct)
    r["rss_mb"] = round(int(rss_kb) / 1024.0, 1) if rss_kb.isdigit() and int(rss_kb) > 0 else None
    problems = []
    if r["rps"] is None:
        problems.append("wrk printed no Requests/sec")
    if sum(errs.values()):
        problems.append("socket errors " + ", ".join("%s %d" % kv for kv in errs.items() if kv[1]))
    if r["requests"]:
        if expect == "all" and r["non2xx"] < r["requests"]:
            problems.append("%d of %d answers were 2xx/3xx, expected none" % (r["requests"] - r["non2xx"], r["requests"]))
        if expect == "none" and r["non2xx"]:
            problems.append("%d of %d answers were not 2xx/3xx" % (r["non2xx"], r["requests"]))
    if r["other_cpu_pct"] > OTHER_CPU_LIMIT:
        problems.append("other processes used %d%% CPU: noisy" % r["other_cpu_pct"])
    r["problems"] = problems
    print(json.dumps(r))


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def obj(*kv):
    o = {}
    for k, v in zip(kv[0::2], kv[1::2]):
        if k.endswith(":json"):
            o[k[:-5]] = json.loads(v)
        else:
            o[k] = v
    print(json.dumps(o))


def table(runs_path, meta_path, servers_path, out_path):
    runs = [json.loads(l) for l in open(runs_path) if l.strip()]
    meta = json.load(open(meta_path))
    meta["servers"] = [json.loads(l) for l in open(servers_path) if l.strip()]
    for r in runs:
        # Requests per second of server CPU: what one core of the server
        # serves. Less sensitive than req/s to other load on a shared machine.
        r["rps_per_core"] = round(r["rps"] * 100.0 / r["cpu_pct"]) if r["rps"] and r["cpu_pct"] > 0 else None
    # With REPEAT > 1 the best run (highest req/s) of each server, route and
    # connection count is the one reported: other load only ever slows a run.
    best = {}
    for r in runs:
        k = (r["server"], r["route"], r["conns"])
        if k not in best or (r["rps"] or 0) > (best[k]["rps"] or 0):
            best[k] = r
    for r in runs:
        r["best"] = best[(r["server"], r["route"], r["conns"])] is r
    shown = [r for r in runs if r["best"]]
    hearth = {(r["route"], r["conns"]): r for r in shown if r["server"] == "hearth" and r["rps"]}
    for r in runs:
        h = hearth.get((r["route"], r["conns"]))
        r["ratio_hearth_over_peer"] = round(h["rps"] / r["rps"], 3) if h and r["rps"] else None
        r["ratio_per_core_hearth_over_peer"] = round(h["rps_per_core"] / r["rps_per_core"], 3) \
            if h and h["rps_per_core"] and r["rps_per_core"] else None

    rows = sorted(shown, key=lambda r: (r["route"] != "GET /healthz", r["conns"], -(r["rps"] or 0)))
    head = ("server", "route", "conns", "req/s", "p50 ms", "p99 ms", "cpu %", "wrk %", "rss MB",
            "req/core-s", "hearth/peer", "per core", "notes")
    cells = []
    for r in rows:
        ratio, ratio_core = r["ratio_hearth_over_peer"], r["ratio_per_core_hearth_over_peer"]
        cells.append((
            r["server"], r["route"], str(r["conns"]), fmt(r["rps"], ",.0f"),
            fmt(r.get("p50_ms"), ".2f"), fmt(r.get("p99_ms"), ".2f"), fmt(r.get("cpu_pct"), "d"),
            fmt(r.get("wrk_cpu_pct"), "d"), fmt(r.get("rss_mb"), ".0f"), fmt(r["rps_per_core"], ",.0f"),
            ("%.2fx" % ratio) if ratio else "-", ("%.2fx" % ratio_core) if ratio_core else "-",
            "; ".join(r["problems"]),
        ))
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(head)]
    right = set(range(2, len(head) - 1))

    def line(c):
        return "  ".join((c[i].rjust(widths[i]) if i in right else c[i].ljust(widths[i])) for i in range(len(c))).rstrip()

    print(line(head))
    print(line(tuple("-" * w for w in widths)))
    prev = None
    for c in cells:
        key = (c[1], c[2])
        if prev is not None and key != prev:
            print()
        prev = key
        print(line(c))
    print("\nhearth/peer: hearth's req/s over the peer's. per core: the same for req/s per core of"
          "\nserver CPU (req/core-s), which other load on the machine disturbs less.")
    if len(shown) < len(runs):
        print("Best of %d runs each." % (len(runs) // max(1, len(shown))))
    if not hearth:
        print("(hearth was not measured: ratios are '-')")

    doc = dict(meta)
    doc["runs"] = runs
    with open(out_path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


def freeports(n):
    socks, ports = [], []
    for _ in range(int(n)):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    print("\n".join(map(str, ports)))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"parse": parse, "table": table, "freeports": freeports, "obj": obj}[cmd](*args)
