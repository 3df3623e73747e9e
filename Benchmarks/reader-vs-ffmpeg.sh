#!/usr/bin/env bash
# Reader throughput against the ffmpeg CLI doing the same work on the same file:
# decode H.264 and convert every frame to packed RGB24 at 640x360 (bicubic, as the
# CLI's scale filter does). The two alternate A B A B in one run so that machine
# load hits both alike; whole-process wall time and peak RSS are measured the same
# way for both (GNU time). Prints a table; not a test.
#
#   Benchmarks/reader-vs-ffmpeg.sh [ROUNDS]      (default 3)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds=${1:-3}
media=.build/bench-media
mkdir -p "$media"

# 30-second test videos, made once and kept under .build (git-ignored).
for size in 1280x720 1920x1080; do
    f="$media/testsrc2-$size.mp4"
    [ -s "$f" ] || ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=$size:rate=30:duration=30" \
        -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p "$f"
done

swift build -c release --product ReaderBenchmark >/dev/null
bench=.build/release/ReaderBenchmark

# Runs a command under GNU time; prints "seconds peakKiB".
timed() {
    /usr/bin/time -f '%e %M' -o /tmp/trackd-bench-time "$@" >/dev/null 2>&1
    cat /tmp/trackd-bench-time
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

printf '%-10s %6s %12s %12s %7s %14s %14s\n' file frames "ffmpeg fps" "trackd fps" ratio "ffmpeg RSS MiB" "trackd RSS MiB"
for size in 1280x720 1920x1080; do
    f="$media/testsrc2-$size.mp4"
    frames=$("$bench" "$f" 64x36 | sed 's/.*"frames":\([0-9]*\).*/\1/')
    : > /tmp/trackd-bench-a; : > /tmp/trackd-bench-b
    for _ in $(seq "$rounds"); do
        timed ffmpeg -hide_banner -nostdin -v error -i "$f" -vf scale=640:360 -pix_fmt rgb24 -f null - >> /tmp/trackd-bench-a
        timed "$bench" "$f" 640x360 bicubic >> /tmp/trackd-bench-b
    done
    a_s=$(cut -d' ' -f1 /tmp/trackd-bench-a | median); b_s=$(cut -d' ' -f1 /tmp/trackd-bench-b | median)
    a_m=$(cut -d' ' -f2 /tmp/trackd-bench-a | sort -n | tail -n1); b_m=$(cut -d' ' -f2 /tmp/trackd-bench-b | sort -n | tail -n1)
    awk -v n="$frames" -v a="$a_s" -v b="$b_s" -v am="$a_m" -v bm="$b_m" -v s="$size" \
        'BEGIN { printf "%-10s %6d %12.1f %12.1f %6.3fx %14.1f %14.1f\n", s, n, n/a, n/b, a/b, am/1024, bm/1024 }'
done
echo "(median of $rounds alternated runs each; ratio = trackd fps / ffmpeg fps; target >= 0.95x)"
