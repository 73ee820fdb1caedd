"""Vector files opened by GDAL (GeoDjango's DataSource) from bytes: GeoJSON, KML, KMZ, GeoPackage,
FlatGeobuf and zipped Shapefiles.

The format is told from the bytes before GDAL sees them, and only that format's drivers are
accepted: GDAL picks drivers by content, and some (VRT, GML) read other files or URLs named inside
the document. XML is checked before any XML parser of GDAL's reads it (see `xml_root`).
GDAL reads the bytes from a private temporary directory, removed when the reading is done.
"""

from __future__ import annotations

import io
import logging
import tempfile
import threading
import xml.parsers.expat
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from django.contrib.gis.gdal import DataSource, GDALException

from . import xmlguard

FORMATS = "GeoJSON, KML, KMZ, GeoPackage, FlatGeobuf or a zipped Shapefile"

# The GDAL drivers each format may be read by (KML by LIBKML when GDAL has it, else by KML).
DRIVERS = {
    "geojson": {"GeoJSON", "GeoJSONSeq", "ESRIJSON", "TopoJSON"},
    "kml": {"LIBKML", "KML"},
    "kmz": {"LIBKML", "KML"},
    "gpkg": {"GPKG"},
    "fgb": {"FlatGeobuf"},
    "shp": {"ESRI Shapefile"},
}
SUFFIX = {"geojson": ".geojson", "kml": ".kml", "kmz": ".kmz", "gpkg": ".gpkg", "fgb": ".fgb"}

# A zip archive is refused past these: a small zip can unpack to gigabytes.
MAX_UNZIPPED = 512 * 1024 * 1024
MAX_MEMBERS = 10_000

GDAL_LOGGER = logging.getLogger("django.contrib.gis")


class VectorError(ValueError):
    """The file cannot be read as a vector file; the message says why, for whoever sent it."""


class _GdalMessages(logging.Filter):
    """GeoDjango logs GDAL's errors ("GDAL_ERROR 4: ...") on the django.contrib.gis logger: keep
    the ones this thread causes, as the reason to give, instead of printing them to the console."""

    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread != self.thread or not str(record.msg).startswith("GDAL_ERROR"):
            return True
        message = record.args[-1] if record.args else record.getMessage()
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        message = " ".join(str(message).split())
        if message and message not in self.messages:
            self.messages.append(message)
        return False


@contextmanager
def gdal_messages() -> Iterator[list[str]]:
    """The GDAL error messages raised in this thread within the block, in order, each once."""
    catcher = _GdalMessages()
    GDAL_LOGGER.addFilter(catcher)
    try:
        yield catcher.messages
    finally:
        GDAL_LOGGER.removeFilter(catcher)


def _xml_encoding_of(data: bytes) -> str | None:
    """The encoding a byte-order mark or the first bytes show (XML 1.0, appendix F), if any."""
    marks = [
        (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\xef\xbb\xbf", "utf-8"), (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"),
        (b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"),
        (b"\x00<\x00", "utf-16-be"), (b"<\x00", "utf-16-le"),
    ]  # fmt: skip
    return next((name for mark, name in marks if data.startswith(mark)), None)


def _text_head(data: bytes) -> str:
    """The first characters of the file as text, whatever its Unicode encoding."""
    encoding = _xml_encoding_of(data) or "utf-8"
    return data[:256].decode(encoding, "ignore").lstrip("\ufeff \t\r\n")


def xml_root(data: bytes) -> str:
    """The local name of the root element of `data`, once xmlguard has refused any DTD or
    entity declaration in every encoding a reader could decode it in (billion laughs, external
    entities: no XML reader of GDAL's then sees one). Expat then reads the document to tell its
    root and whether it is well-formed. Raises VectorError with the reason otherwise."""
    if (_xml_encoding_of(data) or "").startswith("utf-32"):
        raise VectorError("XML in UTF-32 is not read; save it as UTF-8")  # expat cannot read it
    try:
        xmlguard.check_xml(data)
    except xmlguard.XMLRefused as exc:
        raise VectorError(str(exc)) from None
    parser = xml.parsers.expat.ParserCreate()
    root: list[str] = []

    def start(name: str, attrs: dict) -> None:
        if not root:
            root.append(name.rpartition(":")[2])

    parser.StartElementHandler = start
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        reason = xml.parsers.expat.ErrorString(exc.code)
        raise VectorError(
            f"not well-formed XML at line {exc.lineno}, column {exc.offset + 1}: {reason}"
        ) from None
    except (ValueError, LookupError, RecursionError) as exc:
        raise VectorError(f"not readable XML: {str(exc)[:200]}") from None
    if not root:
        raise VectorError("an XML document with no element")
    return root[0]


def _zip_member(data: bytes) -> tuple[str, str]:
    """Which kind of zip this is (KMZ or zipped Shapefile) and the path inside it to open."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise VectorError(f"a damaged zip archive ({exc})") from None
    if len(members) > MAX_MEMBERS or sum(m.file_size for m in members) > MAX_UNZIPPED:
        raise VectorError(
            f"a zip archive that unpacks to more than {MAX_MEMBERS:,} files or "
            f"{MAX_UNZIPPED // 2**20} MB"
        )
    if any(m.flag_bits & 0x1 for m in members):
        raise VectorError("an encrypted zip archive")
    with archive:
        kml = [m.filename for m in members if m.filename.lower().endswith(".kml")]
        if kml:
            for name in kml:  # every KML of a KMZ, the one GDAL reads and any it might follow
                try:
                    root = xml_root(archive.read(name))
                except VectorError as exc:
                    raise VectorError(f"{name} in the KMZ: {exc}") from None
                except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                    raise VectorError(f"{name} in the KMZ cannot be unpacked ({exc})") from None
                if root != "kml":
                    raise VectorError(f"{name} in the KMZ is <{root[:40]}>, not KML")
            # Google Earth and My Maps read doc.kml, else the first KML at the top of the archive.
            top = sorted(kml, key=lambda n: (n.lower() != "doc.kml", n.count("/"), n))
            return "kmz", top[0]
    shapefiles = [m.filename for m in members if m.filename.lower().endswith(".shp")]
    if shapefiles:
        folders = {str(PurePosixPath(s).parent) for s in shapefiles}
        if len(folders) > 1:
            raise VectorError(
                f"a zip archive with Shapefiles in {len(folders)} folders; keep one folder"
            )
        # One Shapefile: the file itself; several side by side: their folder, one layer each.
        return "shp", shapefiles[0] if len(shapefiles) == 1 else folders.pop()
    found = ", ".join(m.filename for m in members[:8]) or "nothing"
    raise VectorError(
        f"a zip archive with no .kml (KMZ) or .shp (zipped Shapefile) inside; found: {found[:300]}"
    )


def sniff(data: bytes) -> tuple[str, str]:
    """The format of `data` from its bytes, and for a zip the member to read.

    Raises VectorError when the bytes are none of the formats zone files come in."""
    if not data.strip():
        raise VectorError("the file is empty")
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_member(data)
    if data.startswith(b"SQLite format 3\x00"):
        return "gpkg", ""
    if data[:3] == b"fgb" and data[3:4] == b"\x03":
        return "fgb", ""
    head = _text_head(data)
    if head.startswith(("{", "[")):
        return "geojson", ""
    if head.startswith("<"):
        root = xml_root(data)
        if root != "kml":
            raise VectorError(f"an XML document whose root element is <{root[:40]}>, not KML")
        return "kml", ""
    raise VectorError(f"not a vector file this importer reads ({FORMATS})")


@contextmanager
def open_vector(data: bytes, filename: str = "") -> Iterator[DataSource]:
    """`data` opened by GDAL as a DataSource, valid within the block.

    Raises VectorError naming the file and the reason (GDAL's own words when GDAL refuses it)."""
    name = filename or "the file"
    try:
        kind, member = sniff(data)
    except VectorError as exc:
        raise VectorError(f"{name}: {exc}") from None
    with tempfile.TemporaryDirectory(prefix="conflictmap-vector-") as folder:
        path = Path(folder) / f"upload{SUFFIX.get(kind, '.zip')}"
        path.write_bytes(data)
        target = f"/vsizip/{path}/{member}" if member else str(path)
        with gdal_messages() as messages:
            try:
                source = DataSource(target)
            except GDALException:
                reason = "; ".join(messages) or "GDAL recognises no format in it"
                raise VectorError(
                    f"{name}: GDAL cannot open it as {kind}: {reason[:500]}"
                ) from None
        try:
            if source.driver.name not in DRIVERS[kind]:
                raise VectorError(
                    f"{name}: GDAL reads it as {source.driver.name}, not as {kind}; refused"
                )
            if source.layer_count == 0:
                reason = "; ".join(messages)[:500]
                raise VectorError(
                    f"{name}: GDAL finds no layer in it" + (f": {reason}" if reason else "")
                )
            yield source
        finally:
            del source
