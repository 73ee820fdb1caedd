#!/usr/bin/env bash
# Prepare this machine for conflictmap: Debian packages, the virtual environment, PostgreSQL with
# PostGIS and Redis (found through DATABASE_URL / REDIS_URL, on 127.0.0.1, or started privately
# under var/). Safe to run again: every step checks before it acts.
#   scripts/setup.sh          what `make run` needs
#   scripts/setup.sh --test   plus what the test suite needs (Chromium for the browser tests)
# Environment: DATABASE_URL / REDIS_URL (use these servers), CONFLICTMAP_VAR (state folder, default
# var/), PG_PRIVATE=1 (make and use a private cluster even when a server answers on 5432),
# PG_PRIVATE_PORT (its port, default 54329).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
mode=${1:-run}
VAR=${CONFLICTMAP_VAR:-$ROOT/var}
mkdir -p "$VAR" var/staticfiles var/media

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi

# -- Debian packages ------------------------------------------------------------------------
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
want=()
need_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed" || want+=("$1"); }

pg_version=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1 || true)
private_pg=""
if [ -z "${DATABASE_URL:-}" ] && { [ -n "${PG_PRIVATE:-}" ] || ! port_open 127.0.0.1 5432; }; then
  private_pg=1
fi
if [ -n "$private_pg" ] && [ ! -x "/usr/lib/postgresql/${pg_version:-none}/bin/initdb" ]; then
  # No PostgreSQL at all: install the server binaries; a private cluster is made below.
  need_pkg postgresql
  pg_version=15
fi
[ -n "$pg_version" ] && need_pkg "postgresql-${pg_version}-postgis-3"
need_pkg gdal-bin
need_pkg postgresql-client
command -v python3 >/dev/null || need_pkg python3
python3 -c 'import venv, ensurepip' 2>/dev/null || need_pkg python3-venv
if [ -z "${REDIS_URL:-}" ] && ! port_open 127.0.0.1 6379; then need_pkg redis-server; fi
if [ "$mode" = "--test" ]; then
  need_pkg chromium
  need_pkg docker-compose
  need_pkg redis-server  # the ingestion tests restart a private Redis
fi
if [ ${#want[@]} -gt 0 ]; then
  log "installing Debian packages: ${want[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
fi
pg_version=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1 || true)

# -- Python virtual environment ---------------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  python3 -m venv .venv
fi
# Exactly the versions and files pinned in requirements.lock (`make lock` writes it from
# pyproject.toml's ranges), then the project itself with the build backend pinned there too. The
# stamp holds the checksums of both files, so a changed lock or pyproject installs again.
stamp=.venv/.installed
inputs=$(sha256sum requirements.lock pyproject.toml)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$inputs" ]; then
  log "installing Python dependencies into .venv (requirements.lock)"
  .venv/bin/pip install -q --require-hashes -r requirements.lock
  .venv/bin/pip install -q --no-deps --no-build-isolation -e .
  # A requirement added to pyproject.toml but not to the lock is missing here: say what to do.
  if ! broken=$(.venv/bin/pip check); then
    echo "$broken" >&2
    echo "requirements.lock is out of step with pyproject.toml: run \`make lock\` and commit it" >&2
    exit 1
  fi
  echo "$inputs" >"$stamp"
fi

# -- PostgreSQL -------------------------------------------------------------------------------
runtime=$VAR/runtime.env
: >"$runtime.new"
if [ -n "$private_pg" ]; then
  pgdata=$VAR/pg/data
  pgport=${PG_PRIVATE_PORT:-54329}
  pgbin=/usr/lib/postgresql/$pg_version/bin
  as_pg=()
  if [ "$(id -u)" -eq 0 ]; then as_pg=(runuser -u postgres --); fi
  if [ ! -f "$pgdata/PG_VERSION" ]; then
    log "no PostgreSQL server to use: creating a private cluster in $VAR/pg"
    mkdir -p "$pgdata"
    if [ "$(id -u)" -eq 0 ]; then
      chown -R postgres:postgres "$VAR/pg"
      # The server runs as 'postgres' and must be able to reach its folder: let it traverse
      # (x, not read) the folders above it that do not allow that yet.
      d=$VAR
      while [ "$d" != "/" ]; do
        if ! runuser -u postgres -- test -x "$d"; then
          log "allowing the postgres user to traverse $d (chmod o+x)"
          chmod o+x "$d"
        fi
        d=$(dirname "$d")
      done
    fi
    "${as_pg[@]}" "$pgbin/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  if ! port_open 127.0.0.1 $pgport; then
    log "starting the private PostgreSQL on 127.0.0.1:$pgport"
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdata" -l "$pgdata/../server.log" -w \
      -o "-p $pgport -k /tmp -c listen_addresses=127.0.0.1" start >/dev/null
    for _ in $(seq 50); do port_open 127.0.0.1 "$pgport" && break; sleep 0.1; done
  fi
  echo "DATABASE_URL=postgis://postgres@127.0.0.1:$pgport/conflictmap" >>"$runtime.new"
fi

# -- Redis ------------------------------------------------------------------------------------
if [ -z "${REDIS_URL:-}" ] && ! port_open 127.0.0.1 6379; then
  log "no Redis found: starting one on 127.0.0.1:6379 (nothing kept on disk)"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir "$ROOT/var" --logfile "$ROOT/var/redis.log"
  for _ in $(seq 50); do port_open 127.0.0.1 6379 && break; sleep 0.1; done
fi
mv "$runtime.new" "$runtime"

# -- Database and extensions ------------------------------------------------------------------
CONFLICTMAP_VAR=$VAR .venv/bin/python scripts/create_database.py
log "setup done"
