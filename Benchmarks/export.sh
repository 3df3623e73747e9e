#!/usr/bin/env bash
# `trackd export` throughput on one core, against reading the same file with `cat`
# and `wc -l` in the same run: a 1,000,000-line track log (8 tracks a frame, ids
# ending every 300 frames; about 940 MB, kept in bench-media/ and reused), exported
# to each format. Prints MB/s of log, lines/s and peak RSS; not a test.
#
#   Benchmarks/export.sh [LINES]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
lines=${1:-1000000}
swift build -c release --product trackd >/dev/null
mkdir -p bench-media
log=bench-media/export-$lines.jsonl
if [ ! -f "$log" ]; then
    python3 - "$log.part" "$lines" <<'PY'
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as out:
    out.write(json.dumps({"type": "header", "schema": "trackd.tracklog/1", "trackd": "bench", "created": "2026-01-01T00:00:00Z",
        "source": {"path": "/bench.mp4", "bytes": None}, "video": {"width": 1280, "height": 720, "frameRate": 30, "timeBase": "1/30"},
        "detector": {"model": "bench", "kind": "bench", "classes": ["person"], "confidence": 0.25, "iou": 0.45, "stride": 1},
        "tracker": {"maxLostSeconds": 1.0}}, separators=(",", ":")) + "\n")
    for f in range(n):
        tracks = ",".join('{"id":%d,"class":"person","classId":0,"score":0.%03d,"box":[%.2f,%.2f,40.5,120.25],"state":"confirmed"}'
                          % (1 + k + 8 * ((f + 37 * k) // 300), 500 + (f * 7 + k) % 499, (f * 3 + k * 150) % 1200, 100.0 + k * 60)
                          for k in range(8))
        out.write('{"type":"frame","frame":%d,"time":%r,"tracks":[%s]}\n' % (f, round(f / 30, 6), tracks))
    out.write('{"type":"end","status":"complete","frames":%d,"tracks":0,"wallSeconds":1.0}\n' % n)
PY
    mv "$log.part" "$log"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bytes=$(stat -c %s "$log")
echo "log: $log, $((bytes / 1000000)) MB, $lines frame lines"
cat "$log" >/dev/null  # in the page cache for every reader below

run() {  # NAME COMMAND...: one timed run on core 0
    local name=$1; shift
    /usr/bin/time -f "%e %M" -o "$work/time.txt" taskset -c 0 "$@"
    read -r seconds kib < "$work/time.txt"
    awk -v n="$name" -v s="$seconds" -v k="$kib" -v b="$bytes" -v l="$lines" \
        'BEGIN { printf "%-16s %6.2f s  %7.1f MB/s  %9.0f lines/s  peak RSS %6.1f MiB\n", n, s, b / 1e6 / s, l / s, k / 1024 }'
    echo "$seconds" > "$work/$name.s"
}
run "cat" sh -c "cat '$log' > /dev/null"
run "wc -l" sh -c "wc -l < '$log' > /dev/null"
for format in mot csv tracks; do
    run "export $format" .build/release/trackd export "$log" --format "$format" --out "$work/out.$format"
done
run "export mot -r" .build/release/trackd export "$log" --format mot --refine --out "$work/out.refined"
echo
for format in mot csv tracks; do
    awk -v f="$format" -v e="$(cat "$work/export $format.s")" -v w="$(cat "$work/wc -l.s")" \
        'BEGIN { printf "export %-6s takes %.1fx the time of wc -l\n", f, e / w }'
done
echo "(target: export to csv and mot >= 100 MB/s of log on one core)"
