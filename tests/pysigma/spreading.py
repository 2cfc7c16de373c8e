#!/usr/bin/env python3
r"""Differential test of the spreading correlation: wormtrace against pysigma-backend-sqlite.

wormtrace evaluates the built-in `port_80_scan.yml` (a `value_count` correlation over a
`network_connection` rule) while it reads a capture, per source. Here the same rule file is
converted by pysigma-backend-sqlite into a correlation plan and run on a SQLite table of the
SYN records `wormtrace parse` prints for the capture.

wormtrace counts a SYN at the whole second of its frame (its windows are in seconds), so the
table gets the same seconds. The backend gives one alert per window that holds; wormtrace
gives, per source, whether it spreads and its largest window. Both sides become
{source: largest distinct-target count of a window that holds}, and must be equal.

Prints the figures as JSON; exits 1 on any difference.
"""

import argparse
import json
import math
import pathlib
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone

from sigma.backends.sqlite import sqliteBackend
from sigma.backends.sqlite.runtime import execute_plan
from sigma.collection import SigmaCollection

FIELDS = ["SourceIp", "DestinationIp", "DestinationPort", "Initiated"]


def run(cmd):
    result = subprocess.run([str(c) for c in cmd], capture_output=True, check=False)
    if result.returncode not in (0, 1):
        sys.exit(f"{cmd} failed ({result.returncode}):\n{result.stderr.decode(errors='replace')}")
    return result.stdout.decode("utf-8")


def whole_second(text):
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    floored = datetime.fromtimestamp(math.floor(moment.timestamp()), tz=timezone.utc)
    return floored.strftime("%Y-%m-%dT%H:%M:%SZ")


def load(wormtrace, capture):
    """The capture's SYN records as a table `logs`; returns it and the number of rows."""
    db = sqlite3.connect(":memory:")
    columns = ", ".join(["timestamp TEXT"] + [f'"{f}" TEXT' for f in FIELDS])
    db.execute(f"CREATE TABLE logs ({columns})")
    rows = 0
    for line in run([wormtrace, "parse", capture]).splitlines():
        r = json.loads(line)
        if "SourceIp" not in r.get("fields", {}):
            continue
        values = [whole_second(r["time"])] + [r["fields"].get(f) for f in FIELDS]
        db.execute(f"INSERT INTO logs VALUES ({', '.join('?' * len(values))})", values)
        rows += 1
    return db, rows


def sqlite_peaks(db, rule_file):
    backend = sqliteBackend(timestamp_field="timestamp")
    collection = SigmaCollection.from_yaml(rule_file.read_text(encoding="utf-8"))
    converted = json.loads(backend.convert(collection, output_format="zircolite"))
    plan = next(q["correlation_plan"] for q in converted if q.get("correlation"))
    rows, _ = execute_plan(db, plan, include_events=False)
    peaks = {}
    for row in rows:
        source = str(row["group_keys"]["SourceIp"])
        peaks[source] = max(peaks.get(source, 0), int(row["metric_value"]))
    return peaks, len(rows)


def scan_details(node):
    """Every scan detail under a verdict record, wherever the verdict keeps it."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "scans" and isinstance(value, list):
                yield from value
            else:
                yield from scan_details(value)
    elif isinstance(node, list):
        for value in node:
            yield from scan_details(value)


def wormtrace_peaks(wormtrace, capture):
    out = run([wormtrace, "scan", "--format", "jsonl", "-q", capture])
    peaks = {}
    for line in out.splitlines():
        record = json.loads(line)
        if record.get("type") != "verdict":
            continue
        for d in scan_details(record):
            if d["spreading"] and d["source"] == "capture":
                peaks[d["address"]] = d["window"]["distinct_targets"]
    return peaks


def main():
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--wormtrace", required=True)
    args.add_argument("--capture", required=True)
    args.add_argument("--rule", required=True, type=pathlib.Path)
    opts = args.parse_args()
    db, rows = load(opts.wormtrace, opts.capture)
    theirs, windows = sqlite_peaks(db, opts.rule)
    ours = wormtrace_peaks(opts.wormtrace, opts.capture)
    figures = {"syn records": rows, "sqlite windows that hold": windows,
               "spreading (wormtrace)": ours, "spreading (sqlite)": theirs,
               "agree": ours == theirs}
    print(json.dumps(figures, indent=1, sort_keys=True))
    return 0 if ours == theirs else 1


if __name__ == "__main__":
    sys.exit(main())
