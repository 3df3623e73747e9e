#!/usr/bin/env bash
# End-to-end quality and speed: `trackd track VIDEO --classes person` on the annotated
# videos vendored in Benchmarks/data (MOT17-02 at 960x540, scored as MOT17 with its
# distractor preprocessing; TUD-Campus at 640x480, scored as MOT15, without), by
# scripts/mot-eval (TrackEval). Three runs side by side in one table:
#   - trackd with its shipped defaults (the default model, its tracker preset), plus
#     any arguments given to this script (e.g. --input-size 640), once with each input
#     shape (--input-shape square and fitted; the default is one of them);
#   - the previous default, SSDLite-MobileNetV2 (people only), with the tracker preset
#     it shipped with (highScore 0.5, newTrackScore 0.55).
# Prints per-sequence HOTA / MOTA / IDF1, their mean over the sequences, and frames per
# second end to end (decode, detect, track, log; release build). Not a test.
#
#   Benchmarks/e2e.sh [trackd track options for the default run]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
data=Benchmarks/data

swift build -c release --product trackd >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo '{"highScore": 0.5, "newTrackScore": 0.55}' > "$work/ssdlite-preset.json"

run() {  # LABEL TRACKD-OPTIONS...
    local label=$1
    shift
    for video in "$data"/*/e2e/*/*.mp4; do
        local seq bench
        seq=$(basename "$(dirname "$video")")
        bench=$(basename "$(dirname "$(dirname "$(dirname "$video")")")")
        mkdir -p "$work/$label/$bench"
        # "tracked 600 frames in 40.1 s (15.0 fps): ..." -> frames and seconds
        .build/release/trackd track "$video" --classes person "$@" --mot-out "$work/$label/$bench/$seq.txt" \
            --out "$work/$label/$seq.jsonl" | sed -n 's/^tracked \([0-9]*\) frames in \([0-9.]*\) s.*/\1 \2/p' \
            > "$work/$label/$seq.speed"
    done
    for bench in "$work/$label"/MOT*/; do
        b=$(basename "$bench")
        scripts/mot-eval "$bench" --gt "$data/$b/e2e" --json "$work/$label/$b.json" >/dev/null
    done
}

run square --input-shape square "$@"
run fitted --input-shape fitted "$@"
run ssdlite --model .deps/models/ssdlite-mobilenetv2-person.pb --config "$work/ssdlite-preset.json"

.venv-eval/bin/python - "$work" "$*" <<'PY'
import glob, json, os, sys
work, extra = sys.argv[1], sys.argv[2]
rows = [(f"--input-shape {shape}" + (f" {extra}" if extra else ""), shape) for shape in ("square", "fitted")] + [
        ("SSDLite person (previous default)", "ssdlite")]
seqs = sorted({os.path.basename(p)[:-6] for p in glob.glob(f"{work}/square/*.speed")})
head = f"{'run':<38}" + "".join(f"{s + ' HOTA/MOTA/IDF1':>32}" for s in seqs) + f"{'mean HOTA':>11}{'fps':>8}"
print(head)
for name, label in rows:
    scores = {}
    for path in glob.glob(f"{work}/{label}/MOT*.json"):
        for tracker in json.load(open(path))["trackers"].values():
            scores.update({s: v for s, v in tracker.items() if s != "COMBINED"})
    frames = seconds = 0.0
    for s in seqs:
        f, t = open(f"{work}/{label}/{s}.speed").read().split()
        frames, seconds = frames + float(f), seconds + float(t)
    cells = "".join(f"{'%.2f / %.2f / %.2f' % (scores[s]['HOTA'], scores[s]['MOTA'], scores[s]['IDF1']):>32}" for s in seqs)
    mean = sum(scores[s]["HOTA"] for s in seqs) / len(seqs)
    print(f"{name:<38}{cells}{mean:>11.2f}{frames / seconds:>8.1f}")
PY
