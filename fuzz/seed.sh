#!/usr/bin/env bash
# Seeds each fuzz target's corpus (fuzz/corpus/<target>/, not kept in git) from the
# generator: the sample evidence, small hostile cases and the built-in rules.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p wormtrace-gen
gen=./target/release/wormtrace-gen
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
$gen --out "$tmp/samples" > /dev/null
for c in x-run netstat reg metabase listing flows code-red-capture; do
  $gen --big "$tmp/$c" --hostile "$c" --bytes 20000
done
corpus=fuzz/corpus
mkdir -p "$corpus"/{scan_input,log_line,sigma_rule,host_file,netstat,capture}
n=0
while IFS= read -r -d '' f; do
  n=$((n + 1))
  head -c 65536 "$f" > "$corpus/scan_input/s$n"
  case "$f" in
    *.pcap|*.pcapng|*flows|*code-red-capture) head -c 65536 "$f" > "$corpus/capture/s$n" ;;
    *netstat*) cp "$f" "$corpus/netstat/s$n" ;;
    *.reg|*reg|*MetaBase*|*metabase|*listing*|*dir*.txt|*.dll|*.exe|*SYSTEM*|*SOFTWARE*) head -c 65536 "$f" > "$corpus/host_file/s$n" ;;
    *) head -c 4096 "$f" > "$corpus/log_line/s$n" ;;
  esac
done < <(find "$tmp" -type f -print0)
cp rules/*.yml "$corpus/sigma_rule/"
echo "seeded $n files"
