#!/usr/bin/env bash
# The history benchmark (DESIGN §9 "cost independent of history", issue 13): starts a fresh
# pawpost server, grows one conversation with `pawpost-history grow`, stops the server, starts
# it again on the same data, and times the first sends with `pawpost-history cold`, which
# prints the summary (JSON on stdout with --json). Exits non-zero when a phase fails or the
# server logged errors.
#
#   scripts/history.sh [sqlite|postgres] BIN_DIR [pawpost-history grow options…]
#
# BIN_DIR holds `pawpost` and `pawpost-history` (e.g. $CARGO_TARGET_DIR/release; the script
# does not build). PostgreSQL runs use a fresh database on $PAWPOST_LOAD_PG_URL (default
# postgres://postgres@127.0.0.1:5432) and drop it afterwards. PAWPOST_HISTORY_KEEP=DIR keeps
# the server's logs and the benchmark's state file in DIR.
set -euo pipefail

usage="usage: scripts/history.sh [sqlite|postgres] BIN_DIR [pawpost-history grow options]"
backend=sqlite
case "${1:-}" in
  sqlite|postgres) backend="$1"; shift ;;
esac
bin="${1:?$usage}"
shift

work="$(mktemp -d /tmp/pawpost-history.XXXXXX)"
pg_base="${PAWPOST_LOAD_PG_URL:-postgres://postgres@127.0.0.1:5432}"
pg_db=""
server=""
stop_server() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  server=""
}
cleanup() {
  stop_server
  if [ -n "$pg_db" ]; then
    psql "$pg_base/postgres" -qc "drop database if exists $pg_db with (force)" >/dev/null 2>&1 || true
  fi
  if [ -n "${PAWPOST_HISTORY_KEEP:-}" ]; then
    mkdir -p "$PAWPOST_HISTORY_KEEP"
    cp "$work"/server*.err "$work"/server*.out "$work/state.json" "$PAWPOST_HISTORY_KEEP/" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

case "$backend" in
  sqlite) database="sqlite:$work/pawpost.db" ;;
  postgres)
    pg_db="pawpost_history_$$"
    psql "$pg_base/postgres" -qc "drop database if exists $pg_db with (force)" >/dev/null 2>&1
    psql "$pg_base/postgres" -qc "create database $pg_db" >/dev/null
    database="$pg_base/$pg_db"
    ;;
esac

# A secret for this run only: the benchmark signs its users' tokens with it.
PAWPOST_JWT_SECRET="history-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export PAWPOST_JWT_SECRET
export RUST_LOG="${RUST_LOG:-warn}"

# Starts the server (log files suffixed $1) and waits until /readyz answers 200; sets $server
# and $url, and $ready_seconds (from the start to ready).
start_server() {
  local log="$work/server$1"
  local started
  started="$(date +%s.%N)"
  # Created first: the loop below may read them before the child has opened its redirections.
  : >"$log.out"
  : >"$log.err"
  "$bin/pawpost" serve --bind 127.0.0.1:0 --data-dir "$work" --database "$database" \
    >"$log.out" 2>"$log.err" &
  server=$!
  url=""
  for _ in $(seq 1 1200); do
    [ -z "$url" ] && url="$(sed -n 's/^pawpost listening on \(http:[^ ]*\)$/\1/p' "$log.out" | head -n1)"
    if [ -n "$url" ] && curl -fsS -o /dev/null "$url/readyz" 2>/dev/null; then
      ready_seconds="$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')"
      return 0
    fi
    kill -0 "$server" 2>/dev/null || { cat "$log.err" >&2; echo "the server exited" >&2; exit 2; }
    sleep 0.05
  done
  echo "the server was not ready within 60 s" >&2
  exit 2
}

start_server 1
echo "[history.sh] $backend server $server ready at $url in ${ready_seconds} s" >&2
"$bin/pawpost-history" grow --url "$url" --server-pid "$server" --state "$work/state.json" "$@"

peak_kib="$(awk '/^VmHWM:/ { print $2 }' "/proc/$server/status")"
stopping="$(date +%s.%N)"
stop_server
stopped="$(date +%s.%N)"
start_server 2
echo "[history.sh] stopped in $(awk -v s="$stopping" -v e="$stopped" 'BEGIN { printf "%.2f", e - s }') s (peak RSS $((peak_kib / 1024)) MiB); restarted: server $server ready at $url in ${ready_seconds} s" >&2
"$bin/pawpost-history" cold --url "$url" --server-pid "$server" --state "$work/state.json"
stop_server

status=0
for log in "$work"/server*.err; do
  if grep -q -E 'panicked|ERROR' "$log"; then
    echo "the server logged errors ($(basename "$log")):" >&2
    grep -E 'panicked|ERROR' "$log" | head -n 20 >&2
    status=1
  fi
  warnings="$(grep 'WARN' "$log" | grep -vc 'generated a development secret' || true)"
  if [ "$warnings" -gt 0 ]; then
    echo "the server logged $warnings warnings ($(basename "$log")), the first:" >&2
    grep 'WARN' "$log" | grep -v 'generated a development secret' | head -n 5 >&2
  fi
done
exit "$status"
