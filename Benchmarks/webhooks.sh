#!/usr/bin/env bash
# Events out to a webhook (release build, a receiver on a loopback port): EVENTS events
# (default 20000) waiting in the outbox of a `trackd serve` with one webhook (signed),
# POSTed one per request to a Python receiver (http.server, HTTP/1.1 keep-alive) that
# answers 204 and notes each arrival; events per second from the first to the last.
# Reference, in the same script and to the same receiver: a plain Python http.client
# loop POSTing the same bodies on one kept-alive connection.
# Not a test.
#
#   Benchmarks/webhooks.sh [EVENTS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
events=${1:-20000}
swift build -c release --product trackd >/dev/null
trackd=$PWD/.build/release/trackd
source Benchmarks/processes.sh

port=$(free_port)
receive() {  # FILE: a receiver taking EVENTS requests, their arrival times to FILE
    python3 - "$port" "$events" "$1" <<'PY' &
import sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer
port, n, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
times = []
class Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        times.append(time.time())
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args): pass
server = HTTPServer(("127.0.0.1", port), Hook)
while len(times) < n: server.handle_request()
open(out, "w").write("\n".join(map(str, times)))
PY
    receiver=$!
    pids+=("$receiver")
    for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return; sleep 0.1; done
}
rate() {  # LABEL FILE
    python3 - "$1" "$2" <<'PY'
import sys
times = [float(t) for t in open(sys.argv[2]).read().split()]
span = times[-1] - times[0]
print(f"{sys.argv[1]}: {len(times)} events in {span:.2f} s: {len(times) / span:,.0f} events/s")
PY
}

spool=$work/spool
mkdir -p "$spool/outbox/webhook-bench"
python3 - "$spool/outbox/webhook-bench" "$events" "$work/bodies" <<'PY'
import json, sys, uuid
folder, n, bodies = sys.argv[1], int(sys.argv[2]), sys.argv[3]
segment, size, out = 1, 0, None
with open(bodies, "w") as every:
    for k in range(n):
        line = json.dumps({"event": "line", "eventId": str(uuid.uuid4()), "source": "stream:bench", "id": k,
                           "class": "person", "time": k / 30, "box": [100.5, 200.25, 40.0, 100.0], "name": "door",
                           "direction": "in"}, separators=(",", ":")) + "\n"
        every.write(line)
        if out is None or size + len(line) > 1 << 20:
            if out: out.close()
            out = open(f"{folder}/{segment:08d}.jsonl", "w"); segment += 1; size = 0
        out.write(line); size += len(line)
out.close()
PY
echo "a-secret" >"$work/secret"

# 1. trackd.
receive "$work/trackd-arrivals"
printf '{"spool": "%s", "webhooks": [{"url": "http://127.0.0.1:%s/hook", "name": "bench", "secretFile": "%s"}]}' \
    "$spool" "$port" "$work/secret" >"$work/trackd.json"
"$trackd" serve --config "$work/trackd.json" >"$work/trackd.log" 2>&1 &
daemon=$!
pids+=("$daemon")
wait "$receiver"
kill "$daemon"
wait "$daemon" || true
rate "trackd serve, one signed POST per event" "$work/trackd-arrivals"

# 2. The reference: http.client on one connection, the same bodies.
receive "$work/python-arrivals"
python3 - "$port" "$work/bodies" <<'PY'
import http.client, sys
connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
for body in open(sys.argv[2], "rb"):
    connection.request("POST", "/hook", body=body.rstrip(b"\n"), headers={"Content-Type": "application/json"})
    connection.getresponse().read()
PY
wait "$receiver"
rate "python http.client, the same bodies (reference)" "$work/python-arrivals"
