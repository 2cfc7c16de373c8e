#!/usr/bin/env python3
"""wormtrace on Apache Spark: the same binary, driven by Spark.

The driver lists the inputs with the Hadoop FileSystem API (globs and folders), plans tasks
(small files batched, a large plain log cut into byte ranges that each task moves to line
starts, plus a task that hashes that file), and ships the binary to the executors. Each task streams its bytes
from storage into `wormtrace scan --partial` on standard input (never holding a file in
memory) and gives back the partial result's lines. Spark keeps one result per task, so a
retried or speculative task counts once. The findings go to a Parquet dataset partitioned
by family and day; the driver runs `wormtrace merge` over the partial results, which
writes what one `wormtrace scan` of all the files writes: JSON Lines, the summary, the
case file and the HTML report.

Usage (see spark/README.md):
    spark-submit spark/wormtrace_spark.py --binary target/release/wormtrace \\
        --input 'file:///evidence/logs' --output out/
"""

import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from pyspark import SparkFiles, StorageLevel, TaskContext
from pyspark.sql import SparkSession

# Large plain logs are cut into ranges of about this many bytes (256 MiB).
DEFAULT_SPLIT_SIZE = 256 << 20
# Bytes streamed to the binary at a time.
CHUNK = 1 << 20
# First bytes that say a file is compressed or a capture: such files are read whole.
WHOLE_MAGIC = (
    b"\x1f\x8b",  # gzip
    b"BZh",  # bzip2
    b"\x28\xb5\x2f\xfd",  # zstd
    b"\xfd7zXZ\x00",  # xz
    b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d",  # pcap
    b"\x0a\x0d\x0d\x0a",  # pcapng
    b"\xff\xfe", b"\xfe\xff",  # UTF-16 text is decoded as a whole
    b"regf",  # registry hive
)
HEAD_BYTES = 64 * 1024
# Small files one task runs the binary on, one after the other, at most.
BATCH_FILES = 256


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--input", action="append", nargs="+", required=True, metavar="URI",
                   help="files, folders or globs: file://, hdfs://, s3a://, or a local path")
    p.add_argument("--output", required=True, metavar="DIR",
                   help="where the results go (a local or shared folder)")
    p.add_argument("--binary", default=shutil.which("wormtrace") or "target/release/wormtrace",
                   help="the wormtrace binary for the executors (Linux x86-64)")
    p.add_argument("--master", help="Spark master when not run by spark-submit (local[2], spark://...)")
    p.add_argument("--split-size", type=int, default=DEFAULT_SPLIT_SIZE, metavar="BYTES",
                   help="plain logs larger than this are cut into ranges of about this size")
    p.add_argument("--rules", action="append", default=[], metavar="PATH",
                   help="Sigma rule files or folders (shipped to the executors)")
    p.add_argument("--no-builtin", action="store_true", help="leave out the built-in rules")
    p.add_argument("--internal", action="append", default=[], metavar="CIDR", help="our own networks")
    p.add_argument("--lang", choices=["ja", "en"], help="language of the summary and report")
    p.add_argument("--scan-arg", action="append", default=[], metavar="ARG",
                   help="another option for every `wormtrace scan` (repeat for each word)")
    p.add_argument("--with-partial", action="append", default=[], metavar="FILE",
                   help="a partial result made outside Spark (`wormtrace scan --partial`, for "
                        "host evidence such as mounted volumes) to merge with the tasks' results")
    p.add_argument("--fail-task", type=int, help=argparse.SUPPRESS)
    # Streams local files through Python as other storage is (so tests reach that path).
    p.add_argument("--pipe-local", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.input = [uri for group in args.input for uri in group]
    return args


def local_path(uri):
    """The local path of a file: URI or a plain path, else None."""
    if uri.startswith("file:"):
        rest = uri[len("file:"):]
        while rest.startswith("//"):
            rest = rest[1:]
        return rest
    return None if "://" in uri else uri


def open_file(uri):
    """A seekable binary stream of a file: local, or through Arrow's file systems."""
    path = local_path(uri)
    if path is not None:
        return open(path, "rb")
    from pyarrow import fs  # only needed for hdfs://, s3a:// and the like

    filesystem, inner = fs.FileSystem.from_uri(uri.replace("s3a://", "s3://", 1))
    return filesystem.open_input_file(inner)


def record_name(uri):
    """The name findings give a file: its local path, else its URI."""
    path = local_path(uri)
    return path if path is not None else uri


def list_inputs(spark, uris):
    """Every file the inputs name (globs expanded, folders walked), with its size."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    files = {}
    for uri in uris:
        path = jvm.org.apache.hadoop.fs.Path(uri)
        filesystem = path.getFileSystem(conf)
        statuses = filesystem.globStatus(path)
        if statuses is None or len(statuses) == 0:
            raise SystemExit(f"wormtrace_spark: no such input: {uri}")
        for status in statuses:
            if status.isDirectory():
                walk = filesystem.listFiles(status.getPath(), True)
                while walk.hasNext():
                    found = walk.next()
                    files[found.getPath().toString()] = found.getLen()
            else:
                files[status.getPath().toString()] = status.getLen()
    return sorted(files.items(), key=lambda item: Path(record_name(item[0])).parts)


def line_start_at(stream, at, size):
    """The first line start at or after `at`."""
    if at <= 0 or at >= size:
        return min(max(at, 0), size)
    stream.seek(at - 1)
    if stream.read(1) == b"\n":
        return at
    position = at
    while position < size:
        block = stream.read(64 * 1024)
        if not block:
            break
        newline = block.find(b"\n")
        if newline >= 0:
            return position + newline + 1
        position += len(block)
    return size


def read_magic(uri):
    """The first bytes of a file."""
    with open_file(uri) as stream:
        return stream.read(8)


def plan_tasks(spark, files, split_size):
    """The tasks, each a list of units for one run of the binary: small files batched
    together (up to a quarter of the split size or BATCH_FILES files), a large plain log cut
    into ranges with one more unit that hashes it, other large files alone. The driver reads
    nothing itself: the first bytes of large files are read by a Spark job, and each range
    task moves its own ends to line starts."""
    large = [uri for uri, size in files if size > split_size]
    magic = {}
    if large:
        found = spark.sparkContext.parallelize(large, min(len(large), 1000))
        magic = dict(found.map(lambda uri: (uri, read_magic(uri))).collect())
    tasks, batch, batch_bytes = [], [], 0
    for uri, size in files:
        name = record_name(uri)
        if size <= split_size:
            batch.append({"kind": "whole", "uri": uri, "name": name})
            batch_bytes += size
            if batch_bytes >= split_size // 4 or len(batch) >= BATCH_FILES:
                tasks.append(batch)
                batch, batch_bytes = [], 0
        elif magic[uri].startswith(WHOLE_MAGIC):
            tasks.append([{"kind": "whole", "uri": uri, "name": name}])
        else:
            cuts = list(range(0, size, split_size)) + [size]
            for start, end in zip(cuts, cuts[1:]):
                unit = {"kind": "range", "uri": uri, "name": name, "start": start, "end": end,
                        "size": size}
                tasks.append([unit])
            tasks.append([{"kind": "digest", "uri": uri, "name": name}])
    if batch:
        tasks.append(batch)
    return tasks


def feed(process, uri, start, length):
    """Streams `length` bytes of `uri` from `start` (all when None) into the process."""
    try:
        with open_file(uri) as stream:
            if start:
                stream.seek(start)
            left = length
            while left is None or left > 0:
                block = stream.read(CHUNK if left is None else min(CHUNK, left))
                if not block:
                    break
                process.stdin.write(block)
                if left is not None:
                    left -= len(block)
    except BrokenPipeError:
        pass
    finally:
        try:
            process.stdin.close()
        except BrokenPipeError:
            pass


def shipped_binary():
    """The binary Spark shipped to this executor, made executable."""
    binary = SparkFiles.get("wormtrace")
    mode = os.stat(binary).st_mode
    if not mode & stat.S_IXUSR:
        os.chmod(binary, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return binary


def scan_command(task, scan_args, head_file):
    command = [shipped_binary(), "scan", "--partial", "--quiet", "--source", task["name"]]
    command += scan_args
    if task["kind"] == "range":
        command += ["--range", f"{task['start']}:{task['end']}"]
        if head_file:
            command += ["--head", head_file]
    elif task["kind"] == "digest":
        command += ["--digest-only"]
    return command + ["-"]


def run_tasks(args):
    """The executor side: each task's partial result, as ((task id, unit), line) pairs."""
    settings = argparse.Namespace(rules=list(args.rules), no_builtin=args.no_builtin)
    rest = [a for cidr in args.internal for a in ("--internal", cidr)] + list(args.scan_arg)
    fail_task, pipe_local = args.fail_task, args.pipe_local
    # Read on the driver: the executors' environment is not the driver's.
    mark = os.environ.get("WORMTRACE_SPARK_FAULT_MARK")

    def run(items):
        # Rule files were shipped with addFile: their paths are known here only.
        shipped = lambda path: SparkFiles.get(os.path.basename(os.path.normpath(path)))
        scan_args = rule_args(settings, shipped) + rest
        context = TaskContext.get()
        for task_id, units in items:
            if fail_task == task_id and context is not None and context.attemptNumber() == 0:
                # A fault the tests inject: this worker dies, and Spark runs the task again.
                if mark:
                    open(mark, "w").close()
                os._exit(3)
            for unit_no, unit in enumerate(units):
                for line in run_one(unit, scan_args, pipe_local):
                    yield (task_id, unit_no), line

    return run


def run_one(task, scan_args, pipe_local):
    """One run of the binary on one unit of a task: the lines of its partial result."""
    with tempfile.TemporaryDirectory(prefix="wormtrace-task-") as scratch:
        head_file = None
        if task["kind"] == "range":
            # Both ends move to the next line start; the task beside this one moves its end
            # to the same place, so no line is read twice or left out.
            with open_file(task["uri"]) as stream:
                task = dict(task)
                task["start"] = line_start_at(stream, task["start"], task["size"])
                task["end"] = line_start_at(stream, task["end"], task["size"])
        if task["kind"] == "range" and task["start"] > 0:
            head_file = os.path.join(scratch, "head")
            with open_file(task["uri"]) as stream, open(head_file, "wb") as out:
                out.write(stream.read(HEAD_BYTES))
        start = task.get("start", 0)
        length = task["end"] - start if task["kind"] == "range" else None
        local = None if pipe_local else local_path(task["uri"])
        # A local file is the binary's standard input itself (at the range's start), so no
        # byte passes through Python; other storage is streamed through a pipe.
        source = open(local, "rb") if local is not None else None
        if source is not None:
            source.seek(start)
        process = subprocess.Popen(
            scan_command(task, scan_args, head_file),
            stdin=source if source is not None else subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        feeder = None
        if source is not None:
            source.close()
        else:
            feeder = threading.Thread(target=feed, args=(process, task["uri"], start, length))
            feeder.start()
        errors = []
        drain = threading.Thread(target=lambda: errors.append(process.stderr.read()))
        drain.start()
        for line in process.stdout:
            yield line.decode("utf-8").rstrip("\n")
        if feeder is not None:
            feeder.join()
        drain.join()
        if process.wait() != 0:
            message = b"".join(errors).decode("utf-8", "replace")
            raise RuntimeError(f"wormtrace failed on {task['name']}: {message}")


def rule_args(args, shipped):
    """Rule options, with the rule paths as the executors (or the driver) see them."""
    out = []
    for path in args.rules:
        out += ["--rules", shipped(path)]
    if args.no_builtin:
        out.append("--no-builtin")
    return out


# The columns of the findings dataset (a request's fields, or a trace's or scan's text).
FINDING_COLUMNS = [
    ("family", "string"), ("day", "string"), ("time", "string"), ("rule_id", "string"),
    ("rule_title", "string"), ("level", "string"), ("confidence", "string"),
    ("evidence_kind", "string"), ("path", "string"), ("line", "long"), ("offset", "long"),
    ("format", "string"), ("client_ip", "string"), ("server", "string"), ("method", "string"),
    ("uri", "string"), ("status", "string"), ("text", "string"),
]


def finding_row(line):
    """One finding of a partial result as a row of FINDING_COLUMNS."""
    from datetime import datetime, timezone

    finding = json.loads(line)["finding"]
    (kind, evidence), = finding["evidence"].items()
    time_text = finding.get("time")
    day = None
    if time_text:
        moment = datetime.fromisoformat(time_text.replace("Z", "+00:00"))
        day = moment.astimezone(timezone.utc).date().isoformat()
    get = evidence.get
    return (
        finding["family"], day, time_text, finding["rule_id"], finding["rule_title"],
        finding["level"], finding["confidence"], kind.lower(), finding["path"], get("line"),
        get("offset"), get("format"), get("client_ip"), get("server"), get("method"),
        get("uri"), get("status"), get("text") or get("observed"),
    )


def write_findings(spark, results, output):
    """The findings as Parquet, partitioned by family and day (UTC), with a schema given
    up front (inferring one from JSON cost a pass of its own)."""
    schema = ", ".join(f"{name} {kind}" for name, kind in FINDING_COLUMNS)
    rows = results.filter(lambda item: item[1].startswith('{"finding":')).map(
        lambda item: finding_row(item[1])
    )
    frame = spark.createDataFrame(rows, schema)
    frame.write.mode("overwrite").partitionBy("family", "day").parquet(str(output / "findings"))


def collect_partials(results, folder):
    """Each unit's partial result in a file of its own, named by task id and unit: one result
    per task, whatever attempt gave it."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    out, current = None, None
    try:
        for key, line in results.toLocalIterator(prefetchPartitions=True):
            if key != current:
                if out is not None:
                    out.close()
                current = key
                path = folder / f"task-{key[0]:06d}-{key[1]:04d}.part"
                files.append(path)
                out = open(path, "w", encoding="utf-8")
            out.write(line + "\n")
    finally:
        if out is not None:
            out.close()
    return files


def merge(binary, partials, args, output):
    """Runs `wormtrace merge` on the driver: JSON Lines, the case file, the report, the summary."""
    common = [binary, "merge", "--quiet"] + rule_args(args, lambda p: p)
    if args.lang:
        common += ["--lang", args.lang]
    names = [str(p) for p in partials]
    outputs = [
        ["--format", "jsonl", "-o", str(output / "wormtrace.jsonl"),
         "--case", str(output / "case.sqlite"), "--report", str(output / "report.html")],
        ["--format", "summary", "-o", str(output / "summary.txt")],
    ]
    status = 0
    for extra in outputs:
        status = subprocess.run(common + extra + names, check=False).returncode
        if status > 2:
            raise SystemExit(f"wormtrace_spark: merge failed with status {status}")
    return status


def refuse_output_in_inputs(output, inputs):
    """Outputs never go over or beside evidence: the output folder may not be, or lie in, a
    local input (globs are checked by the folder they start from)."""
    out = Path(output).resolve()
    for uri in inputs:
        path = local_path(uri)
        if path is None:
            continue
        base = Path(path.split("*")[0].split("?")[0].split("[")[0] or ".").resolve()
        if out == base or base in out.parents:
            raise SystemExit(
                f"wormtrace_spark: --output {output} lies inside the input {uri}: "
                "write results outside the evidence"
            )


def main(argv=None):
    args = parse_args(argv)
    refuse_output_in_inputs(args.output, args.input)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    binary = os.path.abspath(args.binary)
    clock = Phases()
    builder = SparkSession.builder.appName("wormtrace")
    if args.master:
        builder = builder.master(args.master)
    spark = builder.getOrCreate()
    clock.done("start Spark")
    try:
        sc = spark.sparkContext
        sc.addFile(binary)
        for path in args.rules:
            sc.addFile(os.path.abspath(path), recursive=os.path.isdir(path))
        files = list_inputs(spark, args.input)
        tasks = plan_tasks(spark, files, args.split_size)
        if not tasks:
            raise SystemExit("wormtrace_spark: the inputs hold no files")
        clock.done("list and plan")
        results = (
            sc.parallelize(list(enumerate(tasks)), len(tasks))
            .mapPartitions(run_tasks(args))
            .persist(StorageLevel.DISK_ONLY)
        )
        results.count()
        clock.done("scan")
        write_findings(spark, results, output)
        clock.done("Parquet")
        partials = collect_partials(results, output / "partials")
        partials += [Path(p) for p in args.with_partial]
        clock.done("collect")
        status = merge(binary, partials, args, output)
        clock.done("merge")
        units = sum(len(t) for t in tasks)
        print(f"wormtrace_spark: {len(files)} files, {len(tasks)} tasks, {units} runs of the "
              f"binary; {clock}; results in {output}")
        return status
    finally:
        spark.stop()


class Phases:
    """Wall time per phase of the run, for the closing line."""

    def __init__(self):
        self.last = time.monotonic()
        self.spent = []

    def done(self, phase):
        now = time.monotonic()
        self.spent.append((phase, now - self.last))
        self.last = now

    def __str__(self):
        return ", ".join(f"{phase} {secs:.1f} s" for phase, secs in self.spent)


if __name__ == "__main__":
    sys.exit(main())
