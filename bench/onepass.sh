#!/usr/bin/env bash
# One pass over the bytes (issue 18): wormtrace beside ripgrep and openssl on two traffic
# mixes, each comparison in one hyperfine run, warm cache. Not part of the tests.
# Needs: hyperfine, ripgrep, openssl, jq (Debian packages).
# Usage: bench/onepass.sh [BYTES]   (default 2000000000; the logs go to bench/data/)
# After each mix's table, examples/read_floor gives what reading the file costs before any
# search (read, read and count newlines, map, map and count), on one thread and two.
# Mixes: `plain` (a few static pages) and `busy` (benign .idq queries in 0.16% of lines,
# /scripts/ paths, cmd.exe in query strings, mixed case, 30% 404s). The tables replace the
# section between the `bench/onepass.sh` markers in BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bytes=${1:-2000000000}
data=bench/data
mkdir -p "$data"
cargo build --release --workspace --bins --examples
wt=./target/release/wormtrace
gen=./target/release/wormtrace-gen
rg=${RG:-rg}
scan="$wt scan --format jsonl --quiet -o /dev/null"
pattern='default\.ida|root\.exe|cmd\.exe|\.\.%255c|\.\.%c[01]'
report="$data/onepass.md"
: > "$report"

# Fails the run unless wormtrace finds exactly what the generator injected, with and
# without hashing.
check_counts() { # log counts.json
  injected=$(jq -S -c '.injected' "$2")
  for hash in sha256 none; do
    found=$($wt scan --hash $hash --format jsonl --quiet "$1" | jq -S -s -c '[.[] | select(.type=="finding") | .family] | group_by(.) | map({(.[0]): length}) | add // {}' || true)
    echo "--hash $hash: found $found, injected $injected"
    [ "$found" = "$injected" ] || { echo "MISMATCH" >&2; exit 1; }
  done
}

for mix in plain busy; do
  log="$data/iis-$mix-$bytes.log"
  [ -e "$log" ] || $gen --big "$log" --bytes "$bytes" --mix "$mix" | tee "$log.counts.json"
  check_counts "$log" "$log.counts.json"
  cat "$log" > /dev/null   # warm the page cache
  size=$(stat -c %s "$log")
  hyperfine -N --warmup 1 --runs 5 -i --export-json "$data/hf.json" \
    "$scan --hash none -j1 $log" "$scan --hash none -j2 $log" \
    "$scan -j1 $log" "$scan -j2 $log" \
    "$rg -j1 -c '$pattern' $log" "$rg -j1 -i -c '$pattern' $log" \
    "$rg -j1 --no-mmap -c '$pattern' $log" "openssl dgst -sha256 $log"
  {
    printf '\n**%s mix** (%s bytes; ratios to `rg -c`, and to `openssl` for the hashed scans)\n\n' "$mix" "$size"
    printf '| command | mean | GB/s | ratio to rg -c | ratio to openssl |\n|---|---|---|---|---|\n'
    jq -r --argjson size "$size" '
      .results[4].mean as $rg | .results[7].mean as $ssl | .results[] |
      "| `\(.command | gsub("\\|"; "\\|"))` | \(.mean * 1000 | round / 1000) s ± \(.stddev * 1000 | round / 1000) | \($size / .mean / 1e9 * 100 | round / 100) | \(.mean / $rg * 100 | round / 100) | \(.mean / $ssl * 100 | round / 100) |"' "$data/hf.json"
  } >> "$report"
  # What reading the file costs before any search, in the same minutes (examples/read_floor.rs).
  {
    printf '\nThe floor on this file (`examples/read_floor`, medians of 7):\n\n```\n'
    ./target/release/examples/read_floor "$log" | tail -n +2
    printf '```\n'
  } >> "$report"
done

# The SigmaHQ goal (at most 1.5x the built-in rules' time), when the corpus is there.
sigma=${WORMTRACE_SIGMA_DIR:-../shared/sigma}
if [ -d "$sigma" ]; then
  log="$data/iis-busy-$bytes.log"
  hyperfine -N --warmup 1 --runs 5 -i --export-json "$data/hf.json" \
    "$scan -j1 $log" "$scan -j1 --rules $sigma $log" "$scan -j2 $log" "$scan -j2 --rules $sigma $log"
  {
    printf '\n**SigmaHQ web rules loaded** (busy mix; ratio to the built-in rules at the same -j)\n\n'
    printf '| command | mean | ratio |\n|---|---|---|\n'
    jq -r '.results as $r | range(0; 4) as $i | $r[$i] as $x | $r[$i - ($i % 2)].mean as $base |
      "| `\($x.command)` | \($x.mean * 1000 | round / 1000) s ± \($x.stddev * 1000 | round / 1000) | \($x.mean / $base * 100 | round / 100) |"' "$data/hf.json"
  } >> "$report"
fi

# A virtual machine's model name can be only the vendor's ("AMD EPYC"), so the family, the
# model and the instruction sets the scan and the hash use are named too.
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
family=$(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')
model=$(grep -m1 '^model[[:space:]]' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')
flags=$(grep -m1 '^flags' /proc/cpuinfo)
has() { [[ " $flags " == *" $1 "* ]] && echo "$2" || echo "no $2"; }
machine="$(nproc) cores ($cpu, family $family model $model; $(has avx2 AVX2), $(has avx512bw AVX-512BW), $(has sha_ni SHA-NI)), $(free -g | awk '/Mem:/{print $2}') GiB"
versions="$($rg --version | head -1), $(openssl version | cut -d' ' -f1-2), $(hyperfine --version)"
python3 - "$report" "$machine" "$(git rev-parse --short HEAD)" "$(date -u +%F)" "$bytes" "$versions" <<'PY'
import re, sys
report, machine, commit, day, size, versions = sys.argv[1:]
body = open(report).read()
section = (f"<!-- bench/onepass.sh -->\n## One pass over the bytes: `bench/onepass.sh {size}` (written by the script)\n\n"
           f"Machine: {machine}. Commit: {commit}. Date: {day}. Peers: {versions}.\n{body}\n<!-- /bench/onepass.sh -->")
text = open("BENCHMARKS.md").read()
pattern = re.compile(r"<!-- bench/onepass.sh -->.*?<!-- /bench/onepass.sh -->", re.S)
if pattern.search(text):
    text = pattern.sub(lambda _: section, text)
else:
    head, sep, rest = text.partition("\n## ")
    text = head.rstrip() + "\n\n" + section + "\n\n## " + rest
open("BENCHMARKS.md", "w").write(text)
PY
cat "$report"
