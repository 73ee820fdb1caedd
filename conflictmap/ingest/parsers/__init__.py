"""Pure parsers: bytes in, (records, problems) out. No database, no network.

A problem names the row or feature and the reason. A problem marked `repaired` describes a safe
repair: its record is still among the records. Anything else is a rejection.
"""

from __future__ import annotations

from dataclasses import dataclass

# Syria's extent (lon 35.73..42.38, lat 32.31..37.32) padded by ~0.2 degrees so that border towns
# and rounding in exports are not rejected. West, south, east, north.
SYRIA_BBOX: tuple[float, float, float, float] = (35.5, 32.1, 42.6, 37.6)


@dataclass
class Problem:
    row: str
    reason: str
    raw: str = ""
    repaired: bool = False


def in_syria(lon: float, lat: float) -> bool:
    west, south, east, north = SYRIA_BBOX
    return west <= lon <= east and south <= lat <= north


def decode_text(data: bytes) -> tuple[str, str | None]:
    """Decode bytes as UTF-8 (with or without BOM, or UTF-16 with BOM), falling back to cp1252
    then latin-1. Returns the text and a note when a fallback was used."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), None
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        where = f"byte {exc.start}"
    try:
        return data.decode("cp1252"), f"not valid UTF-8 ({where}); read as Windows-1252 (cp1252)"
    except UnicodeDecodeError:
        return data.decode("latin-1"), f"not valid UTF-8 ({where}); read as Latin-1"
