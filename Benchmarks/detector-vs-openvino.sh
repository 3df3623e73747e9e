#!/usr/bin/env bash
# Detector latency: trackd's whole detect step (input fill, inference, output copy,
# decoding, NMS, boxes back to source pixels) beside the same model run through
# OpenVINO's Python API on the same input bytes, same threads and settings (the
# runtime alone: infer() only). Median of 30 after 5 warm-up runs, best of ROUNDS
# alternated rounds; 1 thread pinned to core 0, 2 threads unpinned.
# Frame 0 of vtest.avi (768x576). Prints figures; not a test.
#
#   Benchmarks/detector-vs-openvino.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds=${1:-2}
python=.venv-eval/bin/python
[ -x "$python" ] || { echo "no Python venv at $python: run scripts/setup" >&2; exit 1; }
media=.deps/media/vtest.avi
[ -f "$media" ] || { echo "$media is missing: run scripts/setup" >&2; exit 1; }

swift build -c release --product DetectorBenchmark >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The runtime alone on the picture trackd fed it: median ms of infer().
cat > "$work/openvino_alone.py" <<'PY'
import sys, time
import numpy as np
import openvino as ov
model_path, ppm, threads, kind = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
data = open(ppm, "rb").read()
header = data.split(b"\n", 3)
w, h = map(int, header[1].split())
pixels = np.frombuffer(header[3], dtype=np.uint8)[: w * h * 3].reshape(1, h, w, 3)
core = ov.Core()
model = core.read_model(model_path)
if kind == "ssd":
    model.reshape([1, h, w, 3])
    x = pixels
else:
    scale = 1.0 if kind == "yolox" else 1 / 255.0
    x = np.ascontiguousarray((pixels.astype(np.float32) * scale).transpose(0, 3, 1, 2))
    if model.inputs[0].get_partial_shape().is_dynamic:
        model.reshape([1, 3, h, w])
compiled = core.compile_model(model, "CPU", {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads})
request = compiled.create_infer_request()
request.set_input_tensor(ov.Tensor(x))
for _ in range(5):
    request.infer()
times = []
for _ in range(30):
    t = time.perf_counter()
    request.infer()
    times.append((time.perf_counter() - t) * 1000)
times.sort()
print("%.2f" % times[len(times) // 2])
PY

printf '%-34s %7s %12s %12s %8s\n' model threads "trackd ms" "OpenVINO ms" overhead
for spec in "default .deps/models/yolox-nano-coco.onnx yolox" \
            ".deps/models/ssdlite-mobilenetv2-person.pb .deps/models/ssdlite-mobilenetv2-person.pb ssd" \
            ".deps/models/yolov8s-fall.onnx .deps/models/yolov8s-fall.onnx ultralytics"; do
    read -r arg path kind <<<"$spec"
    for threads in 1 2; do
        pin=(); [ "$threads" = 1 ] && pin=(taskset -c 0)
        best_t=999999; best_o=999999
        for _ in $(seq "$rounds"); do
            t=$("${pin[@]}" .build/release/DetectorBenchmark "$arg" "$media" "$threads" "$work/in.ppm" | cut -d' ' -f1)
            o=$("${pin[@]}" "$python" "$work/openvino_alone.py" "$path" "$work/in.ppm" "$threads" "$kind")
            best_t=$(awk -v a="$best_t" -v b="$t" 'BEGIN{print (b<a)?b:a}')
            best_o=$(awk -v a="$best_o" -v b="$o" 'BEGIN{print (b<a)?b:a}')
        done
        printf '%-34s %7s %12.2f %12.2f %7.1f%%\n' "$(basename "$path")" "$threads" "$best_t" "$best_o" \
            "$(awk -v t="$best_t" -v o="$best_o" 'BEGIN{print (t/o-1)*100}')"
    done
done
echo "(targets: overhead <= 10%; default model <= 25 ms per frame on one core)"
