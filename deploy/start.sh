#!/usr/bin/env bash
# Starts Fallnetz's production processes against a running PostgreSQL and Redis: the web
# under gunicorn, one Celery worker and the one beat of the installation. When one of them
# ends, the others are stopped too and the script fails, so systemd or the container runtime
# restarts the whole set; SIGTERM or SIGINT stops all three cleanly and exits 0.
#
#   DATABASE_URL=postgresql://... CELERY_BROKER_URL=redis://... deploy/start.sh
#
# Run exactly one beat per installation: on further machines start only workers
# (deploy/systemd/fallnetz-worker.service) or only the web.
set -euo pipefail

cd "$(dirname "$0")/.."
BIN="${FALLNETZ_BIN:-.venv/bin}"   # where gunicorn and celery are installed

: "${DATABASE_URL:?DATABASE_URL must name the PostgreSQL event store (postgresql://...)}"
: "${CELERY_BROKER_URL:?CELERY_BROKER_URL must name the Redis broker (redis://...)}"
export LOG_FORMAT="${LOG_FORMAT:-json}"
LOG_LEVEL="${LOG_LEVEL:-INFO}"
QUIET=()  # Celery's start-up banners are no log lines; JSON logs go without them
[ "$LOG_FORMAT" = json ] && QUIET=(--quiet)

# The beat keeps its schedule there; a fresh installation may not have it yet.
mkdir -p "${INSTANCE_DIR:-instance}"

pids=()
stop() {
    trap - TERM INT
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
}
trap 'stop; exit 0' TERM INT

"$BIN/gunicorn" -c deploy/gunicorn.conf.py web.wsgi:app &
pids+=($!)
"$BIN/celery" "${QUIET[@]}" -A workers worker --loglevel "$LOG_LEVEL" \
    --concurrency "${CELERY_CONCURRENCY:-2}" --without-gossip --without-mingle &
pids+=($!)
"$BIN/celery" "${QUIET[@]}" -A workers beat --loglevel "$LOG_LEVEL" &
pids+=($!)

set +e
wait -n "${pids[@]}"
status=$?
echo "start.sh: a process ended with status $status; stopping the others" >&2
stop
exit $(( status == 0 ? 1 : status ))
