#!/usr/bin/env bash
# Live streams on one host: `trackd serve` (release build), each stream a live MPEG-TS
# feed over loopback TCP from `ffmpeg -readrate` (the feeds copy the file, they do not
# encode; by default vtest.avi as H.264, 768x576 at 10 fps, made once into
# bench-media/). Counted from /metrics over the measuring window, after a warm-up.
#   1. Throughput, with each detector input shape (square, fitted): 4 streams offered
#      100 frames/s in all, more than the detector can take, so frames are dropped and
#      what is tracked is the pipeline's capacity; and 1 stream at 100 fps (square),
#      to show what sharing the model between streams gains.
#   2. Cameras per host, with each shape: as many 10 fps streams as that capacity
#      allows (capacity / 10, rounded down), run at their real rate: the share of
#      frames dropped says whether the host sustains them.
# Beside it: OpenVINO's own benchmark_app on the same model at both input shapes,
# latency hint against throughput hint (the ceiling of what sharing the cores can
# gain), and the memory one compiled model takes (RSS growth of compiling it through
# OpenVINO's Python API). Prints figures; not a test.
#
#   Benchmarks/streams.sh [SECONDS] [FEED.mp4 at 10 fps]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-30}
warmup=15
python=.venv-eval/bin/python
[ -x "$python" ] || { echo "no Python venv at $python: run scripts/setup" >&2; exit 1; }
media=.deps/media/vtest.avi
model=.deps/models/yolox-nano-coco.onnx
for f in "$media" "$model"; do [ -f "$f" ] || { echo "$f is missing: run scripts/setup" >&2; exit 1; }; done
swift build -c release --product trackd >/dev/null
trackd=.build/release/trackd
mkdir -p bench-media
feed=${2:-bench-media/vtest-h264.mp4}
[ -f "$feed" ] || ffmpeg -v error -y -i "$media" -c:v libx264 -preset fast -crf 23 -g 20 -pix_fmt yuv420p "$feed"
source Benchmarks/processes.sh

# The fitted input for the feed: the long side 416, the other fitted to its aspect
# ratio, rounded up to the model's stride (32).
read -r width height < <(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0:s=' ' "$feed")
if [ "$width" -ge "$height" ]; then
    fitted="416x$(( (416 * height / width + 31) / 32 * 32 ))"
else
    fitted="$(( (416 * width / height + 31) / 32 * 32 ))x416"
fi

# A counter of the Prometheus text, summed over the streams (not the spool).
counter() {  # PORT NAME
    "$python" -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' \
        "http://127.0.0.1:$1/metrics" |
        awk -v name="$2" '$0 ~ "^" name "\\{" && !/source="spool"/ { n += $NF } END { printf "%d\n", n }'
}

rss_mib() { awk '/VmRSS/ { printf "%.1f\n", $2 / 1024 }' "/proc/$1/status"; }

# One run: serve with $1 streams, each fed at $2 times the file's rate, the detector's
# input shape $3; its figures (streams, shape, tracked fps, fps per stream, dropped %,
# RSS) printed and left in $result.
result=""
run() {
    local count=$1 rate=$2 shape=$3 dir="$work/run-$1-$2-$3"
    mkdir -p "$dir/spool"
    local streams="" port feeders=()
    for k in $(seq "$count"); do
        port=$(free_port)
        ffmpeg -nostdin -hide_banner -v fatal -readrate "$rate" -stream_loop -1 -i "$feed" -c copy \
            -f mpegts "tcp://127.0.0.1:$port?listen=1" &
        pids+=($!)
        feeders+=($!)
        streams+="${streams:+, }{\"name\": \"cam$k\", \"url\": \"tcp://127.0.0.1:$port\"}"
    done
    local http
    http=$(free_port)
    cat > "$dir/trackd.json" <<JSON
{ "spool": "$dir/spool", "workers": 1, "streams": [$streams], "http": {"listen": "127.0.0.1:$http"},
  "detector": {"inputShape": "$shape"} }
JSON
    sleep 1 # the feeds listen
    "$trackd" serve --config "$dir/trackd.json" 2> "$dir/serve.log" &
    local serve=$!
    pids+=("$serve")
    sleep "$warmup"
    local tracked0 dropped0 tracked1 dropped1 rss
    tracked0=$(counter "$http" trackd_frames_tracked_total)
    dropped0=$(counter "$http" trackd_frames_dropped_total)
    sleep "$seconds"
    tracked1=$(counter "$http" trackd_frames_tracked_total)
    dropped1=$(counter "$http" trackd_frames_dropped_total)
    rss=$(rss_mib "$serve")
    kill -TERM "$serve"
    wait "$serve" || true
    kill "${feeders[@]}" 2>/dev/null || true
    wait "${feeders[@]}" 2>/dev/null || true
    result=$(awk -v n="$count" -v sh="$shape" -v t="$((tracked1 - tracked0))" -v d="$((dropped1 - dropped0))" \
        -v s="$seconds" -v r="$rss" \
        'BEGIN { printf "%-8d %-7s %12.1f %15.1f %10.1f %9s\n", n, sh, t / s, t / s / n, 100 * d / (t + d), r }')
    echo "$result"
}

echo "== trackd serve on $feed (${width}x${height}; fitted input $fitted): frames tracked per second over ${seconds} s after ${warmup} s"
head='%-8s %-7s %12s %15s %10s %9s\n'
printf "$head" streams input "tracked fps" "fps per stream" "dropped %" "RSS MiB"
echo "-- offered 100 frames/s in all"
declare -A capacity
for shape in square fitted; do
    run 4 2.5 "$shape"
    capacity[$shape]=$(awk '{print $3}' <<<"$result")
    if [ "$shape" = square ]; then four=$result; fi
done
run 1 10 square
one=$result
read -r _ _ fps1 _ _ rss1 <<<"$one"
read -r _ _ fps4 _ _ rss4 <<<"$four"
awk -v a="$fps1" -v b="$fps4" 'BEGIN { printf "4 streams / 1 stream: %.2fx aggregate throughput (target >= 1.3x)\n", b / a }'
echo "-- 10 fps cameras, as many as the capacity above allows"
for shape in square fitted; do
    cameras=$(awk -v c="${capacity[$shape]}" 'BEGIN { n = int(c / 10); print (n < 1 ? 1 : n) }')
    run "$cameras" 1 "$shape"
done
echo "(a host sustains them when under 2% of their frames are dropped)"

echo
echo "== OpenVINO benchmark_app, the same model, 15 s each"
hint() {  # HINT WIDTHxHEIGHT
    local w=${2%x*} h=${2#*x}
    .venv-eval/bin/benchmark_app -m "$model" -d CPU -hint "$1" -t 15 -shape "[1,3,$h,$w]" 2>&1 |
        awk -v h="$1" -v s="$2" '/Throughput:/ { fps = $(NF - 1) } / NUM_STREAMS:/ { streams = $NF }
            match($0, /[0-9]+ inference requests/) { req = substr($0, RSTART, RLENGTH) }
            END { printf "%-8s %-12s %8s fps  (%s CPU streams, %s)\n", s, h, fps, streams, req }'
}
for size in 416x416 "$fitted"; do
    lat=$(hint latency "$size")
    thr=$(hint throughput "$size")
    echo "$lat"
    echo "$thr"
    awk -v a="$(awk '{print $3}' <<<"$lat")" -v b="$(awk '{print $3}' <<<"$thr")" \
        'BEGIN { printf "throughput / latency: %.2fx (the ceiling for the sharing above)\n", b / a }'
done

echo
echo "== memory"
model_mib=$("$python" - "$model" <<'PY'
import sys
import openvino as ov
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
core = ov.Core()
m = core.read_model(sys.argv[1])
m.reshape([1, 3, 416, 416])
before = rss()
compiled = core.compile_model(m, "CPU", {"PERFORMANCE_HINT": "LATENCY"})
request = compiled.create_infer_request()
print(f"{rss() - before:.1f}")
PY
)
awk -v a="$rss1" -v b="$rss4" -v m="$model_mib" 'BEGIN {
    printf "RSS with 1 stream %.1f MiB, with 4 %.1f MiB: %.1f MiB per added stream\n", a, b, (b - a) / 3
    printf "one compiled model (OpenVINO, Python API): %.1f MiB (target: less than that per added stream)\n", m }'
