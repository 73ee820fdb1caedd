# conflictmap web / worker / beat image (Debian 12, Python 3.11, GDAL 3.6 from Debian).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends gdal-bin libgdal32 libgeos-c1v5 libproj25 postgresql-client \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# The versions and files of requirements.lock (its own layer: rebuilt only when the lock changes),
# then the project with the build backend pinned there. The lock holds the dev tools too (one lock
# for every install); they are not used here.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY conflictmap ./conflictmap
RUN pip install --no-deps --no-build-isolation . && pip check
COPY . .
RUN DEBUG=false SECRET_KEY=build-only-not-used-at-run-time ALLOWED_HOSTS=build.invalid \
    python manage.py collectstatic --noinput

RUN useradd --system --home /app conflictmap && mkdir -p /app/var && chown conflictmap /app/var
USER conflictmap
EXPOSE 8000
CMD ["gunicorn", "conflictmap.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--timeout", "600"]
