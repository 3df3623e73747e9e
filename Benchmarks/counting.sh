#!/usr/bin/env bash
# Counting accuracy beside the open trackers: the lines and zones of
# Benchmarks/counting/<SEQ>.json on the annotated videos of Benchmarks/data (MOT17-02,
# TUD-Campus; "along" is a line people walk along rather than across).
#   - true counts: `trackd analyze --mot gt.txt` on the ground truth (the same rules);
#   - trackd: `trackd track VIDEO --analytics` with the shipped defaults (release build);
#   - the open trackers (Roboflow `trackers` 2.6.1: SORT, ByteTrack, OC-SORT, BoT-SORT)
#     on the same detections (`trackd detect VIDEO --classes person`), counted by the
#     same code (`trackd analyze --mot`);
#   - supervision's LineZone (0.31.2) on trackd's own tracks, for lines.
# Prints per line and direction (and zone entries) true / counted, and per column the
# total absolute error as a percentage of the true counts. Not a test.
#
#   Benchmarks/counting.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
data=Benchmarks/data
swift build -c release --product trackd >/dev/null
trackd=.build/release/trackd
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for video in "$data"/*/e2e/*/*.mp4; do
    dir=$(dirname "$video")
    seq=$(basename "$dir")
    config=Benchmarks/counting/$seq.json
    out=$work/runs/$seq
    mkdir -p "$out" "$work/set/$seq/det"
    "$trackd" analyze --mot "$dir/gt/gt.txt" --seqinfo "$dir/seqinfo.ini" --analytics "$config" --format json >"$out/truth.json"
    "$trackd" track "$video" --analytics "$config" --out "$out/trackd.jsonl" --mot-out "$out/trackd.txt" >/dev/null
    "$trackd" analyze "$out/trackd.jsonl" --analytics "$config" --format json >"$out/trackd.json"
    # The peers' input: trackd's detector on every frame, people only, as det.txt.
    "$trackd" detect "$video" --classes person |
        awk '!/^#/ { printf "%d,-1,%s,%s,%s,%s,%s,-1,-1,-1\n", $1 + 1, $5, $6, $7, $8, $4 }' >"$work/set/$seq/det/det.txt"
    cp "$dir/seqinfo.ini" "$work/set/$seq/"
done
.venv-eval/bin/python Benchmarks/peers.py run "$work/set" "$work/peers"
for video in "$data"/*/e2e/*/*.mp4; do
    dir=$(dirname "$video")
    seq=$(basename "$dir")
    for results in "$work"/peers/*/"$seq.txt"; do
        peer=$(basename "$(dirname "$results")")
        "$trackd" analyze --mot "$results" --seqinfo "$dir/seqinfo.ini" --analytics Benchmarks/counting/$seq.json \
            --format json >"$work/runs/$seq/peer-$peer.json"
    done
done
.venv-eval/bin/python Benchmarks/counting.py "$work/runs" Benchmarks/counting "$data"
