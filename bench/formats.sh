#!/usr/bin/env bash
# Throughput per log format (issue 19): a log of BYTES in each load balancer, CDN, proxy and
# JSON format, wormtrace beside ripgrep on the same file in one hyperfine run, warm cache;
# then a folder of many small gzipped files against one gzipped file of the same bytes.
# Not part of the tests. Needs: hyperfine, ripgrep, jq, gzip (Debian packages).
# Usage: bench/formats.sh [BYTES] [FILES]   (defaults 1000000000 and 100000)
# Each log is generated, checked (wormtrace must find exactly what was injected), timed and
# deleted before the next, so the disk holds one at a time. The tables replace the section
# between the `bench/formats.sh` markers in BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bytes=${1:-1000000000}
files=${2:-100000}
data=bench/data
mkdir -p "$data"
cargo build --release --workspace
wt=./target/release/wormtrace
gen=./target/release/wormtrace-gen
rg=${RG:-rg}
scan="$wt scan --format jsonl --quiet -o /dev/null"
pattern='default\.ida|root\.exe|cmd\.exe|\.\.%255c|\.\.%c[01]'
report="$data/formats.md"

# Fails the run unless wormtrace finds exactly what the generator injected.
check_counts() { # input counts.json
  injected=$(jq -S -c '.injected' "$2")
  found=$($wt scan --hash none --format jsonl --quiet "$1" | jq -S -s -c '[.[] | select(.type=="finding") | .family] | group_by(.) | map({(.[0]): length}) | add // {}' || true)
  [ "$found" = "$injected" ] || { echo "MISMATCH in $1: found $found, injected $injected" >&2; exit 1; }
}

gbs() { jq -r --argjson size "$1" --argjson i "$2" '.results[$i].mean as $m | "\($size / $m / 1e9 * 100 | round / 100)"' "$data/hf.json"; }

{
  printf '\n| format | bytes | `-j1 --hash none` GB/s | `-j2` (SHA-256) GB/s | `rg -j1 -c` GB/s | -j1 / rg time |\n'
  printf '|---|---|---|---|---|---|\n'
} > "$report"
for layout in aws-alb aws-elb cloudfront haproxy nginx-json caddy-json traefik-json envoy-json gcp-lb azure-frontdoor azure-appgw iis10; do
  log="$data/fmt-$layout.log"
  $gen --big "$log" --bytes "$bytes" --layout "$layout" > "$log.counts.json"
  check_counts "$log" "$log.counts.json"
  cat "$log" > /dev/null
  size=$(stat -c %s "$log")
  hyperfine -N --warmup 1 --runs 3 -i --export-json "$data/hf.json" \
    "$scan --hash none -j1 $log" "$scan -j2 $log" "$rg -j1 -c '$pattern' $log" > /dev/null
  ratio=$(jq -r '(.results[0].mean / .results[2].mean * 100 | round / 100)' "$data/hf.json")
  printf '| `%s` | %s | %s | %s | %s | %s |\n' "$layout" "$size" "$(gbs "$size" 0)" "$(gbs "$size" 1)" "$(gbs "$size" 2)" "$ratio" >> "$report"
  rm -f "$log" "$log.counts.json"
done

# Object-store layout: many small gzipped ALB files against one gzipped file of the same
# decompressed bytes (the same lines, so the same findings).
many="$data/alb-many"
one="$data/alb-one.log"
rm -rf "$many" "$one" "$one.gz"
$gen --big "$many" --bytes "$bytes" --files "$files" --layout aws-alb > "$data/alb-many.counts.json"
find "$many" -name '*.log' -print0 | sort -z | xargs -0 cat > "$one"
gzip -r -q "$many"
gzip -q "$one"
check_counts "$many" "$data/alb-many.counts.json"
check_counts "$one.gz" "$data/alb-many.counts.json"
find "$many" -type f -exec cat {} + > /dev/null
cat "$one.gz" > /dev/null
hyperfine -N --warmup 1 --runs 10 -i --export-json "$data/hf.json" \
  "$scan -j2 $many" "$scan -j2 $one.gz" "$scan --hash none -j2 $many" "$scan --hash none -j2 $one.gz" > /dev/null
{
  printf '\n**%s small gzipped ALB files against one gzipped file** (%s bytes decompressed, %s bytes stored in the folder, %s in the one file)\n\n' \
    "$files" "$bytes" "$(du -sb "$many" | cut -f1)" "$(stat -c %s "$one.gz")"
  printf '| command | mean | GB/s (decompressed) | folder / one file throughput |\n|---|---|---|---|\n'
  jq -r --argjson size "$bytes" '.results as $r | range(0; 4) as $i | $r[$i] as $x |
    ($r[$i - ($i % 2) + 1].mean / $r[$i - ($i % 2)].mean * 100 | round / 100) as $rel |
    "| `\($x.command)` | \($x.mean * 1000 | round / 1000) s ± \($x.stddev * 1000 | round / 1000) | \($size / $x.mean / 1e9 * 100 | round / 100) | \(if $i % 2 == 0 then $rel else "" end) |"' "$data/hf.json"
} >> "$report"
rm -rf "$many" "$one.gz"

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
machine="$(nproc) cores ($cpu), $(free -g | awk '/Mem:/{print $2}') GiB"
versions="$($rg --version | head -1), $(hyperfine --version)"
python3 - "$report" "$machine" "$(git rev-parse --short HEAD)" "$(date -u +%F)" "$bytes $files" "$versions" <<'PY'
import re, sys
report, machine, commit, day, args, versions = sys.argv[1:]
body = open(report).read()
section = (f"<!-- bench/formats.sh -->\n## Throughput per format: `bench/formats.sh {args}` (written by the script)\n\n"
           f"Machine: {machine}. Commit: {commit}. Date: {day}. Peers: {versions}.\n"
           "Each log holds the benchmark traffic (pages, Code Red, Code Red II and Nimda at fixed intervals) "
           "in that format; wormtrace found exactly the injected requests in each before it was timed.\n"
           f"{body}\n<!-- /bench/formats.sh -->")
text = open("BENCHMARKS.md").read()
pattern = re.compile(r"<!-- bench/formats.sh -->.*?<!-- /bench/formats.sh -->", re.S)
if pattern.search(text):
    text = pattern.sub(lambda _: section, text)
else:
    text = text.rstrip("\n") + "\n\n" + section + "\n"
open("BENCHMARKS.md", "w").write(text)
PY
echo "BENCHMARKS.md updated"
