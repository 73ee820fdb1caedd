#!/bin/sh
# Copy the pinned front-end libraries (package.json + package-lock.json) into static/vendor/.
# The copies are committed, so running the site needs neither npm nor a CDN; run this after
# changing a version in package.json. Leaflet itself comes with django-leaflet.
set -eu
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund --ignore-scripts
rm -rf static/vendor/leaflet.markercluster static/vendor/uplot static/vendor/pmtiles \
  static/vendor/leaflet.vectorgrid
mkdir -p static/vendor/leaflet.markercluster static/vendor/uplot static/vendor/pmtiles \
  static/vendor/leaflet.vectorgrid
# The source map goes along: the script names it, and collectstatic's manifest storage fails on
# a reference to a missing file.
cp node_modules/leaflet.markercluster/dist/leaflet.markercluster.js \
   node_modules/leaflet.markercluster/dist/leaflet.markercluster.js.map \
   node_modules/leaflet.markercluster/dist/MarkerCluster.css \
   node_modules/leaflet.markercluster/dist/MarkerCluster.Default.css \
   node_modules/leaflet.markercluster/MIT-LICENCE.txt \
   static/vendor/leaflet.markercluster/
cp node_modules/uplot/dist/uPlot.esm.js node_modules/uplot/dist/uPlot.min.css \
   node_modules/uplot/LICENSE static/vendor/uplot/
# PMTiles (the static snapshot's event archive, read by HTTP range requests): the browser build,
# one script with its gzip reader inside, defining the global `pmtiles`.
# The package has no licence file: its package.json, which names the licence (BSD-3-Clause), goes.
cp node_modules/pmtiles/dist/pmtiles.js node_modules/pmtiles/dist/pmtiles.js.map \
   node_modules/pmtiles/package.json static/vendor/pmtiles/
# Leaflet.VectorGrid draws the event vector tiles; the minified bundle (with its own protobuf
# reader) names no source map. Its licence is only in its README: kept beside it.
cp node_modules/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js static/vendor/leaflet.vectorgrid/
sed -n '/^## Legalese/,$p' node_modules/leaflet.vectorgrid/README.md > static/vendor/leaflet.vectorgrid/LICENCE.txt
for pkg in leaflet.markercluster uplot pmtiles leaflet.vectorgrid; do
  node -e "process.stdout.write(require('./node_modules/$pkg/package.json').version)" \
    > "static/vendor/$pkg/VERSION"
done
echo "vendored: $(cat static/vendor/leaflet.markercluster/VERSION) markercluster, $(cat static/vendor/uplot/VERSION) uPlot, $(cat static/vendor/pmtiles/VERSION) pmtiles, $(cat static/vendor/leaflet.vectorgrid/VERSION) VectorGrid"
