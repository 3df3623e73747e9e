#!/usr/bin/env bash
# End-to-end figures for `trackd track` (release build; prints figures, not a test):
#   1. frames per second of the whole pipeline vs the detector alone on the same
#      frames of a 720p H.264 file (vtest.avi scaled up), in one process, with each
#      stage's time alone (decode, conversion, detection, tracking, log);
#   2. peak RSS and its growth over a 30-minute video (vtest.avi looped, 384x288).
# Export throughput: Benchmarks/export.sh.
# Generated media go to bench-media/ (git-ignored) and are reused.
#
#   Benchmarks/pipeline.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds=${1:-5}
vtest=.deps/media/vtest.avi
[ -f "$vtest" ] || { echo "$vtest is missing: run scripts/setup" >&2; exit 1; }
swift build -c release --product trackd >/dev/null
swift build -c release --product PipelineBenchmark >/dev/null
mkdir -p bench-media
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. Pipeline vs detector alone, and each stage alone (milliseconds a frame; decoding
#    and conversion run on the decoder's thread, the rest on the tracking thread).
hd=bench-media/vtest-720p.mp4
[ -f "$hd" ] || ffmpeg -v error -y -stream_loop 2 -i "$vtest" -vf scale=1280:720 -r 10 -c:v libx264 -preset fast \
    -crf 23 -pix_fmt yuv420p -t 60 "$hd"
# Two inference threads on a small machine vary run to run (OpenVINO's threads share
# the cores with the decoder's and the tracker's), so each figure is the median of
# ROUNDS runs, and the ratio is the median pipeline's over the median detector's.
echo "== end to end vs the detector alone: $hd, 300 frames, median of $rounds runs (min-max)"
printf '%-26s %7s %7s %17s %17s %6s | %7s %8s %7s %6s %5s\n' model threads input "alone fps" "pipe fps" ratio \
    decode convert detect track log
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
for spec in "default 0 square" "default 0 fitted" "default 1 square" "default 1 fitted" \
    ".deps/models/yolov8s-fall.onnx 0 square"; do
    read -r model threads shape <<<"$spec"
    : > "$work/runs"
    for _ in $(seq "$rounds"); do
        .build/release/PipelineBenchmark "$hd" 300 "$model" "$threads" "$shape" | paste -sd' ' >> "$work/runs"
    done
    col() { awk -v c="$1" '{ print $c }' "$work/runs" | median; }
    span() { awk -v c="$1" '{ print $c }' "$work/runs" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.0f-%.0f", lo, hi }'; }
    alone="$(col 1) ($(span 1))"
    pipeline="$(col 2) ($(span 2))"
    ratio=$(awk -v a="$(col 1)" -v p="$(col 2)" 'BEGIN { printf "%.2f", p / a }')
    decode=$(col 5) convert=$(col 6) detect=$(col 7) track=$(col 8) log=$(col 9)
    name=$([ "$model" = default ] && echo "YOLOX-Nano 416 (default)" || basename "$model")
    printf '%-26s %7s %7s %17s %17s %6s | %7s %8s %7s %6s %5s\n' "$name" "$([ "$threads" = 0 ] && echo all || echo "$threads")" \
        "$shape" "$alone" "$pipeline" "$ratio" "$decode" "$convert" "$detect" "$track" "$log"
done
echo "(targets: ratio >= 0.95 with one inference thread, >= 0.90 with all; stages in ms a frame, each alone)"

# 2. Memory over a 30-minute video.
long=bench-media/vtest-30min.mp4
[ -f "$long" ] || ffmpeg -v error -y -stream_loop -1 -i "$vtest" -vf scale=384:288 -r 10 -c:v libx264 -preset veryfast \
    -crf 28 -pix_fmt yuv420p -t 1800 "$long"
echo
echo "== memory: $long (30 min, 18000 frames)"
.build/release/trackd track "$long" --out "$work/long.jsonl" > "$work/long.txt" &
pid=$!
: > "$work/rss.txt"
while kill -0 "$pid" 2>/dev/null; do
    awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null >> "$work/rss.txt" || true
    sleep 1
done
wait "$pid"
cat "$work/long.txt"
awk '{ v[NR] = $1; if ($1 > max) max = $1 }
     END { n = NR; w = int(n / 10) + 1;
           printf "RSS after 10%% of the run %.1f MiB, at the end %.1f MiB, peak %.1f MiB: growth %.1f MiB (target < 10 MB)\n",
                  v[w] / 1024, v[n] / 1024, max / 1024, (v[n] - v[w]) / 1024 }' "$work/rss.txt"
