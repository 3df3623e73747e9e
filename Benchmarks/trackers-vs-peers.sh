#!/usr/bin/env bash
# The tracker beside the open trackers, on exactly the same detection files: trackd's
# shipped defaults (`trackd track --detections`) and SORT, ByteTrack, OC-SORT and
# BoT-SORT from PyPI `trackers` 2.6.1 (Roboflow, Apache-2.0), each with its own
# defaults (BoT-SORT without its camera-motion step: a replay has no pixels). All are
# scored by scripts/mot-eval; one table per set, best HOTA first, with trackd's rank.
# Sets:
#   valhalf          MOT17 val-half with ByteTrack's YOLOX-X detections
#   valhalf-drop     the same, 30% of the boxes dropped, the rest jittered by 5%
#   valhalf-fps10    the same, every third frame only (10 fps; gt thinned alike)
#   valhalf-scores   the same, scores squeezed halfway toward 0.5, 10% false boxes
#   e2e              MOT17-02 and TUD-Campus with the default detector's own boxes
#                    (trackd detect --conf 0.1 --classes person, cached in
#                    bench-media/ under the model's checksum)
# The degraded sets are made by Benchmarks/peers.py with a fixed seed. Prints
# figures; not a test.
#
#   Benchmarks/trackers-vs-peers.sh [SET ...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python=.venv-eval/bin/python
[ -x "$python" ] || { echo "no Python venv at $python: run scripts/setup" >&2; exit 1; }
data=Benchmarks/data
sets=("$@")
[ ${#sets[@]} -gt 0 ] || sets=(valhalf valhalf-drop valhalf-fps10 valhalf-scores e2e)

swift build -c release --product trackd >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The default detector's boxes on the annotated videos, as det.txt beside gt and seqinfo.
e2e_set() {  # BENCHMARK: prints the set's folder
    local bench=$1 sum cache video seq
    sum=$(sha256sum .deps/models/yolox-nano-coco.onnx | cut -c1-12)
    cache=bench-media/e2e-dets-$sum/$bench
    for video in "$data/$bench"/e2e/*/*.mp4; do
        seq=$(basename "$(dirname "$video")")
        if [ ! -f "$cache/$seq/det/det.txt" ]; then
            mkdir -p "$cache/$seq/det"
            cp -r "$data/$bench/e2e/$seq/gt" "$data/$bench/e2e/$seq/seqinfo.ini" "$cache/$seq/"
            .build/release/trackd detect "$video" --conf 0.1 --classes person \
                | awk '!/^#/ { printf "%d,-1,%s,%s,%s,%s,%s,-1,-1,-1\n", $1 + 1, $5, $6, $7, $8, $4 }' \
                > "$cache/$seq/det/det.txt.part"
            mv "$cache/$seq/det/det.txt.part" "$cache/$seq/det/det.txt"
        fi
    done
    echo "$cache"
}

# Runs everything on one set folder and prints its table.
score_set() {  # NAME DIR BENCHMARK
    local name=$1 dir=$2 bench=$3 seq
    local out="$work/$name"
    mkdir -p "$out/trackd"
    for seq in $(cd "$dir" && ls -d */ | tr -d /); do
        .build/release/trackd track --detections "$dir/$seq/det/det.txt" --seqinfo "$dir/$seq/seqinfo.ini" \
            --mot-out "$out/trackd/$seq.txt" --out "$work/$name-$seq.jsonl" >/dev/null
    done
    "$python" Benchmarks/peers.py run "$dir" "$out"
    local names=(trackd SORT ByteTrack OC-SORT BoT-SORT)
    scripts/mot-eval "${names[@]/#/$out/}" --gt "$dir" --benchmark "$bench" --names "${names[@]}" \
        --json "$out/scores.json" >/dev/null
    "$python" - "$name" "$out/scores.json" <<'PY'
import json, sys
name, path = sys.argv[1], sys.argv[2]
rows = [(t, s["COMBINED"]) for t, s in json.load(open(path))["trackers"].items()]
rows.sort(key=lambda r: -r[1]["HOTA"])
print(f"\n== {name}")
print(f"{'tracker':<10}{'HOTA':>8}{'AssA':>8}{'MOTA':>8}{'IDF1':>8}{'IDSW':>7}")
for t, c in rows:
    print(f"{t:<10}{c['HOTA']:>8.2f}{c['AssA']:>8.2f}{c['MOTA']:>8.2f}{c['IDF1']:>8.2f}{c['IDSW']:>7}")
by_idf1 = sorted(rows, key=lambda r: -r[1]["IDF1"])
rank = [t for t, _ in rows].index("trackd") + 1
rank_idf1 = [t for t, _ in by_idf1].index("trackd") + 1
print(f"trackd: rank {rank} of {len(rows)} by HOTA, {rank_idf1} by IDF1")
PY
}

for set in "${sets[@]}"; do
    case $set in
        valhalf) score_set valhalf "$data/MOT17/valhalf" MOT17 ;;
        valhalf-drop|valhalf-fps10|valhalf-scores)
            "$python" Benchmarks/peers.py degrade "$data/MOT17/valhalf" "$work/$set-data" "${set#valhalf-}"
            score_set "$set" "$work/$set-data" MOT17 ;;
        e2e)
            score_set e2e-MOT17-02 "$(e2e_set MOT17)" MOT17
            score_set e2e-TUD-Campus "$(e2e_set MOT15)" MOT15 ;;
        *) echo "unknown set $set" >&2; exit 2 ;;
    esac
done
