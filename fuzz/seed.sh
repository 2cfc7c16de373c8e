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
# Load balancer, CDN, proxy and JSON logs: the same requests in every format.
$gen --modern "$tmp/modern"
for c in x-run code-red-flood netstat reg metabase listing flows code-red-capture; do
  $gen --big "$tmp/$c" --hostile "$c" --bytes 20000
done
corpus=fuzz/corpus
mkdir -p "$corpus"/{scan_input,log_line,sigma_rule,host_file,netstat,capture,whole_gzip}
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
# Small gzip files: one member, several members, a header with a file name, an empty one.
m=0
while IFS= read -r -d '' f; do
  m=$((m + 1))
  head -c 20000 "$f" | gzip -c > "$corpus/whole_gzip/one$m"
  { head -c 3000 "$f" | gzip -c; tail -c 3000 "$f" | gzip -c; } > "$corpus/whole_gzip/two$m"
  [ "$m" -lt 40 ] || break
done < <(find "$tmp/samples" "$tmp/modern" -type f ! -name '*.gz' -print0)
cp "$tmp/samples/apache/access_log.1.gz" "$corpus/whole_gzip/named.gz" 2>/dev/null || true
printf '' | gzip -c > "$corpus/whole_gzip/empty"
cp rules/*.yml "$corpus/sigma_rule/"
# A rule file of several documents: two base rules and a correlation of each shape over them.
for kind in event_count value_count temporal temporal_ordered value_sum value_avg value_median value_percentile; do
  cat > "$corpus/sigma_rule/mr_$kind.yml" <<YAML
title: a
name: a
logsource: {category: webserver}
detection: {sel: {cs-uri-stem|endswith: .ida}, condition: sel}
---
title: b
name: b
logsource: {category: webserver}
detection: {sel: {cs-uri-stem|contains: cmd.exe}, condition: sel}
---
title: c
correlation:
  type: $kind
  rules: [a, b]
  group-by: [host]
  aliases: {host: {a: c-ip, b: s-ip}}
  timespan: 5m
  condition: {field: sc-bytes, percentile: 90, gte: 2}
---
title: d
correlation:
  type: $kind
  rules: [c]
  group-by: [host]
  timespan: 1h
  condition: {field: host, percentile: 50, gte: 2}
YAML
done
echo "seeded $n files"
