#!/usr/bin/env bash
# What the visual predictors (tracker.visual) cost beside the default detector, on one
# core (pinned to core 0): the detector alone, then the tracker with OBJECTS synthetic
# detections on the same decoded pictures, motion only and visual, in one process
# (Benchmarks/VisualCostBenchmark). The target: the visual tracker at 30 objects takes
# at most 0.20 of the detector's time per frame. Prints figures; not a test.
#
#   Benchmarks/visual-cost.sh [OBJECTS] [FRAMES]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
video=Benchmarks/data/MOT17/e2e/MOT17-02/MOT17-02.mp4
swift build -c release --product VisualCostBenchmark >/dev/null
taskset -c 0 .build/release/VisualCostBenchmark "$video" "${1:-30}" "${2:-60}"
