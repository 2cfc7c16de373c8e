#!/usr/bin/env bash
# Hostile evidence (issue 14): peak memory and throughput of `wormtrace scan` on inputs made
# to exhaust it, each at its base size and ten times that, in every output format. Not part
# of the tests. Needs: GNU time (/usr/bin/time), zstd, gzip (Debian packages).
# Usage: bench/hostile.sh [SCALE]   (SCALE multiplies every base size; default 1)
# The table replaces the section between the `bench/hostile.sh` markers in BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:-1}
data=bench/data/hostile
mkdir -p "$data"
cargo build --release --workspace
wt=$PWD/target/release/wormtrace
gen=$PWD/target/release/wormtrace-gen
report="$data/hostile.md"
: > "$report"

# case name, generator case, base bytes, file name, how it is packed (plain, zst, gz)
cases=(
  "netstat, a local address per row|netstat|57000000|netstat.txt|plain"
  "whole-hive .reg export|reg|300000000|export.reg|plain"
  "MetaBase.xml of many sites|metabase|400000000|MetaBase.xml|plain"
  "dir /s listing, readme.eml everywhere|listing|215000000|dir.txt|plain"
  "capture, request heads never finished|flows|25000000|flows.pcap|plain"
  "capture, a million flows opened a second|flows-burst|50000000|flows-burst.pcap|plain"
  "capture of 8 KB Code Red requests|code-red-capture|200000000|codered.pcap|plain"
  "X/N runs of 4-8 KB after /default.ida|x-run|300000000|xrun.log|plain"
  "Code Red flood, 762 clients, no line repeated|code-red-flood|200000000|flood.log|plain"
  "9.1 M probes in 15 KB of zstd|hits|182000000|hits.log.zst|zst"
  "10 GB of X/N runs in a .gz|x-run|10000000000|xrun10g.log.gz|gz"
)

make_case() { # generator-case bytes file packing
  local out="$data/$3"
  [ -e "$out" ] && return
  case "$4" in
    plain) $gen --big "$out" --hostile "$1" --bytes "$2" ;;
    zst) $gen --big "$out.raw" --hostile "$1" --bytes "$2" && zstd -q -19 --rm "$out.raw" -o "$out" ;;
    gz) $gen --big /dev/stdout --hostile "$1" --bytes "$2" | gzip -9 > "$out" ;;
  esac
}

# Peak RSS (MB) and wall time of one scan.
measure() { # file format
  local out
  out=$(mktemp -d)
  # Streamed outputs go to /dev/null (they are written in full all the same); the case file
  # and the report need files.
  local args=(--format "$2" -o /dev/null)
  case "$2" in
    case) args=(--format summary -o /dev/null --case "$out/case.sqlite") ;;
    report) args=(--format summary -o /dev/null --report "$out/report.html") ;;
  esac
  /usr/bin/time -f '%M %e' -o "$out/time" "$wt" scan --quiet "${args[@]}" "$1" > /dev/null 2>&1 || true
  # GNU time puts "Command exited with non-zero status N" first when the scan found something.
  read -r kb secs < <(tail -n 1 "$out/time")
  rm -rf "$out"
  echo "$((kb / 1024)) $secs"
}

# Wall seconds of a scan on one core without hashing (`-j1 --hash none`, JSON Lines): the
# fastest of three runs, timed to the millisecond (this VM's speed moves within seconds, and
# GNU time's hundredths are a tenth of a small case).
measure_core() { # file
  local best=""
  for _ in 1 2 3; do
    local start end
    start=$(date +%s%N)
    "$wt" scan --quiet -j1 --hash none --format jsonl -o /dev/null "$1" > /dev/null 2>&1 || true
    end=$(date +%s%N)
    local ms=$(( (end - start) / 1000000 ))
    if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
  done
  awk -v ms="$best" 'BEGIN { printf "%.3f", ms / 1000 }'
}

{
  printf '\nScale %s; `wormtrace scan --quiet` with each output; peak RSS (MB) from GNU time, wall seconds, and the rate over the decoded bytes. The last column is the rate on one core: `-j1 --hash none`, JSON Lines, the fastest of three runs (base sizes only).\n\n' "$scale"
  printf '| case | size | decoded | jsonl MB | json MB | csv MB | summary MB | case MB | report MB | jsonl s | MB/s | one core MB/s |\n'
  printf '|---|---|---|---|---|---|---|---|---|---|---|---|\n'
} >> "$report"
# Every case is written before any is measured, and flushed to disk: the kernel writing back
# gigabytes of a case just made took CPU from the scans measured after it (half the speed).
for spec in "${cases[@]}"; do
  IFS='|' read -r title name base file packing <<< "$spec"
  for times in 1 10; do
    [ "$packing" = gz ] && [ "$times" = 10 ] && continue
    make_case "$name" "$((base * scale * times))" "${file/./-x$times.}" "$packing"
  done
done
sync
for spec in "${cases[@]}"; do
  IFS='|' read -r title name base file packing <<< "$spec"
  for times in 1 10; do
    bytes=$((base * scale * times))
    # The 10 GB case has no ten-times version: 100 GB takes too long on a laptop.
    [ "$packing" = gz ] && [ "$times" = 10 ] && continue
    f="${file/./-x$times.}"
    row="| $title (x$times) | $(stat -c %s "$data/$f") | $bytes"
    for format in jsonl json csv summary case report; do
      # Ten times the size, and 10 GB: JSON Lines and the summary only (the other outputs
      # take as long again each, and their memory is measured at the base size).
      if { [ "$times" = 10 ] || [ "$packing" = gz ]; } && [ "$format" != jsonl ] && [ "$format" != summary ]; then
        row="$row | -"
        continue
      fi
      read -r mb secs <<< "$(measure "$data/$f" "$format")"
      row="$row | $mb"
      [ "$format" = jsonl ] && jsonl_secs=$secs
    done
    rate=$(awk -v b="$bytes" -v s="$jsonl_secs" 'BEGIN { printf "%.0f", b / 1e6 / (s > 0 ? s : 0.001) }')
    core=-
    if [ "$times" = 1 ]; then
      core=$(awk -v b="$bytes" -v s="$(measure_core "$data/$f")" 'BEGIN { printf "%.0f", b / 1e6 / (s > 0 ? s : 0.001) }')
    fi
    echo "$row | $jsonl_secs | $rate | $core |" | tee -a "$report"
  done
done

# This VM's speed moves by half between sessions (steal): SHA-256 of one file in the same
# run tells readers which state the figures were taken in.
ref="$data/flood-x1.log"
openssl dgst -sha256 "$ref" > /dev/null
ref_secs=$( { /usr/bin/time -f '%e' openssl dgst -sha256 "$ref" > /dev/null; } 2>&1 | tail -n 1)
awk -v b="$(stat -c %s "$ref")" -v s="$ref_secs" -v f="$ref" 'BEGIN { printf "\nIn the same run, `openssl dgst -sha256 %s` (SHA-NI): %.2f GB/s.\n", f, b / 1e9 / (s > 0 ? s : 0.001) }' >> "$report"

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
python3 - "$report" "$cpu" <<'EOF'
import re, sys
report, cpu = sys.argv[1], sys.argv[2]
table = open(report).read()
path = "BENCHMARKS.md"
text = open(path).read()
start, end = "<!-- bench/hostile.sh -->", "<!-- /bench/hostile.sh -->"
body = f"{start}\nMachine: {cpu}, 2 cores. Command: `bench/hostile.sh`.\n{table}\n{end}"
if start in text:
    text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: body, text, flags=re.S)
else:
    text += "\n## Hostile evidence: memory and worst-case throughput\n\n" + body + "\n"
open(path, "w").write(text)
EOF
echo "BENCHMARKS.md updated"
