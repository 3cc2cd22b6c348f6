#!/usr/bin/env bash
# run-fuzzer.sh BINARY CORPUS SECONDS - a short libFuzzer run on a scratch copy of the seed corpus.
# On a finding, the input that triggered it is printed (base64) before the scratch folder
# goes, so a failure seen only in CI's log can be reproduced: decode it into a file and
# run the binary on that file.
set -euo pipefail
bin=$1 corpus=$2 secs=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$corpus"/. "$work"/
cd "$work"
mkdir -p "$work/findings"
rc=0
"$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$work/findings/" "$work" || rc=$?
if [ "$rc" -ne 0 ]; then
    for f in "$work"/findings/*; do
        [ -f "$f" ] || continue
        echo "== finding $(basename "$f") ($(stat -c %s "$f") bytes), base64:"
        base64 -w 100 "$f"
    done
fi
exit "$rc"
