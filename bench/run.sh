#!/usr/bin/env bash
# Throughput and memory of wormtrace beside its peers on generated logs, each comparison in
# one hyperfine run. Not part of the tests.
# Needs: hyperfine, ripgrep, pigz, zstd (Debian packages), GNU time, jq.
# Usage: bench/run.sh [BYTES]   (default 2000000000; the data goes to bench/data/)
# Sections: W3C and NCSA logs against rg and GNU grep; .gz and .zst against gzip, pigz,
# zstd and our own decoder; a folder of 10,000 files against one file; peak memory on
# 10 GB, a single 1 GB line and a 10 GB gzip bomb of text.
set -euo pipefail
cd "$(dirname "$0")/.."
bytes=${1:-2000000000}
data=bench/data
mkdir -p "$data"
cargo build --release --workspace --bins --examples
wt=./target/release/wormtrace
gen=./target/release/wormtrace-gen
scan="$wt scan --format jsonl --quiet -o /dev/null"
pattern='default\.ida|root\.exe|cmd\.exe|\.\.%255c|\.\.%c[01]'
report="$data/report.md"   # this run's tables; copied into BENCHMARKS.md at the end
: > "$report"
# hf TITLE BYTES REF_INDEX COMMAND...: one hyperfine run, and a table row per command with
# GB/s (of BYTES) and the ratio to command number REF_INDEX (0-based).
hf() {
  local title=$1 size=$2 ref=$3; shift 3
  hyperfine -N --warmup 1 --runs 5 -i --export-json "$data/hf.json" "$@"
  {
    printf '\n**%s**\n\n| command | mean | GB/s | ratio |\n|---|---|---|---|\n' "$title"
    jq -r --argjson size "$size" --argjson ref "$ref" '
      .results[$ref].mean as $base | .results[] |
      "| `\(.command | gsub("\\|"; "\\|"))` | \(.mean * 1000 | round / 1000) s ± \(.stddev * 1000 | round / 1000) | \($size / .mean / 1e9 * 100 | round / 100) | \(.mean / $base * 100 | round / 100) |"' "$data/hf.json"
  } >> "$report"
}
# rss COMMAND...: elapsed time and peak RSS from /usr/bin/time -v.
rss() {
  /usr/bin/time -v "$@" > /dev/null 2> "$data/time.txt" || true
  local secs kb
  secs=$(grep 'Elapsed (wall clock)' "$data/time.txt" | awk '{print $NF}')
  kb=$(grep 'Maximum resident set size' "$data/time.txt" | awk '{print $NF}')
  echo "$secs, $kb KB max RSS: $*"
  printf '| `%s` | %s | %s KB |\n' "$*" "$secs" "$kb" >> "$report"
}

# Fails the run unless wormtrace finds exactly the attacks the generator injected.
check_counts() { # input counts.json
  found=$($wt scan --format jsonl --quiet "$1" | jq -s -c '[.[] | select(.type=="finding") | .family] | group_by(.) | map({(.[0]): length}) | add // {}' || true)
  injected=$(jq -c '.injected' "$2")
  echo "found $found, injected $injected"
  [ "$(jq -S -c . <<<"$found")" = "$(jq -S -c . <<<"$injected")" ] || { echo "MISMATCH" >&2; exit 1; }
}

make_log() { # layout file bytes [files]
  [ -e "$2" ] || $gen --big "$2" --bytes "$3" --layout "$1" --files "${4:-1}" | tee "$2.counts.json"
}

w3c="$data/iis-$bytes.log"
ncsa="$data/ncsa-$bytes.log"
make_log w3c "$w3c" "$bytes"
make_log ncsa "$ncsa" "$bytes"

for log in "$w3c" "$ncsa"; do
  cat "$log" > /dev/null   # warm the page cache
  echo "== $log: findings against the injected counts in $log.counts.json"
  check_counts "$log" "$log.counts.json"
  echo "== $log: timing"
  size=$(stat -c %s "$log")
  hf "$log (ratio to ripgrep)" "$size" 4 "$scan -j1 $log" "$scan -j2 $log" \
     "$scan -j1 --rules ../shared/sigma $log" "$scan -j2 --rules ../shared/sigma $log" \
     "rg -j1 -c '$pattern' $log" "sh -c \"grep -c -E '$pattern' $log | cat\""
  printf '\n| command | wall | peak RSS |\n|---|---|---|\n' >> "$report"
  rss $scan -j1 "$log"
  rss $scan -j2 "$log"
done

echo "== compressed input"
[ -e "$w3c.gz" ] || pigz -6 -k -c "$w3c" > "$w3c.gz"
[ -e "$w3c.zst" ] || zstd -q -3 -T0 -c "$w3c" > "$w3c.zst"
cat "$w3c.gz" "$w3c.zst" > /dev/null
size=$(stat -c %s "$w3c")
hf ".gz (ratio to our decoder alone; GB/s of decompressed log)" "$size" 1 \
  "$scan -j1 $w3c.gz" "./target/release/examples/decode $w3c.gz" "gzip -dc $w3c.gz" "pigz -dc $w3c.gz"
hf ".zst (ratio to our decoder alone)" "$size" 1 \
  "$scan -j1 $w3c.zst" "./target/release/examples/decode $w3c.zst" "zstd -dc $w3c.zst"

echo "== 10,000 files of $((bytes / 2 / 10000)) bytes against one file of the same total"
small="$data/small-10000"
make_log w3c "$small" "$((bytes / 2))" 10000
one="$data/iis-$((bytes / 2)).log"
make_log w3c "$one" "$((bytes / 2))"
cat "$small"/* "$one" > /dev/null
hf "10,000 files against one file (ratio to -j2 on the one file)" "$((bytes / 2))" 1 \
  "$scan -j2 $small" "$scan -j2 $one" "$scan -j1 $small" "$scan -j1 $one"

echo "== peak memory"
printf '\n**Peak memory**\n\n| command | wall | peak RSS |\n|---|---|---|\n' >> "$report"
big="$data/iis-10000000000.log"
make_log w3c "$big" 10000000000
rss $scan "$big"
rm -f "$big"
line="$data/one-line-1g.log"
[ -e "$line" ] || { printf 'GET /default.ida?'; head -c 1000000000 /dev/zero | tr '\0' X; } > "$line"
rss $scan "$line"
bomb="$data/textbomb-10g.gz"
[ -e "$bomb" ] || { (yes 'GET /index.htm HTTP/1.0' || true) | head -c 10000000000 | pigz -1 > "$bomb"; }
rss $scan "$bomb"
machine="$(nproc) cores,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), $(free -g | awk '/Mem:/{print $2}') GiB"
echo "machine: $machine; commit $(git rev-parse --short HEAD)"
# The tables go into BENCHMARKS.md between the markers, replacing the last run's.
python3 - "$report" "$machine" "$(git rev-parse --short HEAD)" "$(date -u +%F)" "$bytes" <<'PY'
import re, sys
report, machine, commit, day, size = sys.argv[1:]
body = open(report).read()
section = (f"<!-- bench/run.sh -->\n## Last `bench/run.sh {size}` (written by the script)\n\n"
           f"Machine: {machine}. Commit: {commit}. Date: {day}.\n{body}\n<!-- /bench/run.sh -->")
text = open("BENCHMARKS.md").read()
pattern = re.compile(r"<!-- bench/run.sh -->.*?<!-- /bench/run.sh -->", re.S)
text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
open("BENCHMARKS.md", "w").write(text)
PY
