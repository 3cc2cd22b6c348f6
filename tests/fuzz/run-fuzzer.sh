#!/usr/bin/env bash
# run-fuzzer.sh BINARY CORPUS SECONDS - a short libFuzzer run on a scratch copy of the seed corpus.
set -euo pipefail
bin=$1 corpus=$2 secs=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$corpus"/. "$work"/
cd "$work"
"$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "$work"
