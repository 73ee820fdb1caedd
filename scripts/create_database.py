"""Create the database named by the settings and its extensions, if they are missing.

`CREATE EXTENSION postgis` needs a superuser (PostGIS 3.3 is not a trusted extension), so this runs
with the configured role, which the setup expects to be one; test databases created from it by
pytest-django get the extensions through the migrations.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "conflictmap.settings")

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from psycopg import sql  # noqa: E402


def main() -> int:
    db = settings.DATABASES["default"]
    params = {
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
    }
    params = {k: v for k, v in params.items() if v}
    name = db["NAME"]
    try:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                print(f"created database {name}")
        with psycopg.connect(dbname=name, autocommit=True, **params) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            conn.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
            version = conn.execute("SELECT postgis_lib_version()").fetchone()[0]
    except psycopg.Error as exc:
        print(f"cannot prepare database {name!r}: {exc}", file=sys.stderr)
        return 1
    print(f"database {name} ready (PostGIS {version})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
