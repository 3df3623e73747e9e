#!/usr/bin/env bash
# Live streams on one host: `trackd serve` (release build), each stream a live MPEG-TS
# feed over loopback TCP from `ffmpeg -readrate` (the feeds copy the file, they do not
# encode). Two feeds at 10 fps, made once into bench-media/: vtest.avi as H.264
# (768x576, 4:3) and the same scaled to 1280x720 (16:9). Counted from /metrics over
# the measuring window, after a warm-up. For each feed:
#   1. Capacity, with each detector input shape (square, fitted): 4 streams offered
#      200 frames/s in all, more than the detector can take, so frames are dropped and
#      what is tracked is the pipeline's capacity (less the decoding of the dropped
#      frames). On the first feed also 1 stream at 200 fps (square), to show what
#      sharing the model between streams gains.
#   2. Cameras per host, with each shape: 10 fps streams at their real rate, starting
#      from capacity / 10 and raised one at a time while the host sustains them
#      (lowered while it does not); sustained means under 0.5% of frames dropped (a
#      stray late packet is not a lack of capacity). Prints every count tried.
# Beside it: trackd track on the 720p file against the detector alone (PipelineBenchmark,
# both shapes), and OpenVINO's own benchmark_app on the same model at each input
# shape, latency hint against throughput hint (the ceiling of what sharing the cores
# can gain), and the memory one compiled model takes (RSS growth of compiling it
# through OpenVINO's Python API). Prints figures; not a test.
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
swift build -c release --product PipelineBenchmark >/dev/null
mkdir -p bench-media
sd=bench-media/vtest-h264.mp4
[ -f "$sd" ] || ffmpeg -v error -y -i "$media" -c:v libx264 -preset fast -crf 23 -g 20 -pix_fmt yuv420p "$sd"
hd=bench-media/vtest-720p.mp4
[ -f "$hd" ] || ffmpeg -v error -y -stream_loop 2 -i "$media" -vf scale=1280:720 -r 10 -c:v libx264 -preset fast \
    -crf 23 -pix_fmt yuv420p -t 60 "$hd"
source Benchmarks/processes.sh

# The fitted input for a feed: the long side 416, the other fitted to its aspect ratio,
# rounded up to the model's stride (32).
fitted_size() {  # FEED
    local width height
    IFS=x read -r width height < <(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0:s=x "$1")
    if [ "$width" -ge "$height" ]; then
        echo "416x$(( (416 * height / width + 31) / 32 * 32 ))"
    else
        echo "$(( (416 * width / height + 31) / 32 * 32 ))x416"
    fi
}

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
    local count=$1 rate=$2 shape=$3 dir="$work/run-$(basename "$feed")-$1-$2-$3"
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

head='%-8s %-7s %12s %15s %10s %9s\n'
# Sustained: under 0.5% of the frames dropped.
sustains() { awk '{ exit !($5 < 0.5) }' <<<"$1"; }
declare -A cameras
for feed in "$sd" "$hd"; do
    echo "== trackd serve on $feed ($(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0:s=x "$feed"); fitted input $(fitted_size "$feed")): frames tracked per second over ${seconds} s after ${warmup} s"
    printf "$head" streams input "tracked fps" "fps per stream" "dropped %" "RSS MiB"
    echo "-- offered 200 frames/s in all"
    declare -A capacity
    for shape in square fitted; do
        run 4 5 "$shape"
        capacity[$shape]=$(awk '{print $3}' <<<"$result")
        if [ "$shape" = square ]; then four=$result; fi
    done
    if [ "$feed" = "$sd" ]; then
        run 1 20 square
        read -r _ _ fps1 _ _ rss1 <<<"$result"
        read -r _ _ fps4 _ _ rss4 <<<"$four"
        awk -v a="$fps1" -v b="$fps4" 'BEGIN { printf "4 streams / 1 stream: %.2fx aggregate throughput (target >= 1.3x)\n", b / a }'
    fi
    echo "-- 10 fps cameras: from capacity / 10, one more while sustained (< 0.5% dropped), one fewer while not"
    for shape in square fitted; do
        n=$(awk -v c="${capacity[$shape]}" 'BEGIN { n = int(c / 10); print (n < 1 ? 1 : n) }')
        best=0
        worst=""
        while [ "$n" -ge 1 ] && [ "$n" -le 64 ]; do
            run "$n" 1 "$shape"
            if sustains "$result"; then
                best=$((n > best ? n : best))
                [ -n "$worst" ] && break
                n=$((n + 1))
            else
                worst=$n
                [ "$best" -gt 0 ] && break
                n=$((n - 1))
            fi
        done
        cameras[$(basename "$feed")-$shape]=$best
        echo "$shape: $best cameras sustained"
    done
    awk -v a="${cameras[$(basename "$feed")-square]}" -v b="${cameras[$(basename "$feed")-fitted]}" \
        'BEGIN { printf "cameras at 10 fps, fitted / square: %d / %d = %.2fx (target >= 1.4x)\n", b, a, (a > 0 ? b / a : 0) }'
    echo
done

echo "== trackd track on $hd against the detector alone (PipelineBenchmark, 300 frames, default threads)"
for shape in square fitted; do
    .build/release/PipelineBenchmark "$hd" 300 default 0 "$shape" | head -n1 |
        awk -v s="$shape" '{ printf "%-7s detector alone %6.1f fps, pipeline %6.1f fps: %.2f (target >= 0.90)\n", s, $1, $2, $3 }'
done

echo
echo "== OpenVINO benchmark_app, the same model, 15 s each"
hint() {  # HINT WIDTHxHEIGHT
    local w=${2%x*} h=${2#*x}
    .venv-eval/bin/benchmark_app -m "$model" -d CPU -hint "$1" -t 15 -shape "[1,3,$h,$w]" 2>&1 |
        awk -v h="$1" -v s="$2" '/Throughput:/ { fps = $(NF - 1) } / NUM_STREAMS:/ { streams = $NF }
            match($0, /[0-9]+ inference requests/) { req = substr($0, RSTART, RLENGTH) }
            END { printf "%-8s %-12s %8s fps  (%s CPU streams, %s)\n", s, h, fps, streams, req }'
}
for size in 416x416 "$(fitted_size "$sd")" "$(fitted_size "$hd")"; do
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
