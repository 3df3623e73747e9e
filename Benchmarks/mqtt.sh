#!/usr/bin/env bash
# Events out to MQTT (release build, a mosquitto broker on a loopback port):
#   1. delivery rate: EVENTS events (default 100000) waiting in the outbox of a
#      `trackd serve` with `mqtt` at QoS 1, delivered to the broker and counted by a
#      subscriber (`mosquitto_sub -F %U`: each message's arrival time); events per
#      second from the first message to the last;
#   2. tracking with the broker down against up: the same spool job (vtest.avi, with a
#      counting line, so that it makes events) run with the broker up and with nothing
#      listening on its port, alternated ROUNDS times (default 2); the jobs' fps from
#      their logs' end lines.
# Not a test.
#
#   Benchmarks/mqtt.sh [EVENTS] [ROUNDS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
events=${1:-100000}
rounds=${2:-2}
swift build -c release --product trackd >/dev/null
trackd=$PWD/.build/release/trackd
source Benchmarks/processes.sh

port=$(free_port)
printf 'listener %s 127.0.0.1\npersistence false\nallow_anonymous true\nmax_queued_messages 0\n' "$port" >"$work/mosquitto.conf"
start_broker() {
    mosquitto -c "$work/mosquitto.conf" >/dev/null 2>&1 &
    broker=$!
    pids+=("$broker")
    for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return; sleep 0.1; done
    echo "mqtt.sh: the broker did not start" >&2
    exit 1
}
serve() {  # SPOOL: a daemon on SPOOL with mqtt to the broker's port
    printf '{"spool": "%s", "stableSeconds": 0.1, "pollSeconds": 0.1, "mqtt": {"url": "mqtt://127.0.0.1:%s", "clientId": "bench"}}' \
        "$1" "$port" >"$1.json"
    "$trackd" serve --config "$1.json" >"$1.log" 2>&1 &
    daemon=$!
    pids+=("$daemon")
}

# 1. Delivery rate.
start_broker
spool=$work/rate
mkdir -p "$spool/outbox/mqtt"
python3 - "$spool/outbox/mqtt" "$events" <<'PY'
import json, sys, uuid
folder, n = sys.argv[1], int(sys.argv[2])
segment, size, out = 1, 0, None
for k in range(n):
    line = json.dumps({"event": "line", "eventId": str(uuid.uuid4()), "source": "stream:bench", "id": k, "class": "person",
                       "time": k / 30, "box": [100.5, 200.25, 40.0, 100.0], "name": "door", "direction": "in"},
                      separators=(",", ":")) + "\n"
    if out is None or size + len(line) > 1 << 20:
        if out: out.close()
        out = open(f"{folder}/{segment:08d}.jsonl", "w"); segment += 1; size = 0
    out.write(line); size += len(line)
out.close()
PY
mosquitto_sub -p "$port" -t trackd/events -q 1 -C "$events" -F '%U' >"$work/arrivals" &
sub=$!
pids+=("$sub")
sleep 0.5
serve "$spool"
wait "$sub"
kill "$daemon"
wait "$daemon" || true
python3 - "$work/arrivals" "$events" <<'PY'
import sys
times = [float(t) for t in open(sys.argv[1]).read().split()]
span = times[-1] - times[0]
print(f"delivery: {len(times)} of {sys.argv[2]} events at QoS 1 in {span:.2f} s: {len(times) / span:,.0f} events/s "
      "(first to last arrival at a subscriber)")
PY

# 2. Tracking with the broker up and down, alternated.
analytics='{"lines": [{"name": "crossing", "from": [300, 340], "to": [300, 170]}]}'
job() {  # LABEL: one job on a fresh spool; prints "LABEL fps events"
    local spool=$work/job-$1-$RANDOM
    mkdir -p "$spool/inbox"
    cp .deps/media/vtest.avi "$spool/vtest.avi"
    serve "$spool"
    for _ in $(seq 100); do [ -d "$spool/inbox" ] && [ -f "$spool/status.json" ] && break; sleep 0.1; done
    printf '{"video": "vtest.avi", "analytics": %s}' "$analytics" >"$spool/inbox/job.json"
    for _ in $(seq 1200); do [ -f "$spool/done/job.json" ] && break; sleep 0.1; done
    kill "$daemon"
    wait "$daemon" || true
    python3 - "$spool/logs/job.jsonl" "$1" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
end = lines[-1]
events = sum(1 for l in lines if l.get("type") == "event")
print(f"{sys.argv[2]} {end['frames'] / end['wallSeconds']:.2f} {events}")
PY
}
results=$work/fps
: >"$results"
for _ in $(seq "$rounds"); do
    job up >>"$results"
    kill "$broker"
    wait "$broker" 2>/dev/null || true
    job down >>"$results"
    start_broker
done
python3 - "$results" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1])]
fps = {k: [float(r[1]) for r in rows if r[0] == k] for k in ("up", "down")}
up, down = statistics.mean(fps["up"]), statistics.mean(fps["down"])
print(f"tracking (a job on vtest.avi, {rows[0][2]} events each): broker up {up:.1f} fps, down {down:.1f} fps "
      f"(runs {', '.join(r[1] for r in rows)}): down/up = {down / up:.3f}")
PY
