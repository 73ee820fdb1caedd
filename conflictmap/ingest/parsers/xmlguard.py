"""The guard our own XML parsers go through first: RSS and Atom feeds (feedparser).

A document type declaration can declare entities, and entities are how XML attacks work: one
entity expanding into billions of characters ("billion laughs"), or an external entity that
makes the reader open a local file or an internal URL. A news feed needs neither, so a feed that
declares an entity is refused before any parser sees it.

"Before any parser sees it" must hold in every encoding a parser could read the bytes in: a look
for `<!ENTITY` in UTF-8 would miss one written in UTF-16, and feedparser has encoding detection
and parsers of its own. So:
- `check_xml` looks at the raw bytes in each encoding a reader may decode them in
  (ASCII-compatible ones, UTF-16 and UTF-32 of both byte orders, EBCDIC, and whatever the
  document declares, UTF-7 and ISO-2022 included);
- `read_xml` decodes the bytes once, as an XML processor would, checks that text too, and gives
  the parser exactly that text as UTF-8 with a declaration saying so: what was checked is what
  is parsed.

A DOCTYPE with no internal subset (`<!DOCTYPE rss PUBLIC "-//Netscape ..." "...dtd">`, which
old RSS 0.91 feeds carry) declares nothing; feeds may have one (`allow_doctype=True`), since no
reader here fetches external DTDs. Zone files (KML, and each KML in a KMZ) go through
`check_xml` with no DTD allowed before GDAL reads them (parsers.vector.xml_root).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator

WHY = (
    "XML with a DTD or entities is never read: entity expansion and external entities are "
    "ways to attack the program that reads it"
)
DOCTYPE = re.compile(r"<!DOCTYPE", re.IGNORECASE)
ENTITY = re.compile(r"<!ENTITY", re.IGNORECASE)
# A DOCTYPE whose internal subset opens ("[") before the declaration ends; quoted ids may hold
# ">" or "[". The alternatives start with different characters, so matching is linear.
INTERNAL_SUBSET = re.compile(r"<!DOCTYPE(?:[^\[>\"']|\"[^\"]*\"|'[^']*')*\[", re.IGNORECASE)
DECLARED = re.compile(r"""^\s*<\?xml\s[^>]*?\bencoding\s*=\s*(["'])([A-Za-z][\w.:-]{0,39})\1""")

# Byte order marks, then the first four bytes of "<?xm" or "<" in encodings that are not
# ASCII-compatible (XML 1.0, appendix F). Longer marks first: UTF-32LE's BOM starts like UTF-16LE's.
BOMS = [
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
]
SNIFFED = [
    (b"\x00\x00\x00\x3c", "utf-32-be"),
    (b"\x3c\x00\x00\x00", "utf-32-le"),
    (b"\x00\x3c\x00\x3f", "utf-16-be"),
    (b"\x3c\x00\x3f\x00", "utf-16-le"),
    (b"\x4c\x6f\xa7\x94", "cp037"),
]
# Encodings a reader may decode bytes in without being told, beyond the ASCII-compatible ones.
OTHER_VIEWS = ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "cp037", "cp500"]
WIDE = {"utf-16", "utf-32", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"}


class XMLRefused(ValueError):
    """The bytes are refused before any parser sees them; the message says why, for an editor."""


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def sniff_encoding(data: bytes) -> tuple[str, int, str | None]:
    """(encoding, length of its byte order mark, encoding the declaration names) as an XML
    processor finds them: a BOM, else the first bytes, else the declaration, else UTF-8."""
    base, skip = "utf-8", 0
    for bom, name in BOMS:
        if data.startswith(bom):
            base, skip = name, len(bom)
            break
    else:
        for start, name in SNIFFED:
            if data.startswith(start):
                base = name
                break
    head = data[skip : skip + 1024].decode(base, "replace")
    found = DECLARED.match(head)
    declared = found.group(2) if found else None
    return base, skip, declared


def _encoding_of(data: bytes) -> tuple[str, int, str | None]:
    """The encoding to decode with, the BOM's length, and a note when the declaration is
    unusable. A BOM or a wide first-bytes pattern wins over the declaration (as in expat)."""
    base, skip, declared = sniff_encoding(data)
    if declared is None:
        return base, skip, None
    codec = _codec(declared)
    if codec is None:
        return base, skip, f"declares the unknown encoding {declared!r}"
    if skip or base in WIDE:
        return base, skip, None
    return codec, skip, None


def _views(data: bytes) -> Iterator[tuple[str, str]]:
    """The bytes as each reader could decode them, named for the message."""
    # Latin-1 maps each byte to one character, so ASCII markup shows exactly where it is in
    # UTF-8 and every other ASCII-compatible encoding.
    yield "UTF-8 or another ASCII-compatible encoding", data.decode("latin-1")
    for name in OTHER_VIEWS:
        # Markup starts with "<!": bytes that do not hold it in this encoding hide nothing in
        # it, and are not decoded (decoding ASCII as UTF-32 replaces every character: slow).
        if "<!".encode(name) in data:
            yield name.upper(), data.decode(name, "replace")
    _, _, declared = sniff_encoding(data)
    codec = _codec(declared) if declared else None
    if codec and codec not in {"utf-8", "latin-1", "iso8859-1", *OTHER_VIEWS}:
        # Stateful or shifting encodings (UTF-7, ISO-2022-*, HZ) can spell markup with bytes
        # that are not ASCII "<!"; a reader that honours the declaration would see it. (UTF-8
        # needs no view of its own: its ASCII characters are its ASCII bytes.)
        yield f"the declared encoding {declared}", data.decode(codec, "replace")


def check_text(text: str, where: str, *, allow_doctype: bool = False) -> None:
    """Refuse an entity declaration anywhere, and a DOCTYPE (or, with allow_doctype, one that
    opens an internal subset)."""
    if ENTITY.search(text):
        raise XMLRefused(f"refused: the file declares XML entities (<!ENTITY> in {where}); {WHY}")
    doctype = INTERNAL_SUBSET if allow_doctype else DOCTYPE
    if doctype.search(text):
        what = "a DTD with an internal subset" if allow_doctype else "a DTD"
        raise XMLRefused(f"refused: the file has {what} (<!DOCTYPE> in {where}); {WHY}")


def check_xml(data: bytes, *, allow_doctype: bool = False) -> None:
    """Refuse XML bytes that declare entities (or a DTD) in any encoding a reader could decode
    them in. Raises XMLRefused; returns None when the bytes may be handed to a reader."""
    for where, text in _views(data):
        check_text(text, where, allow_doctype=allow_doctype)


def decode_xml(data: bytes) -> tuple[str, str | None]:
    """Decode as an XML processor would (BOM, first bytes, declaration); when those do not
    decode, fall back to UTF-8, then Windows-1252, then Latin-1, and say so in the note."""
    encoding, skip, note = _encoding_of(data)
    if note is None:
        try:
            return data[skip:].decode(encoding), None
        except UnicodeDecodeError as exc:
            note = f"not valid {encoding} (byte {exc.start + skip})"
    for fallback in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = data.decode(fallback)
        except UnicodeDecodeError:
            continue
        label = {"utf-8-sig": "UTF-8", "cp1252": "Windows-1252 (cp1252)"}.get(fallback, "Latin-1")
        return text, f"{note}; read as {label}"
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def read_xml(data: bytes, *, allow_doctype: bool = False) -> tuple[bytes, str | None]:
    """Bytes for our own XML parsers: checked in every encoding, decoded once, the decoded text
    checked again, and returned as UTF-8 whose declaration says UTF-8, so the parser reads
    exactly the text that was checked. The note says when the encoding needed a fallback."""
    check_xml(data, allow_doctype=allow_doctype)
    text, note = decode_xml(data)
    check_text(text, "the decoded text", allow_doctype=allow_doctype)
    text = DECLARED.sub(
        lambda m: m.group(0)[: m.start(2) - m.start(0)] + "utf-8" + m.group(1), text
    )
    return text.encode("utf-8", "surrogatepass"), note
