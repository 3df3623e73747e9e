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
rounds=${1:-2}
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
echo "== end to end vs the detector alone: $hd, 300 frames, best of $rounds"
printf '%-26s %7s %7s %9s %9s %6s | %7s %8s %7s %6s %5s\n' model threads input "alone fps" "pipe fps" ratio \
    decode convert detect track log
for spec in "default 0 square" "default 0 fitted" "default 1 square" ".deps/models/yolov8s-fall.onnx 0 square"; do
    read -r model threads shape <<<"$spec"
    best=""
    for _ in $(seq "$rounds"); do
        line=$(.build/release/PipelineBenchmark "$hd" 300 "$model" "$threads" "$shape" | paste -sd' ')
        best=$(printf '%s\n%s\n' "$best" "$line" | awk 'NF' | sort -k3 -g | tail -n1)
    done
    read -r alone pipeline ratio _ decode convert detect track log <<<"$best"
    name=$([ "$model" = default ] && echo "YOLOX-Nano 416 (default)" || basename "$model")
    printf '%-26s %7s %7s %9s %9s %6s | %7s %8s %7s %6s %5s\n' "$name" "$([ "$threads" = 0 ] && echo all || echo "$threads")" \
        "$shape" "$alone" "$pipeline" "$ratio" "$decode" "$convert" "$detect" "$track" "$log"
done
echo "(target: ratio >= 0.90; stages in ms a frame, each alone)"

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
