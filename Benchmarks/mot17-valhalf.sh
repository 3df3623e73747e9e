#!/usr/bin/env bash
# Tracking quality and speed on MOT17 val-half (Benchmarks/data/MOT17/valhalf: the
# second halves of the 7 MOT17 train sequences with ByteTrack's YOLOX-X ablation
# detections), online, one parameter set: the defaults trackd ships.
# Quality is scored by the project's evaluator (scripts/mot-eval over TrackEval, in the
# Python environment scripts/setup makes); speed is the tracker alone on one core.
# Prints figures; not a test.
#
#   Benchmarks/mot17-valhalf.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
data=Benchmarks/data/MOT17/valhalf

swift build -c release --product trackd >/dev/null
swift build -c release --product TrackerBenchmark >/dev/null
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
for dir in "$data"/*/; do
    seq=$(basename "$dir")
    .build/release/trackd track --detections "$dir/det/det.txt" --seqinfo "$dir/seqinfo.ini" \
        --mot-out "$results/$seq.txt" >/dev/null
done
mkdir -p "$results/trackd" && mv "$results"/*.txt "$results/trackd/"
scripts/mot-eval "$results/trackd" --gt "$data"

cat <<'TABLE'

Open trackers on the same files, default parameters (TrackEval, as measured when the data was handed over):
tracker                                      HOTA   MOTA   IDF1  IDSW
BoT-SORT (Roboflow trackers, motion only)   67.73  77.61  79.35   208
BoT-SORT (BoxMOT 25, no ReID, no CMC)       67.44  77.47  78.69   242
ByteTrack (BoxMOT 25)                       67.07  76.98  78.15   328
OC-SORT (Roboflow trackers)                 66.35  74.50  77.95   206
SORT (original, score >= 0.6)               62.85  74.29  70.70   367
Targets: HOTA >= 69.0, IDF1 >= 81.0, MOTA >= 78.0

TABLE
# One core, so the figure does not depend on how many the machine has.
taskset -c 0 .build/release/TrackerBenchmark "$data" 5
echo "(target: >= 20,000 frames/s on one core)"
