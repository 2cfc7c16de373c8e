#!/usr/bin/env bash
# wormtrace on Spark (issue 17): the same BYTES (default 2 GB) in FILES (default 32) plain IIS
# logs scanned by `wormtrace scan`, by the Spark job in local[2], and by the job on a
# standalone cluster of one master and two one-core workers on loopback; then a 1 MB input
# through both Spark modes for the fixed overhead. Each output is checked against the scan's.
# Not part of the tests. Needs: hyperfine, jq, Java 17, the PySpark venv (tests/venv.sh).
# Usage: bench/spark.sh [BYTES] [FILES]. The table replaces the section between the
# `bench/spark.sh` markers in BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bytes=${1:-2000000000}
files=${2:-32}
data=bench/data
mkdir -p "$data"
cargo build --release --workspace
bash tests/venv.sh target/tmp/spark-venv spark/requirements.txt
python=target/tmp/spark-venv/bin/python
spark_home=$($python -c 'import pyspark, os; print(os.path.dirname(pyspark.__file__))')
wt=$PWD/target/release/wormtrace
export SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON=$PWD/$python
export PYSPARK_SUBMIT_ARGS="--conf spark.ui.enabled=false --driver-memory 2g pyspark-shell"
set_dir=$PWD/$data/spark-set
tiny=$PWD/$data/spark-tiny
out=$PWD/$data/spark-out
rm -rf "$set_dir" "$tiny" "$out"
./target/release/wormtrace-gen --big "$set_dir" --bytes "$bytes" --files "$files" > /dev/null
./target/release/wormtrace-gen --big "$tiny" --bytes 1000000 --files 1 > /dev/null
find "$set_dir" "$tiny" -type f -exec cat {} + > /dev/null

# A standalone cluster for the length of the script.
port=17077
logs=$(mktemp -d)
"$spark_home/bin/spark-class" org.apache.spark.deploy.master.Master --host 127.0.0.1 \
    --port $port --webui-port 18080 > "$logs/master.log" 2>&1 &
pids=$!
for n in 1 2; do
    SPARK_WORKER_DIR="$logs/work$n" "$spark_home/bin/spark-class" org.apache.spark.deploy.worker.Worker \
        --host 127.0.0.1 --cores 1 --memory 2g --webui-port $((18080 + n)) spark://127.0.0.1:$port \
        > "$logs/worker$n.log" 2>&1 &
    pids="$pids $!"
done
trap 'kill $pids 2>/dev/null; wait 2>/dev/null; rm -rf "$logs"' EXIT
until [ "$(grep -c 'Registering worker' "$logs/master.log" || true)" -ge 2 ]; do sleep 0.5; done

job() { # master input
    echo "$python spark/wormtrace_spark.py --master $1 --binary $wt --input $2 --output $out"
}
# The job's output must be one scan's.
for master in 'local[2]' "spark://127.0.0.1:$port"; do
    rm -rf "$out"
    $(job "$master" "$set_dir") > /dev/null 2>&1 || [ $? = 1 ]
    $wt scan -q --format jsonl -o "$data/spark-one.jsonl" "$set_dir" || [ $? = 1 ]
    cmp "$out/wormtrace.jsonl" "$data/spark-one.jsonl" || { echo "MISMATCH ($master)" >&2; exit 1; }
done

hyperfine -N --warmup 1 --runs 3 -i --export-json "$data/hf-spark.json" \
    "$wt scan -q --format jsonl -o /dev/null $set_dir" \
    "$(job 'local[2]' "$set_dir")" \
    "$(job "spark://127.0.0.1:$port" "$set_dir")" \
    "$(job 'local[2]' "$tiny")" \
    "$(job "spark://127.0.0.1:$port" "$tiny")" > /dev/null

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
machine="$(nproc) cores ($cpu), $(free -g | awk '/Mem:/{print $2}') GiB"
size=$(du -sb "$set_dir" | cut -f1)
python3 - "$data/hf-spark.json" "$size" "$files" "$machine" "$(git rev-parse --short HEAD)" "$(date -u +%F)" "$bytes $files" <<'PY'
import json, re, sys
hf, size, files, machine, commit, day, args = sys.argv[1:]
size = int(size)
r = json.load(open(hf))["results"]
names = ["`wormtrace scan` (all cores)", "Spark `local[2]`", "Spark standalone, 2 workers x 1 core",
         "Spark `local[2]`, 1 MB", "Spark standalone, 1 MB"]
rows = "\n".join(f"| {n} | {x['mean']:.2f} s ± {x['stddev']:.2f} | {size / x['mean'] / 1e9:.2f} |"
                 if i < 3 else f"| {n} | {x['mean']:.2f} s ± {x['stddev']:.2f} | |"
                 for i, (n, x) in enumerate(zip(names, r)))
gb = size / 1e9
per_gb = [(r[i]["mean"] - r[i + 2]["mean"]) / gb for i in (1, 2)]
section = (f"<!-- bench/spark.sh -->\n## Spark: `bench/spark.sh {args}` (written by the script)\n\n"
           f"Machine: {machine}. Commit: {commit}. Date: {day}. {files} plain IIS logs, {size} bytes; "
           "hyperfine, 3 runs after a warm-up, warm cache; both Spark outputs were checked against the scan's "
           "(same JSON Lines bytes) before timing.\n\n"
           "| run | mean | GB/s |\n|---|---|---|\n" + rows + "\n\n"
           f"Fixed overhead (the 1 MB run): {r[3]['mean']:.1f} s in local mode, {r[4]['mean']:.1f} s on the cluster. "
           f"Cost per GB beyond it: {per_gb[0]:.2f} s (local[2]), {per_gb[1]:.2f} s (cluster).\n"
           "<!-- /bench/spark.sh -->")
text = open("BENCHMARKS.md").read()
pattern = re.compile(r"<!-- bench/spark.sh -->.*?<!-- /bench/spark.sh -->", re.S)
text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section + "\n"
open("BENCHMARKS.md", "w").write(text)
PY
rm -rf "$set_dir" "$tiny" "$out" "$data/spark-one.jsonl"
echo "BENCHMARKS.md updated"
