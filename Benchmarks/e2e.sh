#!/usr/bin/env bash
# End-to-end quality: `trackd track VIDEO` with the shipped defaults (the default
# detector on the pixels, then the tracker) on the two annotated videos vendored in
# Benchmarks/data (MOT17-02 at 960x540, scored as MOT17 with its distractor
# preprocessing; TUD-Campus at 640x480, scored as MOT15, without), class person.
# Scored by scripts/mot-eval (TrackEval). Prints figures; not a test.
#
#   Benchmarks/e2e.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
data=Benchmarks/data

swift build -c release --product trackd >/dev/null
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
for video in "$data"/*/e2e/*/*.mp4; do
    seq=$(basename "$(dirname "$video")")
    bench=$(basename "$(dirname "$(dirname "$(dirname "$video")")")")
    mkdir -p "$results/$bench"
    .build/release/trackd track "$video" --classes person --mot-out "$results/$bench/$seq.txt" \
        --out "$results/$seq.jsonl" | sed "s|^|$seq: |"
done
for bench in "$results"/MOT*/; do
    b=$(basename "$bench")
    scripts/mot-eval "$bench" --gt "$data/$b/e2e" --names "trackd ($b)"
done
