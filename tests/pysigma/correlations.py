#!/usr/bin/env python3
r"""Differential test of correlation rules: wormtrace against pysigma-backend-sqlite.

A generated IIS W3C corpus (several clients and servers, Code Red, Code Red II and Nimda
requests at random times, cut into two files whose times overlap, so the inputs do not come
in time order) is scanned by `wormtrace scan --all-hits` with three built-in rules as base
rules and one correlation rule of every type. The same rules are converted by
pysigma-backend-sqlite into correlation plans, which run on a SQLite table loaded from
`wormtrace parse` of the same corpus.

The backend gives one alert per window that holds (a window closes at each time of a base
event of the group, and reaches `timespan` back). wormtrace gives one finding per run of
overlapping windows that hold, with how many windows held and the last window's end; the
windows are the group's last distinct base-event times up to that end. Both sides are
turned into the set of (correlation, group, window end) and must be equal.

Prints the figures as JSON; exits 1 on any difference.
"""

import argparse
import json
import pathlib
import random
import re
import sqlite3
import subprocess
import sys
import uuid

from sigma.backends.sqlite import sqliteBackend
from sigma.backends.sqlite.runtime import execute_plan
from sigma.collection import SigmaCollection

ROOT = pathlib.Path(__file__).resolve().parents[2]
BASES = {
    "code_red_ii": ("7a0a527a-8dc5-4a76-834f-eece61711925", "code_red_ii_request.yml"),
    "code_red": ("61976077-5b24-42cd-9c82-d96cc4acca8d", "code_red_request.yml"),
    "nimda": ("5ccd0d2d-cf19-41d2-94c9-0fe155924ece", "nimda_requests.yml"),
}
TAIL = ("%u9090%u6858%ucbd3%u7801%u9090%u6858%ucbd3%u7801%u9090%u6858%ucbd3%u7801%u9090"
        "%u9090%u8190%u00c3%u0003%u8b00%u531b%u53ff%u0078%u0000%u00=a")
NIMDA = ["/scripts/root.exe", "/MSADC/root.exe", "/c/winnt/system32/cmd.exe",
         "/d/winnt/system32/cmd.exe", "/scripts/..%255c../winnt/system32/cmd.exe",
         "/scripts/..%c1%1c../winnt/system32/cmd.exe", "/scripts/..%c0%af../winnt/system32/cmd.exe"]


def rule_id(name):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"wormtrace/correlations/{name}"))


def reference(name):
    """A base rule's id, or a correlation's (chained correlations)."""
    return BASES[name][0] if name in BASES else rule_id(name)


def correlation(name, kind, rules, group, timespan, condition, aliases=None):
    body = {"type": kind, "rules": [reference(r) for r in rules], "group-by": group,
            "timespan": timespan}
    if condition:
        body["condition"] = condition
    if aliases:
        body["aliases"] = {
            alias: {reference(r): field for r, field in per_rule.items()}
            for alias, per_rule in aliases.items()
        }
    return name, {"title": name, "id": rule_id(name), "correlation": body, "level": "high"}


CORRELATIONS = [
    correlation("event_count", "event_count", ["code_red_ii"], ["c-ip"], "60s", {"gte": 3}),
    # pySigma takes one comparison a condition (wormtrace's ranges are unit-tested).
    correlation("event_count_lte", "event_count", ["code_red_ii", "code_red"], ["s-ip"], "30s",
                {"lte": 2}),
    correlation("value_count_scan", "value_count", ["code_red_ii", "code_red"], ["c-ip"], "300s",
                {"field": "s-ip", "gte": 4}),
    correlation("temporal", "temporal", ["code_red_ii", "nimda"], ["c-ip"], "120s", None),
    correlation("temporal_ordered", "temporal_ordered", ["code_red", "nimda"], ["c-ip"], "120s",
                None),
    correlation("value_sum", "value_sum", ["nimda"], ["c-ip"], "60s",
                {"field": "sc-bytes", "gte": 1500}),
    correlation("value_avg", "value_avg", ["code_red_ii", "nimda"], ["s-ip"], "60s",
                {"field": "sc-bytes", "gte": 500}),
    correlation("value_median", "value_median", ["nimda"], ["c-ip"], "120s",
                {"field": "sc-bytes", "lte": 300}),
    correlation("value_percentile", "value_percentile", ["code_red_ii", "nimda"], ["c-ip"],
                "120s", {"field": "sc-bytes", "percentile": 90, "gte": 700}),
    correlation("aliases", "temporal", ["code_red_ii", "nimda"], ["host"], "300s", None,
                aliases={"host": {"code_red_ii": "s-ip", "nimda": "c-ip"}}),
    # Chained: the scan rule's windows that held, counted per client over ten minutes.
    correlation("chained", "event_count", ["value_count_scan"], ["c-ip"], "600s", {"gte": 3}),
]
BY_NAME = dict(CORRELATIONS)
BY_ID = {rule["id"]: name for name, rule in CORRELATIONS}


def corpus(work, seed):
    """Two W3C logs with overlapping times; returns their paths and the line count."""
    rng = random.Random(seed)
    clients = [f"192.0.2.{i}" for i in range(1, 13)] + [f"10.1.0.{i}" for i in range(1, 7)]
    servers = [f"10.1.0.{i}" for i in range(1, 7)] + [f"198.51.100.{i}" for i in range(1, 5)]
    lines = []
    for _ in range(1500):
        t = rng.randrange(0, 7200)
        # Bursts: a client sends a few requests close together.
        client = rng.choice(clients)
        for k in range(rng.choice([1, 1, 2, 3, 5])):
            kind = rng.choice(["crii", "crii", "cr", "nimda", "nimda", "benign"])
            stamp = t + k * rng.randrange(0, 20)
            h, m, s = stamp // 3600, stamp // 60 % 60, stamp % 60
            if kind == "crii":
                stem, query = "/default.ida", "X" * 224 + TAIL
            elif kind == "cr":
                stem, query = "/default.ida", "N" * 224 + TAIL
            elif kind == "nimda":
                stem, query = rng.choice(NIMDA), "/c+dir"
            else:
                stem, query = "/index.htm", "-"
            size = rng.choice([0, 120, 240, 400, 800, 1200])
            lines.append(f"2001-08-04 {10 + h:02d}:{m:02d}:{s:02d} {client} {rng.choice(servers)} "
                         f"GET {stem} {query} 404 {size}")
    header = ("#Software: Microsoft Internet Information Services 5.0\n"
              "#Fields: date time c-ip s-ip cs-method cs-uri-stem cs-uri-query sc-status sc-bytes\n")
    rng.shuffle(lines)
    half = len(lines) // 2
    paths = []
    for name, part in (("b-ex010804.log", lines[:half]), ("a-ex010804.log", lines[half:])):
        path = work / "corpus" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + "\n".join(sorted(part)) + "\n", encoding="utf-8")
        paths.append(path)
    return paths, len(lines)


def run(cmd):
    result = subprocess.run([str(c) for c in cmd], capture_output=True, check=False)
    if result.returncode not in (0, 1):
        sys.exit(f"{cmd} failed ({result.returncode}):\n{result.stderr.decode(errors='replace')}")
    return result.stdout.decode("utf-8")


def load(wormtrace, paths):
    """The corpus as a SQLite table `logs` with an ISO `timestamp` column."""
    db = sqlite3.connect(":memory:")
    db.create_function("REGEXP", 2, regexp, deterministic=True)
    fields = ["c-ip", "s-ip", "cs-method", "cs-uri-stem", "cs-uri-query", "sc-status", "sc-bytes"]
    columns = ", ".join(["timestamp TEXT"] + [f'"{f}" TEXT COLLATE NOCASE' for f in fields])
    db.execute(f"CREATE TABLE logs ({columns})")
    marks = ", ".join("?" for _ in range(len(fields) + 1))
    quoted = ", ".join(["timestamp"] + [f'"{f}"' for f in fields])
    for line in run([wormtrace, "parse", *paths]).splitlines():
        r = json.loads(line)
        values = [r["time"]] + [r["fields"].get(f) for f in fields]
        db.execute(f"INSERT INTO logs ({quoted}) VALUES ({marks})", values)
    return db


def regexp(pattern, value):
    if value is None:
        return False
    return re.search(pattern, str(value)) is not None


def rule_texts(name, rule):
    """The correlation, the correlations it counts and their base rules, once each."""
    bases = {BASES[k][0]: BASES[k][1] for k in BASES}
    texts = []
    for r in rule["correlation"]["rules"]:
        if r in bases:
            texts.append((ROOT / "rules" / bases[r]).read_text(encoding="utf-8"))
        else:
            texts.extend(rule_texts(BY_ID[r], BY_NAME[BY_ID[r]]))
    texts.append(json.dumps(rule))
    return list(dict.fromkeys(texts))


def sqlite_windows(db, name, rule):
    backend = sqliteBackend(timestamp_field="timestamp")
    collection = SigmaCollection.from_yaml("\n---\n".join(rule_texts(name, rule)))
    converted = json.loads(backend.convert(collection, output_format="zircolite"))
    plan = next(q["correlation_plan"] for q in converted if q.get("correlation"))
    rows, _ = execute_plan(db, plan, include_events=False)
    group_by = rule["correlation"]["group-by"]
    return {(name, tuple(str(row["group_keys"][g]) for g in group_by), float(row["window_end"]))
            for row in rows}


def wormtrace_windows(records, name, rule, below):
    """Each finding's windows: the group's last `windows` distinct base times up to its end.
    `below` holds the windows already worked out for the correlations this one counts."""
    body = rule["correlation"]
    group_by = body["group-by"]
    bases = body["rules"]
    aliases = body.get("aliases", {})
    taxonomy = {"c-ip": "client_ip", "s-ip": "server"}
    times = {}
    for r in bases:
        if r not in BY_ID:
            continue
        child = BY_NAME[BY_ID[r]]["correlation"]["group-by"]
        for _, key, t in below[BY_ID[r]]:
            picked = tuple(key[child.index(aliases.get(g, {}).get(r, g))] for g in group_by)
            times.setdefault(picked, set()).add(t)
    for f in records:
        if f.get("type") != "finding" or f.get("rule_id") not in bases or "correlation" in f:
            continue
        key = []
        for g in group_by:
            field = aliases.get(g, {}).get(f["rule_id"], g)
            key.append(str(f[taxonomy[field]]).lower())
        epoch = json_time(f["time"])
        times.setdefault(tuple(key), set()).add(epoch)
    windows = set()
    for f in records:
        if f.get("type") != "finding" or f.get("rule_id") != rule["id"]:
            continue
        key = tuple(f["group"][g] for g in group_by)
        end = json_time(f["window_end"])
        ordered = sorted(t for t in times.get(key, ()) if t <= end)
        for t in ordered[-f["windows"]:]:
            windows.add((name, key, t))
    return windows


def json_time(text):
    from datetime import datetime
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def main():
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--wormtrace", required=True)
    args.add_argument("--work", required=True, type=pathlib.Path)
    args.add_argument("--seed", type=int, default=2001)
    opts = args.parse_args()
    paths, lines = corpus(opts.work, opts.seed)
    rules_dir = opts.work / "rules"
    rules_dir.mkdir(parents=True, exist_ok=True)
    for _, file in BASES.values():
        (rules_dir / file).write_text((ROOT / "rules" / file).read_text(encoding="utf-8"))
    for name, rule in CORRELATIONS:
        (rules_dir / f"mr_{name}.yml").write_text(json.dumps(rule), encoding="utf-8")
    out = run([opts.wormtrace, "scan", "--no-builtin", "--all-hits", "--repeats", "0", "--rules", rules_dir,
               "--format", "jsonl", "-q", *paths])
    records = [json.loads(line) for line in out.splitlines()]
    db = load(opts.wormtrace, paths)
    figures = {"lines": lines, "correlations": len(CORRELATIONS), "agree": 0, "disagree": 0,
               "windows": {}}
    below = {}
    for name, rule in CORRELATIONS:
        ours = wormtrace_windows(records, name, rule, below)
        below[name] = ours
        theirs = sqlite_windows(db, name, rule)
        figures["windows"][name] = [len(ours), len(theirs)]
        if ours == theirs:
            figures["agree"] += 1
        else:
            figures["disagree"] += 1
            print(f"DISAGREE {name}: only wormtrace {sorted(ours - theirs)[:5]}, "
                  f"only sqlite {sorted(theirs - ours)[:5]}", file=sys.stderr)
    print(json.dumps(figures, indent=1))
    return 1 if figures["disagree"] else 0


if __name__ == "__main__":
    sys.exit(main())
