# conflictmap web / worker / beat image (Debian 12, Python 3.11, GDAL 3.6 from Debian).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends gdal-bin libgdal32 libgeos-c1v5 libproj25 postgresql-client \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY conflictmap ./conflictmap
RUN pip install .
COPY . .
RUN DEBUG=false SECRET_KEY=build-only python manage.py collectstatic --noinput

RUN useradd --system --home /app conflictmap && mkdir -p /app/var && chown conflictmap /app/var
USER conflictmap
EXPOSE 8000
CMD ["gunicorn", "conflictmap.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--timeout", "600"]
