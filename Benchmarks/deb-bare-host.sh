#!/usr/bin/env bash
# The Debian package on a bare Debian 12 host: debootstrap makes a minimal bookworm
# root (variant minbase) from Debian's archive, apt installs the package in it (and
# resolves its dependencies there), and inside it, with no Swift, no repository and no
# .deps, trackd prints its version, probes a short video, tracks it, and `trackd serve`
# (as the package's trackd user, with the package's configuration on a free port)
# takes a video dropped into its spool and writes its log; then the package is purged
# and nothing it made may be left. Prints the package's size,
# what apt installed, each command's output, and how long each step took. Needs root.
# Not part of .ci/run: it downloads about 100 MB from Debian's archive and takes a few
# minutes.
#
#   Benchmarks/deb-bare-host.sh [trackd_VERSION_amd64.deb]   (default: built by scripts/package-deb)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ "$(id -u)" -eq 0 ] || { echo "run as root (debootstrap and chroot)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "debootstrap is missing: run scripts/setup" >&2; exit 1; }
vtest=.deps/media/vtest.avi
[ -f "$vtest" ] || { echo "$vtest is missing: run scripts/setup" >&2; exit 1; }
source Benchmarks/processes.sh
mirror=http://deb.debian.org/debian
root="$work/root"
# The root's /proc and /sys are unmounted before the work folder is removed.
trap 'umount "$root/proc" "$root/sys" 2>/dev/null || true; cleanup' EXIT
step_start=$SECONDS
step() {  # what was done: how long it took
    printf '   (%d s)\n' $((SECONDS - step_start))
    step_start=$SECONDS
}
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

deb=${1:-}
if [ -z "$deb" ]; then
    echo "== scripts/package-deb"
    scripts/package-deb --out "$work/dist" | grep -v '^  '
    deb=$(ls "$work"/dist/trackd_*.deb)
    step
fi
echo "== package: $(basename "$deb"), $(du -h "$deb" | cut -f1) ($(stat -c %s "$deb") bytes)"

echo "== debootstrap --variant=minbase bookworm"
debootstrap --variant=minbase bookworm "$root" "$mirror" > "$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log"; exit 1; }
cat > "$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"  # OpenVINO reads the CPU topology there, as on any host
in_root dpkg-query -W -f '${Package}\n' | sort > "$work/before.txt"
echo "   $(wc -l < "$work/before.txt") packages; $(du -sh --exclude=proc "$root" | cut -f1)"
for what in swift swiftc; do
    if in_root sh -c "command -v $what" >/dev/null; then echo "$what is in the bare root" >&2; exit 1; fi
done
step

echo "== apt install ./$(basename "$deb")"
cp "$deb" "$root/tmp/"
in_root apt-get update -q > "$work/apt.log" 2>&1 || { tail -20 "$work/apt.log"; exit 1; }
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "/tmp/$(basename "$deb")" \
    >> "$work/apt.log" 2>&1 || { tail -30 "$work/apt.log"; exit 1; }
in_root dpkg-query -W -f '${Package}\n' | sort > "$work/after.txt"
added=$(comm -13 "$work/before.txt" "$work/after.txt")
echo "   $(wc -l <<<"$added") packages installed, trackd and its dependencies:"
fold -s -w 100 <<<"$(paste -sd' ' <<<"$added")" | sed 's/^/     /'
echo "   $(grep -o 'After this operation, .*' "$work/apt.log" | head -n1)"
echo "   trackd's files: $(in_root dpkg -L trackd | grep -c -v '/$') ($(in_root dpkg-query -W -f '${Installed-Size}' trackd) KiB)"
in_root dpkg -L trackd | grep -E '^/usr/bin/|\.onnx$|\.service$|^/etc/' | sed 's/^/     /'
id_line=$(in_root id trackd)
echo "   user: $id_line"
step

# A short video: vtest.avi's first 5 s as H.264 (made here: the bare root has FFmpeg's
# libraries, not its command-line tools).
ffmpeg -v error -y -i "$vtest" -t 5 -c:v libx264 -preset veryfast -pix_fmt yuv420p "$root/tmp/vtest.mp4"

echo "== trackd --version; trackd probe"
in_root trackd --version | sed 's/^/   /'
in_root trackd probe --count /tmp/vtest.mp4 | sed 's/^/   /'
step

echo "== trackd track /tmp/vtest.mp4 --out /tmp/vtest.jsonl"
in_root trackd track /tmp/vtest.mp4 --out /tmp/vtest.jsonl | sed 's/^/   /'
lines=$(wc -l < "$root/tmp/vtest.jsonl")
boxes=$(grep -o '"id":' "$root/tmp/vtest.jsonl" | wc -l)
echo "   log: $lines lines, $boxes tracked boxes; header: $(head -n1 "$root/tmp/vtest.jsonl" | grep -o -E '"(trackd|inputSize)":("[^"]*"|\[[0-9,]*\])' | paste -sd' ')"
[ "$boxes" -gt 100 ] || { echo "too few tracked boxes" >&2; exit 1; }
step

echo "== trackd serve (the package's configuration on a free port, as user trackd): one spool job"
port=$(free_port)
sed "s/127.0.0.1:8089/127.0.0.1:$port/" "$root/etc/trackd/trackd.json" > "$root/tmp/serve.json"
chroot --userspec=trackd:trackd "$root" /usr/bin/env -i PATH=/usr/bin:/bin LANG=C.UTF-8 \
    trackd serve --config /tmp/serve.json 2> "$work/serve.log" &
serve=$!
pids+=("$serve")
spool="$root/var/lib/trackd/spool"
for _ in $(seq 60); do [ -d "$spool/inbox" ] && break; sleep 1; done
[ -d "$spool/inbox" ] || { cat "$work/serve.log"; exit 1; }
cp "$root/tmp/vtest.mp4" "$spool/inbox/.job.mp4.part"
in_root chown trackd:trackd /var/lib/trackd/spool/inbox/.job.mp4.part
mv "$spool/inbox/.job.mp4.part" "$spool/inbox/job.mp4"
for _ in $(seq 120); do [ -f "$spool/done/job.mp4" ] || [ -n "$(ls "$spool/failed")" ] && break; sleep 1; done
jobs=$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode()[:300])' \
    "http://127.0.0.1:$port/api/v1/jobs")
kill -TERM "$serve"
wait "$serve" || true
[ -f "$spool/done/job.mp4" ] || { echo "the job did not finish:"; ls -R "$spool"; cat "$work/serve.log"; exit 1; }
echo "   done/job.mp4; logs/job.jsonl: $(wc -l < "$spool/logs/job.jsonl") lines, owned by $(in_root stat -c %U /var/lib/trackd/spool/logs/job.jsonl)"
echo "   GET /api/v1/jobs: $jobs"
grep -E 'ready|job|stopp' "$work/serve.log" | cut -c1-160 | sed 's/^/   /' | head -8
step

echo "== apt purge trackd"
in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q trackd > "$work/purge.log" 2>&1 || { tail -20 "$work/purge.log"; exit 1; }
for gone in /usr/bin/trackd /usr/lib/trackd /etc/trackd /var/lib/trackd; do
    if [ -e "$root$gone" ]; then echo "$gone is left after the purge" >&2; exit 1; fi
done
if in_root getent passwd trackd >/dev/null; then echo "the trackd user is left after the purge" >&2; exit 1; fi
echo "   the binary, its libraries, /etc/trackd, /var/lib/trackd and the trackd user are gone"
step
echo "== the bare root never had Swift, the repository or .deps: trackd ran from the package alone"
