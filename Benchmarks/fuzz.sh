#!/usr/bin/env bash
# Fuzzes the parsers of trackd's inputs with libFuzzer (Benchmarks/FuzzParsers, built
# with -sanitize=fuzzer,address into .build/fuzz): track-log lines (trackd's own JSON
# parser), ONNX metadata (its own protobuf walker: a model file is user input),
# MOTChallenge det/gt text and seqinfo.ini, spool job files, and the service
# configuration, and analytics configurations (with their geometry at work). Each target starts from the real files the tests use plus the inputs
# kept in Benchmarks/fuzz-inputs/<target>/ (earlier findings), runs for SECONDS, and
# fails on a crash, a hang (> 1 s on one input), a leak or memory past 2 GiB; what it
# found is copied into Benchmarks/fuzz-inputs/<target>/ to become a regression case
# (FuzzParsers built plainly replays files: TRACKD_FUZZ_TARGET=job swift run
# FuzzParsers FILE...). Prints executions, coverage and corpus size per target.
# .ci/run runs every target for a few seconds.
#
#   Benchmarks/fuzz.sh [SECONDS] [TARGET ...]     (default: 60 s; tracklog onnx mot job config analytics)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(tracklog onnx mot job config analytics)

# SwiftPM links an executable with its own entry point, so libFuzzer's main is not
# used: FuzzParsers calls LLVMFuzzerRunDriver, which lld keeps exported.
swift build -c release --scratch-path .build/fuzz --product FuzzParsers -Xswiftc -sanitize=fuzzer,address \
    -Xswiftc -DFUZZING -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld \
    -Xlinker --export-dynamic-symbol=LLVMFuzzerRunDriver >/dev/null
fuzzer=.build/fuzz/release/FuzzParsers
swift build -c release --product trackd >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

seeds() {  # TARGET DIR: the real inputs the tests use, small enough to mutate
    local dir=$2 seq=Benchmarks/data/MOT17/valhalf/MOT17-09-FRCNN
    case $1 in
        tracklog)
            # With analytics, so that the log holds event lines too.
            printf '%s' '{"relative": true, "lines": [{"name": "l", "from": [0.5, 0], "to": [0.5, 1]}], "zones": [{"name": "z", "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]}]}' \
                > "$work/analytics.json"
            .build/release/trackd track --detections "$seq/det/det.txt" --seqinfo "$seq/seqinfo.ini" \
                --analytics "$work/analytics.json" --out "$work/log.jsonl" >/dev/null
            head -c 4000 "$work/log.jsonl" > "$dir/head.jsonl"
            { head -1 "$work/log.jsonl"; tail -2 "$work/log.jsonl"; } > "$dir/short.jsonl"
            sed -n '/^```$/,/^```$/p' docs/track-log.md | grep '^{' > "$dir/docs-example.jsonl" ;;
        onnx)
            # The models' top-level fields without their graphs: producer, opset and
            # the metadata exporters write (names, imgsz, stride).
            for model in .deps/models/*.onnx; do
                python3 - "$model" "$dir/$(basename "$model")" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
out, at = bytearray(), 0
def varint(at):
    value = shift = 0
    while True:
        b = data[at]; at += 1
        value |= (b & 0x7F) << shift; shift += 7
        if b < 0x80: return value, at
while at < len(data):
    start = at
    key, at = varint(at)
    kind = key & 7
    if kind == 0: _, at = varint(at)
    elif kind == 1: at += 8
    elif kind == 5: at += 4
    elif kind == 2:
        n, at = varint(at); at += n
    else: break
    if key >> 3 != 7: out += data[start:at]
open(sys.argv[2], "wb").write(out)
PY
            done ;;
        mot)
            head -20 "$seq/det/det.txt" > "$dir/det.txt"
            head -20 "$seq/gt/gt.txt" > "$dir/gt.txt"
            cp "$seq/seqinfo.ini" "$dir/seqinfo.ini" ;;
        job)
            printf '{"video": "media/cam1.mp4", "stride": 2, "start": 10, "end": 70}' > "$dir/full.json"
            printf '{"video": "media/a.mp4"}' > "$dir/plain.json" ;;
        config)
            cp systemd/trackd.json "$dir/example.json"
            printf '%s' '{"spool": "/var/lib/trackd/spool", "workers": 2, "detector": {"conf": 0.3, "classes": ["person"], "inputSize": 512, "tileSize": 540}, "tracker": {"maxLostSeconds": 2, "noise": {"position": 0.05}, "cameraMotion": {"enabled": false}}, "streams": [{"name": "cam", "url": "rtsp://10.0.0.5/live", "options": {"rtsp_transport": "tcp"}, "rotateSeconds": 600}]}' \
                > "$dir/everything.json"
            printf '%s' '{"mqtt": {"url": "mqtts://broker:8883", "qos": 1, "protocol": "5", "homeAssistant": true, "maxOutboxBytes": 1048576}, "webhooks": [{"url": "https://hooks.example.com/t", "events": ["line", "loiter"], "timeoutSeconds": 2}, {"url": "http://10.0.0.5:8123/api/webhook/x", "name": "ha", "retryInitialSeconds": 0.5, "retryMaxSeconds": 30}]}' \
                > "$dir/receivers.json" ;;
        analytics)
            cp Benchmarks/counting/*.json "$dir/"
            printf '%s' '{"relative": true, "margin": 0.1, "settleSeconds": 0.5, "lines": [{"name": "l", "from": [0.1, 0.9], "to": [0.9, 0.1], "classes": ["person"], "anchor": "center"}], "zones": [{"name": "z", "polygon": [[0.2, 0.2], [0.8, 0.2], [0.5, 0.9]], "loiterSeconds": 1}], "speed": {"image": [[0.4, 0.1], [0.6, 0.1], [0.9, 0.9], [0.1, 0.9]], "ground": [[0, 40], [4, 40], [4, 0], [0, 0]], "windowSeconds": 0.5}}' \
                > "$dir/everything.json" ;;
    esac
}

failed=0
printf '%-10s %10s %9s %7s %7s %8s  %s\n' target runs exec/s cov ft corpus result
for target in "${targets[@]}"; do
    corpus=$work/$target/corpus kept=Benchmarks/fuzz-inputs/$target
    mkdir -p "$corpus" "$work/$target/seeds" "$work/$target/found"
    seeds "$target" "$work/$target/seeds"
    dirs=("$corpus" "$work/$target/seeds")
    [ -d "$kept" ] && dirs+=("$kept")
    status=ok
    TRACKD_FUZZ_TARGET=$target ASAN_OPTIONS=detect_leaks=1 "$fuzzer" -max_total_time="$seconds" -timeout=1 \
        -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 -artifact_prefix="$work/$target/found/" "${dirs[@]}" \
        > "$work/$target.log" 2>&1 || status=FAILED
    line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|INITED|NEW|REDUCE|pulse)' "$work/$target.log" | tail -1)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$target.log")
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$target.log")
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$line")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$line")
    units=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<< "$line")
    printf '%-10s %10s %9s %7s %7s %8s  %s\n' "$target" "${runs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" "${units:-?}" "$status"
    if [ "$status" != ok ]; then
        failed=1
        grep -E 'ERROR|SUMMARY|Fatal error|timeout|leak' "$work/$target.log" | head -5 | sed 's/^/    /'
        mkdir -p "$kept"
        cp "$work/$target/found/"* "$kept/" 2>/dev/null && echo "    kept: $(ls "$work/$target/found" | tr '\n' ' ')"
    fi
done
exit $failed
