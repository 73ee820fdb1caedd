#!/usr/bin/env bash
# Start the dashboard: web (gunicorn), Celery worker and Celery beat together. Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT=${PORT:-8000}
WEB_WORKERS=${WEB_WORKERS:-2}

$PY manage.py migrate --noinput
if $PY manage.py shell --no-imports -c "import sys; from conflictmap.territory.models import Faction; sys.exit(0 if Faction.objects.exists() else 1)"; then
  echo "demo data already loaded (run 'make demo' to load it again)"
else
  $PY manage.py load_demo
fi
$PY manage.py ensure_dev_admin

pids=()
stop() {
  trap - INT TERM EXIT
  echo "stopping web, worker and beat"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  # A warm Celery shutdown finishes the tasks it holds; give everything 25 s, then force it.
  for _ in $(seq 250); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

# Big exports stream for a long time: a short sync-worker timeout would cut them with a 200.
.venv/bin/gunicorn conflictmap.wsgi:application --bind "127.0.0.1:$PORT" --workers "$WEB_WORKERS" \
  --timeout 600 --access-logfile - &
pids+=($!)
.venv/bin/celery -A conflictmap worker --loglevel INFO --concurrency 2 &
pids+=($!)
.venv/bin/celery -A conflictmap beat --loglevel INFO --schedule var/celerybeat-schedule &
pids+=($!)

echo
echo "conflictmap is running: http://127.0.0.1:$PORT   (editors: http://127.0.0.1:$PORT/admin/)"
echo "press Ctrl-C to stop web, worker and beat"
wait -n "${pids[@]}"
echo "one of the processes exited; stopping the others"
