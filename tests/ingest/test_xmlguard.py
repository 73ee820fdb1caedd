"""The XML guard of feeds: entities and DTDs refused in every encoding before any parser sees
them (the old feed parser handed UTF-16 straight to feedparser); feeds handed to feedparser as
the text that was checked."""

from __future__ import annotations

import pytest

from conflictmap.ingest.parsers import feed, xmlguard

# (Python codec, what the declaration says, the view the guard names): with and without a byte
# order mark, both byte orders, UTF-32, and UTF-7, which can spell "<" as "+ADw-".
ENCODINGS = [
    ("utf-8", "UTF-8", "UTF-8 or another ASCII-compatible encoding"),
    ("utf-16", "UTF-16", "UTF-16-LE"),
    ("utf-16-le", "UTF-16", "UTF-16-LE"),
    ("utf-16-be", "UTF-16", "UTF-16-BE"),
    ("utf-32", "UTF-32", "UTF-32-LE"),
    ("utf-7", "UTF-7", "the declared encoding UTF-7"),
]

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    "<rss><channel><title>&lol3;</title></channel></rss>"
)
EXTERNAL = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    "<rss><channel><title>&secret;</title></channel></rss>"
)
NETSCAPE_RSS = (
    '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
    '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"'
    ' "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n'
    '<rss version="0.91"><channel><title>Old wire</title><link>https://old.example.org/</link>'
    "<item><title>Shelling near Hama</title><link>https://old.example.org/1</link>"
    "<description>Artillery shelled villages north of Hama.</description></item>"
    "</channel></rss>"
)


@pytest.mark.parametrize("codec", ["utf-8", "utf-16", "utf-16-be", "utf-32-be", "cp037"])
def test_the_billion_laughs_and_external_entities_are_refused_in_each_encoding(codec):
    for document in (BILLION_LAUGHS, EXTERNAL):
        with pytest.raises(xmlguard.XMLRefused, match=r"^refused: the file declares XML entities"):
            xmlguard.check_xml(document.encode(codec))


def test_an_entity_spelt_in_iso_2022_shifts_is_seen_through_the_declared_encoding():
    # ISO-2022-JP drops "ESC ( B" (back to ASCII) between two ASCII letters: the bytes never
    # hold "<!ENTITY", the decoded text does, and a reader honouring the declaration sees it.
    data = b'<?xml version="1.0" encoding="iso-2022-jp"?><!DOC\x1b(BTYPE x [<!EN\x1b(BTITY a "b">]>'
    assert b"<!ENTITY" not in data and b"<!DOCTYPE" not in data
    with pytest.raises(
        xmlguard.XMLRefused, match=r"in the declared encoding iso-2022-jp\); XML with"
    ):
        xmlguard.check_xml(data, allow_doctype=True)


def test_without_allow_doctype_any_dtd_is_refused():
    data = b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "rss.dtd"><rss/>'
    with pytest.raises(xmlguard.XMLRefused, match=r"^refused: the file has a DTD \(<!DOCTYPE>"):
        xmlguard.check_xml(data)


def test_a_feed_may_have_a_dtd_without_an_internal_subset_and_is_read():
    xmlguard.check_xml(NETSCAPE_RSS.encode("latin-1"), allow_doctype=True)
    entries, problems = feed.parse(NETSCAPE_RSS.encode("latin-1"))
    assert problems == []
    assert [e.title for e in entries] == ["Shelling near Hama"]
    subset = NETSCAPE_RSS.replace('rss-0.91.dtd">', 'rss-0.91.dtd" [<!ATTLIST rss a CDATA "b">]>')
    with pytest.raises(xmlguard.XMLRefused, match="has a DTD with an internal subset"):
        xmlguard.check_xml(subset.encode("latin-1"), allow_doctype=True)


def test_a_feed_whose_cdata_quotes_an_html_doctype_is_read():
    data = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title><item>'
        b"<title>Clashes near Manbij</title><link>https://wire.example.org/m</link>"
        b"<description><![CDATA[<!DOCTYPE html><p>Clashes near Manbij.</p>]]></description>"
        b"</item></channel></rss>"
    )
    entries, problems = feed.parse(data)
    assert problems == []
    assert entries[0].text == "Clashes near Manbij."


@pytest.mark.parametrize(("codec", "declared", "view"), ENCODINGS, ids=[e[0] for e in ENCODINGS])
def test_a_feed_that_declares_an_entity_is_refused_in_any_encoding(codec, declared, view):
    rss = (
        f'<?xml version="1.0" encoding="{declared}"?><!DOCTYPE rss [<!ENTITY who "Injected">]>'
        '<rss version="2.0"><channel><title>&who;</title><item><title>&who;</title>'
        "<link>https://wire.example.org/a</link></item></channel></rss>"
    )
    data = rss.encode(codec)
    if codec == "utf-7":
        data = data.replace(b"<!", b"+ADw-!")
    entries, problems = feed.parse(data)
    assert entries == []
    assert [(p.row, p.reason) for p in problems] == [
        ("feed", f"refused: the file declares XML entities (<!ENTITY> in {view}); {xmlguard.WHY}")
    ]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32", "cp037", "utf-7"])
def test_a_feed_in_another_encoding_is_read_as_the_text_that_was_checked(codec):
    rss = (
        f'<?xml version="1.0" encoding="{codec}"?><rss version="2.0"><channel><title>Wire</title>'
        "<item><title>Frappe à Manbij</title><link>https://wire.example.org/a</link></item>"
        "</channel></rss>"
    )
    utf8, note = xmlguard.read_xml(rss.encode(codec), allow_doctype=True)
    assert note is None
    assert utf8.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    entries, problems = feed.parse(rss.encode(codec))
    assert problems == []
    assert entries[0].title == "Frappe à Manbij"


def test_a_feed_that_is_not_what_it_declares_is_read_with_a_note():
    rss = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Café</title>'
    data = (rss + "<item><title>Frappe à Idleb</title></item></channel></rss>").encode("cp1252")
    entries, problems = feed.parse(data)
    assert entries[0].title == "Frappe à Idleb"
    where = data.index("é".encode("cp1252"))
    assert [(p.reason, p.repaired) for p in problems] == [
        (f"encoding: not valid utf-8 (byte {where}); read as Windows-1252 (cp1252)", True)
    ]


def test_an_unknown_declared_encoding_is_read_as_utf8_with_a_note():
    text, note = xmlguard.decode_xml(b'<?xml version="1.0" encoding="x-nowhere"?><kml/>')
    assert text.endswith("<kml/>")
    assert note == "declares the unknown encoding 'x-nowhere'; read as UTF-8"


# --- on the import run ------------------------------------------------------------------------


def test_a_refused_feed_says_why_on_its_import_run_and_stores_nothing(db):
    from conflictmap.ingest import pipeline
    from conflictmap.ingest.models import Report

    rss = (
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE rss [<!ENTITY who "Injected">]>'
        '<rss version="2.0"><channel><item><title>&who;</title></item></channel></rss>'
    )
    run = pipeline.create_run("feed", rss.encode("utf-16"), filename="wire.xml")
    run = pipeline.process_run(run.pk, inline=True)
    assert (run.state, run.created, run.rejected) == ("done", 0, 1)
    assert run.rejections.get().reason.startswith(
        "refused: the file declares XML entities (<!ENTITY> in UTF-16-LE)"
    )
    assert Report.objects.count() == 0
