"""The demo: factions, regions, gazetteer and a sourced fortnight of late 2024 in northern Syria.

The content lives in fixtures/demo/*.json and fixtures/natural-earth-syria-and-neighbours.geojson;
`loader.load_demo()` puts it in the database (idempotently) and builds the geometry in PostGIS.
"""

from conflictmap.territory.demo.loader import DEMO_SYSTEM, load_demo

__all__ = ["DEMO_SYSTEM", "load_demo"]
