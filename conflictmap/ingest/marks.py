"""A candidate's report as the review page shows it: the whole text, the candidate's sentence in
it, and in that sentence what extraction matched (event wording, actors, places, date,
fatalities), each a piece of plain text with its kind.

Pieces are text, never HTML: the template writes each one escaped, in a <mark> when it has a kind
(admin/ingest/candidate/review.html); a report's text reaches the page as text whatever it holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .models import Candidate

#: The kinds of span extraction records, in the order the page's key lists them.
KINDS = {
    "type": "event wording",
    "actor": "actor",
    "place": "place",
    "date": "date",
    "number": "fatalities",
}


@dataclass(frozen=True)
class Piece:
    text: str
    kind: str = ""  # one of KINDS, or "" for the text between matches
    label: str = ""  # what the match was read as, for the mark's title


@dataclass
class MarkedReport:
    before: str  # the report's text before the candidate's sentence
    sentence: list[Piece] = field(default_factory=list)
    after: str = ""
    located: bool = True  # False: the sentence was not found in the report (shown alone)

    @property
    def kinds(self) -> list[tuple[str, str]]:
        """The kinds marked in the sentence, for the page's key."""
        present = {p.kind for p in self.sentence if p.kind}
        return [(kind, label) for kind, label in KINDS.items() if kind in present]


def _spans(c: Candidate) -> list[tuple[int, int, str, str]]:
    """(start, end, kind, label) of every match recorded on the candidate, offsets in its
    sentence."""
    found = []
    for p in c.places:
        chosen = c.place_id is not None and p.get("place_id") == c.place_id
        precision = f", {p['precision']}" if p.get("precision") else ""
        label = f"{'place of the event' if chosen else 'place named'}: {p.get('name', '')}"
        found.append((p.get("start"), p.get("end"), "place", label + precision))
    for a in c.actors:  # actors referred to ("the regime") carry no span
        role = (a.get("role") or "actor").replace("_", " ")
        found.append((a.get("start"), a.get("end"), "actor", f"{role}: {a.get('slug', '')}"))
    for s in c.spans:
        kind = s.get("kind")
        if kind == "type":
            label = f"event wording: {c.event_type} / {c.sub_event_type}"
        elif kind == "date":
            label = f"date: {c.date.isoformat() if c.date else 'unknown'}"
        elif kind == "number":
            qualifier = f"{c.fatalities_qualifier} " if c.fatalities_qualifier else ""
            label = f"fatalities: {qualifier}{c.fatalities}"
        else:
            continue
        found.append((s.get("start"), s.get("end"), kind, label))
    return found


def sentence_pieces(c: Candidate) -> list[Piece]:
    """The sentence cut into plain text and matches. A span that is not a valid range of the
    sentence (older or hand-edited data) is left out; of two overlapping spans, the one that
    starts first (the longer at the same start) is marked."""
    text = c.sentence
    valid = [
        (start, end, kind, label)
        for start, end, kind, label in _spans(c)
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)
    ]
    valid.sort(key=lambda s: (s[0], -s[1]))
    pieces: list[Piece] = []
    at = 0
    for start, end, kind, label in valid:
        if start < at:
            continue
        if start > at:
            pieces.append(Piece(text[at:start]))
        pieces.append(Piece(text[start:end], kind, label))
        at = end
    if at < len(text):
        pieces.append(Piece(text[at:]))
    return pieces


def marked_report(c: Candidate) -> MarkedReport:
    """The candidate's report with its sentence located (by the offset extraction kept, else by
    searching the text) and marked."""
    text, sentence = c.report.text, c.sentence
    start = c.sentence_start
    if start is None or text[start : start + len(sentence)] != sentence:
        start = text.find(sentence) if sentence else -1
    pieces = sentence_pieces(c)
    if start < 0:
        return MarkedReport("", pieces, "", located=False)
    return MarkedReport(text[:start], pieces, text[start + len(sentence) :])
