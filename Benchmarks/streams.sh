#!/usr/bin/env bash
# Several live streams on one shared model: `trackd serve` (release build) with 1 and
# with 4 streams, each a live MPEG-TS feed over loopback TCP from `ffmpeg -readrate`
# (vtest.avi as H.264, 768x576 at 10 fps, made once into bench-media/; the feeds copy
# it, they do not encode). The offered load is the same in both
# runs, 100 frames/s in all (1 stream at 100 fps, or 4 at 25 fps each), more than
# the detector can take, so frames are dropped and what is tracked is the detector's
# throughput. Counted from /metrics over the measuring window, after a warm-up.
# Beside it: OpenVINO's own benchmark_app on the same model, latency hint against
# throughput hint (the ceiling of what sharing the cores can gain), and the memory one
# compiled model takes (RSS growth of compiling it through OpenVINO's Python API).
# Prints figures; not a test.
#
#   Benchmarks/streams.sh [SECONDS]
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
feed=bench-media/vtest-h264.mp4
[ -f "$feed" ] || ffmpeg -v error -y -i "$media" -c:v libx264 -preset fast -crf 23 -g 20 -pix_fmt yuv420p "$feed"
source Benchmarks/processes.sh


# Frames tracked by every stream so far, from the Prometheus text.
tracked() {
    "$python" -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' \
        "http://127.0.0.1:$1/metrics" |
        awk '/^trackd_frames_tracked_total\{/ && !/source="spool"/ { n += $NF } END { printf "%d\n", n }'
}

rss_mib() { awk '/VmRSS/ { printf "%.1f\n", $2 / 1024 }' "/proc/$1/status"; }

# One run: serve with $1 streams, each fed at $2 times the file's rate; its figures
# (streams, fps, fps per stream, RSS) printed and left in $result.
result=""
run() {
    local count=$1 rate=$2 dir="$work/run-$1"
    mkdir -p "$dir/spool"
    local streams="" port
    for k in $(seq "$count"); do
        port=$(free_port)
        ffmpeg -nostdin -hide_banner -v fatal -readrate "$rate" -stream_loop -1 -i "$feed" -c copy \
            -f mpegts "tcp://127.0.0.1:$port?listen=1" &
        pids+=($!)
        streams+="${streams:+, }{\"name\": \"cam$k\", \"url\": \"tcp://127.0.0.1:$port\"}"
    done
    local http
    http=$(free_port)
    cat > "$dir/trackd.json" <<JSON
{ "spool": "$dir/spool", "workers": 1, "streams": [$streams], "http": {"listen": "127.0.0.1:$http"} }
JSON
    sleep 1 # the feeds listen
    "$trackd" serve --config "$dir/trackd.json" 2> "$dir/serve.log" &
    local serve=$!
    pids+=("$serve")
    sleep "$warmup"
    local before after rss
    before=$(tracked "$http")
    sleep "$seconds"
    after=$(tracked "$http")
    rss=$(rss_mib "$serve")
    kill -TERM "$serve"
    wait "$serve" || true
    result=$(awk -v n="$count" -v a="$after" -v b="$before" -v s="$seconds" -v r="$rss" \
        'BEGIN { printf "%-10d %14.1f %16.1f %10s\n", n, (a - b) / s, (a - b) / s / n, r }')
    echo "$result"
    grep -m1 "model:" "$dir/serve.log" | sed 's/.*model: /  model: /'
}

echo "== trackd serve: frames tracked per second over ${seconds} s after ${warmup} s (offered: 100 fps in all)"
printf '%-10s %14s %16s %10s\n' streams "tracked fps" "fps per stream" "RSS MiB"
run 1 10
one=$result
run 4 2.5
four=$result
read -r _ fps1 _ rss1 <<<"$one"
read -r _ fps4 _ rss4 <<<"$four"
awk -v a="$fps1" -v b="$fps4" 'BEGIN { printf "4 streams / 1 stream: %.2fx aggregate throughput (target >= 1.3x)\n", b / a }'

echo
echo "== OpenVINO benchmark_app, the same model at 416x416, 15 s each"
hint() {
    .venv-eval/bin/benchmark_app -m "$model" -d CPU -hint "$1" -t 15 -shape "[1,3,416,416]" 2>&1 |
        awk -v h="$1" '/Throughput:/ { fps = $(NF - 1) } / NUM_STREAMS:/ { streams = $NF }
            match($0, /[0-9]+ inference requests/) { req = substr($0, RSTART, RLENGTH) }
            END { printf "%-12s %8s fps  (%s CPU streams, %s)\n", h, fps, streams, req }'
}
lat=$(hint latency)
thr=$(hint throughput)
echo "$lat"
echo "$thr"
awk -v a="$(awk '{print $2}' <<<"$lat")" -v b="$(awk '{print $2}' <<<"$thr")" \
    'BEGIN { printf "throughput / latency: %.2fx (the ceiling for the ratio above)\n", b / a }'

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
