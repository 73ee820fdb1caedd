#!/bin/sh
# Regenerate fixtures/natural-earth-syria-and-neighbours.geojson from Natural Earth (public domain)
# as shipped in the npm package world-atlas 2.0.2 (TopoJSON, ISC licence for the packaging).
# Needs npm and GDAL's ogr2ogr (TopoJSON driver). Run from anywhere; writes into the repo.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT="$ROOT/fixtures/natural-earth-syria-and-neighbours.geojson"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
npm pack --silent world-atlas@2.0.2 >/dev/null
tar xzf world-atlas-2.0.2.tgz
rm -f "$OUT"
# Syria and the countries around it (Cyprus too: it is on the map's edge). Coordinates rounded to
# 4 decimals (~10 m), far finer than the 1:10m source needs.
ogr2ogr -f GeoJSON "$OUT" package/countries-10m.json \
  -a_srs EPSG:4326 \
  -sql "SELECT id AS iso_n3, name FROM countries WHERE name IN ('Syria','Turkey','Iraq','Jordan','Lebanon','Israel','Palestine','Cyprus') ORDER BY name" \
  -lco COORDINATE_PRECISION=4 -lco RFC7946=YES -nln countries
echo "wrote $OUT ($(wc -c <"$OUT") bytes)"
