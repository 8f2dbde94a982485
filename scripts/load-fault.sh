#!/usr/bin/env bash
# The load + fault run: two instances of the release binary on one fresh
# PostgreSQL database, an SMTP sink, a mixed load for LOAD_SECONDS (300), and
# two faults during it: PostgreSQL is restarted once, the SMTP sink is stopped
# for 30 s once. Then the load generator checks that nothing was lost (see
# api/benches/load.rs) and prints the figures.
#
# It RESTARTS THE MACHINE'S POSTGRESQL (pg_ctlcluster): run it by hand, when
# no one else's tests use that server. Everything listens on 127.0.0.1.
#
#   bash scripts/load-fault.sh
#   LOAD_SECONDS=60 PG_CLUSTER="15 main" bash scripts/load-fault.sh
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${LOAD_SECONDS:-300}"
clients="${LOAD_CLIENTS:-8}"
admin_url="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
cluster="${PG_CLUSTER:-15 main}"
smtp_port="${SMTP_PORT:-2525}"
ports=(18101 18102)
target="${CARGO_TARGET_DIR:-target}"
work=$(mktemp -d)
db="cin_load_$(date +%s)"
db_url="${admin_url%/*}/$db"
pids=()

cleanup() {
  # The sink may have been restarted by the faults, in a subshell: its pid is in a file.
  for pid in "${pids[@]}" $(cat "$work/sink.pid" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q "$admin_url" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

python3 -c 'import aiosmtpd' 2>/dev/null ||
  python3 -m pip install --quiet --disable-pip-version-check aiosmtpd
cargo build --release -p cin-catalogue
cargo bench -p cin-catalogue --bench load --no-run

start_sink() {
  python3 -m aiosmtpd -n -l "127.0.0.1:$smtp_port" -c aiosmtpd.handlers.Mailbox "$work/maildir" \
    2>>"$work/sink.log" &
  echo $! >"$work/sink.pid"
}
mkdir -p "$work/maildir"/{tmp,new,cur}
start_sink
psql -q "$admin_url" -c "CREATE DATABASE \"$db\"" >/dev/null

export CIN_DATABASE_URL="$db_url" CIN_JWT_SECRET="load-$(date +%s%N)" CIN_LOG=warn CIN_LOG_FORMAT=json \
  CIN_SMTP_HOST=127.0.0.1 CIN_SMTP_PORT="$smtp_port" CIN_SMTP_SECURITY=none \
  CIN_SEND_EVERY_SECONDS=2 CIN_MAIL_RETRY_SECONDS=5 CIN_SMTP_TIMEOUT=5 \
  CIN_LOGIN_ATTEMPTS_PER_ACCOUNT=1000 CIN_LOGIN_ATTEMPTS_PER_ADDRESS=1000 \
  CIN_DB_POOL_SIZE=8 CIN_WORKERS=2
ready() { for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return; sleep 1; done; exit 1; }
for i in 0 1; do
  # The first instance loads the sample catalogue; the second finds it there.
  [ "$i" = 1 ] && export CIN_NO_SEED=1
  "$target/release/cin-catalogue" --data-dir "$work/instance$i" serve \
    --bind "127.0.0.1:${ports[$i]}" 2>"$work/instance$i.log" &
  pids+=($!)
  ready "${ports[$i]}"
done

faults() {
  sleep $((seconds / 3))
  echo "== $(date -u +%T) restarting PostgreSQL"
  pg_ctlcluster $cluster restart
  echo "== $(date -u +%T) PostgreSQL is back"
  sleep $((seconds / 4))
  echo "== $(date -u +%T) stopping the SMTP sink for 30 s"
  kill "$(cat "$work/sink.pid")"
  sleep 30
  start_sink
  echo "== $(date -u +%T) SMTP sink is back"
}
faults &
faults_pid=$!

status=0
cargo bench -p cin-catalogue --bench load -- \
  --bases "http://127.0.0.1:${ports[0]},http://127.0.0.1:${ports[1]}" \
  --seconds "$seconds" --clients "$clients" --pids "${pids[0]},${pids[1]}" \
  --maildir "$work/maildir" || status=$?
wait "$faults_pid" || true

for i in 0 1; do
  kill -TERM "${pids[$i]}"
  if wait "${pids[$i]}"; then echo "instance $((i + 1)) stopped on SIGTERM with exit 0"
  else echo "instance $((i + 1)) exited $? on SIGTERM"; status=1; fi
  echo "instance $((i + 1)): $(grep -c '"level":"ERROR"' "$work/instance$i.log" || true) error lines in its log"
done
pids=()
exit "$status"
