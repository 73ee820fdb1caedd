#!/bin/sh
# Rebuild the zone files of every format from zones.geojson (and the My Maps-like KMZ from
# mymaps/doc.kml) with GDAL's ogr2ogr. The outputs are committed; run this after editing either.
set -eu
cd "$(dirname "$0")"
rm -f zones.gpkg zones.fgb zones.kml zones-3857.geojson zones-utm37n.zip zones-mymaps.kmz
ogr2ogr -f GPKG zones.gpkg zones.geojson -nln zones -lco SPATIAL_INDEX=NO
ogr2ogr -f FlatGeobuf zones.fgb zones.geojson -lco SPATIAL_INDEX=NO
ogr2ogr -f KML zones.kml zones.geojson -dsco NameField=zone
# Other coordinate systems, read back in EPSG:4326: Web Mercator (a GeoJSON "crs" member) and
# UTM zone 37N (a Shapefile's .prj).
ogr2ogr -f GeoJSON zones-3857.geojson zones.geojson -t_srs EPSG:3857 -lco RFC7946=NO \
  -lco COORDINATE_PRECISION=3
tmp=$(mktemp -d)
ogr2ogr -f "ESRI Shapefile" "$tmp/zones.shp" zones.geojson -t_srs EPSG:32637 -nlt MULTIPOLYGON
(cd "$tmp" && zip -q -X zones.zip zones.shp zones.shx zones.dbf zones.prj)
mv "$tmp/zones.zip" zones-utm37n.zip
rm -rf "$tmp"
(cd mymaps && zip -q -X ../zones-mymaps.kmz doc.kml)
