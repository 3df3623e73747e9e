#!/usr/bin/env bash
# A fleet simulated against one PostgreSQL (Debian's, as scripts/setup installs it):
# N nodes running the real coordination code (Fleet's FleetNode and FleetStore) with a
# stub workload, a queue of jobs and a set of streams; prints claim and heartbeat
# latency, the database's statements per second, throughput, how the streams spread,
# and failover time for a killed node's jobs and streams.
#
#     Benchmarks/fleet.sh [nodes 50] [jobs 10000] [workers 4] [jobSeconds 5] [leaseSeconds 15] \
#                         [streams 1000] [streamSlots 25]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source Benchmarks/processes.sh

swift build -c release --product FleetBenchmark >/dev/null
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
# As the postgres user when run as root (initdb refuses root).
as_server() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
chmod 755 "$work"
mkdir "$work/pg"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$work/pg"
port=$(free_port)
as_server "$bin/initdb" -D "$work/pg/data" -U postgres -A trust -E UTF8 >/dev/null
# Room for 50 nodes' 3 connections each; otherwise PostgreSQL's defaults (fsync on).
as_server "$bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/server.log" -w \
    -o "-p $port -k $work/pg -c listen_addresses=127.0.0.1 -c max_connections=400" start >/dev/null
stop_server() { as_server "$bin/pg_ctl" -D "$work/pg/data" -m fast -w stop >/dev/null || true; cleanup; }
trap stop_server EXIT
as_server "$bin/psql" -h "$work/pg" -p "$port" -U postgres -q \
    -c "CREATE ROLE trackd LOGIN" -c "CREATE DATABASE trackd OWNER trackd"
echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on $(nproc) cores, $(uname -m)"
.build/release/FleetBenchmark "$port" "$@"
