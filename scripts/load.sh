#!/usr/bin/env bash
# Starts a fresh pawpost server, runs pawpost-loadgen against it, and reports the server's CPU
# time and peak memory over the run. Exits with the load generator's status (non-zero on any
# lost, duplicated or reordered delivery).
#
#   scripts/load.sh sqlite|postgres BIN_DIR [pawpost-loadgen options…]
#
# BIN_DIR holds `pawpost` and `pawpost-loadgen` (e.g. $CARGO_TARGET_DIR/release). PostgreSQL
# runs use a fresh database on $PAWPOST_LOAD_PG_URL (default postgres://postgres@127.0.0.1:5432)
# and drop it afterwards. PAWPOST_LOAD_KEEP=DIR keeps the server's logs in DIR.
set -euo pipefail

backend="${1:?usage: scripts/load.sh sqlite|postgres BIN_DIR [loadgen options]}"
bin="${2:?usage: scripts/load.sh sqlite|postgres BIN_DIR [loadgen options]}"
shift 2

work="$(mktemp -d /tmp/pawpost-load.XXXXXX)"
pg_base="${PAWPOST_LOAD_PG_URL:-postgres://postgres@127.0.0.1:5432}"
pg_db=""
server=""
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  if [ -n "$pg_db" ]; then
    psql "$pg_base/postgres" -qc "drop database if exists $pg_db with (force)" >/dev/null 2>&1 || true
  fi
  if [ -n "${PAWPOST_LOAD_KEEP:-}" ]; then
    mkdir -p "$PAWPOST_LOAD_KEEP"
    cp "$work"/server.out "$work"/server.err "$PAWPOST_LOAD_KEEP/" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

case "$backend" in
  sqlite) database="sqlite:$work/pawpost.db" ;;
  postgres)
    pg_db="pawpost_load_$$"
    psql "$pg_base/postgres" -qc "drop database if exists $pg_db with (force)" >/dev/null 2>&1
    psql "$pg_base/postgres" -qc "create database $pg_db" >/dev/null
    database="$pg_base/$pg_db"
    ;;
  *) echo "backend must be sqlite or postgres, not '$backend'" >&2; exit 2 ;;
esac

# A secret for this run only: the generator signs its users' tokens with it.
PAWPOST_JWT_SECRET="load-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export PAWPOST_JWT_SECRET
export RUST_LOG="${RUST_LOG:-warn}"

# The files exist before the server starts: the loop below may read them before the
# backgrounded child has opened its redirections.
: >"$work/server.out"
: >"$work/server.err"
"$bin/pawpost" serve --bind 127.0.0.1:0 --data-dir "$work" --database "$database" \
  >"$work/server.out" 2>"$work/server.err" &
server=$!
url=""
for _ in $(seq 1 600); do
  url="$(sed -n 's/^pawpost listening on \(http:[^ ]*\)$/\1/p' "$work/server.out" | head -n1)"
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.err" >&2; echo "the server exited" >&2; exit 2; }
  sleep 0.1
done
[ -n "$url" ] || { echo "the server did not start within 60 s" >&2; exit 2; }

ticks="$(getconf CLK_TCK)"
cpu() { awk '{ print $14 + $15 }' "/proc/$server/stat"; }
cpu_before="$(cpu)"
started="$(date +%s.%N)"
status=0
"$bin/pawpost-loadgen" --url "$url" "$@" || status=$?
ended="$(date +%s.%N)"
cpu_after="$(cpu)"
peak_kib="$(awk '/^VmHWM:/ { print $2 }' "/proc/$server/status")"
awk -v b="$cpu_before" -v a="$cpu_after" -v t="$ticks" -v s="$started" -v e="$ended" \
    -v p="$peak_kib" -v backend="$backend" 'BEGIN {
  cpu = (a - b) / t; wall = e - s;
  printf "server (%s): %.1f s CPU over %.1f s of load (%.0f%% of one core), peak RSS %.1f MiB\n",
         backend, cpu, wall, 100 * cpu / wall, p / 1024
}' >&2
if grep -q -E 'panicked|ERROR' "$work/server.err"; then
  echo "the server logged errors:" >&2
  grep -E 'panicked|ERROR' "$work/server.err" | head -n 20 >&2
  status=1
fi
exit "$status"
