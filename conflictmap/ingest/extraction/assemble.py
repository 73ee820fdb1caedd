"""Assembly: one report's candidates, sentence by sentence, from the stages.

A sentence makes a candidate when it tells an event (a trigger not blocked by modal, negated,
habitual or historical wording) at a place, dated by the text (or by the event it follows).
The actor who acted, the precision of the place and the fatalities are read around the trigger;
a sentence that names two places taken or struck gives one candidate per place; the same event
told twice in a report (a headline, then its lead) is kept once.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field

from . import actors as actors_stage
from . import dates as dates_stage
from . import numbers as numbers_stage
from . import places as places_stage
from . import triggers as tr
from .gazetteer import Entry, Gazetteer, find_matches, get_gazetteer
from .text import Words, fold, sentences

log = logging.getLogger(__name__)
ARABIC = re.compile("[\u0600-\u06ff]")
# Clause boundaries: strong ones bound the words that type a trigger, weak ones the words that
# name its actor ("... on Monday after government forces retook the town").
STRONG = re.compile(
    r";|:\s|\s[—–]\s|,\s+(?:and|but|while|whereas)\s|؛|،\s*(?:و|ف)(?=\S)|\sفيما\s|\sبينما\s"
)
WEAK = re.compile(
    r",\s+(?:which|who|where)\s|\s(?:after|before|as|when|because|until|while|since)\s", re.I
)
TRANSFER_WORDS = re.compile(
    r"\bunopposed\b|\bwithout (?:a fight|resistance|fighting|a shot)|\bunder (?:a|an|the)(?: same)?"
    r"(?: [\w-]+)? (?:deal|agreement|pause|truce|accord)\b|\bhand(?:ed|ing)? (?:it |them )?over\b|"
    r"\bagreed to (?:withdraw|hand|leave)|\bevacuation deal\b|\bmoved into\b|\bflag\b.*\bafter\b.*"
    r"\b(?:deal|left|evacuat)|دون مقاومه|بموجب اتفاق|تسليم",
    re.I,
)
NEXT_DEAL = re.compile(r"\b(?:deal|agreement)\b|اتفاق", re.I)
TAKE_FORMS = {"take", "took", "taken", "takes"}
AREA_AFTER = re.compile(r"^\W*(?:\w+\W+){0,5}?(?:" + "|".join(tr.PLACE_NOUNS) + r")\b", re.I)
# Words after which a clause speaks of another happening ("in retaliation for the chemical
# attack"): a weapon named there does not type the trigger.
CUE_LIMIT = re.compile(
    r"\s(?:in retaliation for|in response to|after|before|because|since|until)\s", re.I
)
# Words after which an Arabic actor is no longer the one acting ("بعد", "ضد").
AR_AFTER_ACTOR = re.compile(r"\s(?:بعد|قبل|مع|ضد)\s")
# What every match of a clause-bounding pattern holds, for those that can say: a sentence without
# any has no such bound, and is not searched.
STRONG_MARKS = Words(";", ":", "—", "–", "؛", "،", "فيما", "بينما", ignore_case=False)
COMMA_JOINS = Words("and", "but", "while", "whereas", ignore_case=False)
CUE_LIMIT_WORDS = Words(
    "in retaliation for", "in response to", "after", "before", "because", "since", "until"
)
BOUND_NEEDS: dict[re.Pattern, Callable[[str], bool]] = {
    STRONG: lambda t: STRONG_MARKS.may_be_in(t) or ("," in t and COMMA_JOINS.may_be_in(t)),
    CUE_LIMIT: CUE_LIMIT_WORDS.may_be_in,
}
DEFINITE_ATTACK = re.compile(r"\bthe (?:strikes|attacks?|raids?|bombing|shelling|assault)\b", re.I)
# Whether a sentence may name a day at all: most do not, and then find_dates is not run.
DATE_HINT = re.compile(
    r"\d|days?\b|night|yesterday|today|overnight|morning|ago\b|أمس|امس|اليوم|الأحد|الاحد|الإثنين|الاثنين|"
    r"الثلاثاء|الأربعاء|الاربعاء|الخميس|الجمعة|السبت",
    re.I,
)

# What every match of DATE_HINT other than a digit holds: a sentence with no digit and none of
# these cannot match it.
DATE_HINT_NEEDS = Words(
    "day", "night", "morning", "ago", "أمس", "امس", "اليوم", "الأحد", "الاحد", "الإثنين",
    "الاثنين", "الثلاثاء", "الأربعاء", "الاربعاء", "الخميس", "الجمعة", "السبت",
)  # fmt: skip

# Stems of every trigger (triggers.PHRASES, AR_PATTERNS): a sentence without one is not read.
# Looked for in the lower-cased sentence (the folded one for Arabic).
EN_STEMS = Words(
    "captur", "seiz", "overr", "retook", "retak", "regain", "liberat", "storm", "took", "taken",
    "enter", "restor", "rais", "flag", "swept", "moved", "fell", "fought", "fight", "clash",
    "attack", "ambush", "struck", "hit", "pound", "bomb", "target", "destroy", "raid", "carried",
    "conduct", "launch", "stag", "shell", "fire", "kill", "execut", "massacr", "explod",
    "detonat", "blew", "set off", "protest", "rall", "demonstrat", "march", "open", "abduct",
    "kidnap", "loot", "plunder", "ransack", "agree", "sign", "reach", "conclud", "shot", "down",
    "intercept", "arrest", "detain", "gather", "report", "broke", "flare", "erupt", "rage",
    "continu",
)  # fmt: skip
AR_STEMS = Words(
    "سيطر", "دخل", "استعاد", "انتزع", "اعاده", "قصف", "شن", "دمر", "استهدف", "قتل", "اودي", "لقي",
    "هاجم", "اشتبك", "انفجر", "فجر", "تظاهر", "احتج", "اختطف", "خطف", "وقع", "توصل", "اتفق",
    "اشتباكات", "معارك", "غار",
)  # fmt: skip
STAGES = ("gazetteer", "sentences", "dates", "triggers", "actors", "places", "numbers")


@dataclass
class CandidateData:
    sentence_index: int
    sentence: str
    start: int
    end: int
    places: list[dict] = field(default_factory=list)
    actors: list[dict] = field(default_factory=list)
    spans: list[dict] = field(default_factory=list)
    date: dt.date | None = None
    event_type: str = ""
    sub_event_type: str = ""
    fatalities: int | None = None
    confidence: float = 0.0
    place_id: int | None = None
    lon: float | None = None
    lat: float | None = None
    part: int = 0  # a sentence naming two places gives candidates 0 and 1
    location_precision: str = ""  # exact, near or region (ACLED's)
    # "text", "context" (the event it follows), "report" (the report's own day), "" (unknown)
    date_source: str = ""
    fatalities_qualifier: str = ""  # exact, at least or about
    suggested_place: str = ""  # a named site the gazetteer lacks, for editors


_UNTIMED = nullcontext()


class Timer:
    """Seconds spent per stage, added up over calls (when a dict is given)."""

    def __init__(self, into: dict[str, float] | None):
        self.into = into

    def stage(self, name: str) -> AbstractContextManager[None]:
        # Untimed (the pipeline's case): one shared no-op, not a generator per stage entered.
        return _UNTIMED if self.into is None else self._timed(name)

    @contextmanager
    def _timed(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.into[name] = self.into.get(name, 0.0) + time.perf_counter() - t0


@dataclass
class Sentence:
    index: int
    start: int
    end: int
    text: str
    arabic: bool
    places: list[places_stage.PlaceMention]
    named: list[actors_stage.Mention]
    base: dt.date | None = None
    timer: Timer | None = None
    _dates: list[dates_stage.DateMention] | None = None
    _lower: str | None = None
    _fold: tuple[str, list[int] | None] | None = None
    _marks: dict[re.Pattern, list[tuple[int, int]]] = field(default_factory=dict)
    _generic: list[actors_stage.Mention] | None = None

    @property
    def generic(self) -> list[actors_stage.Mention]:
        """The state and non-state words of the sentence (actors.generic_mentions), read once."""
        if self._generic is None:
            self._generic = actors_stage.generic_mentions(self.text, self.named)
        return self._generic

    def marks(self, pattern: re.Pattern) -> list[tuple[int, int]]:
        """The spans of pattern's matches in the text, found once (clause bounds are asked for
        several times per sentence)."""
        found = self._marks.get(pattern)
        if found is None:
            needs = BOUND_NEEDS.get(pattern)
            if needs is not None and not needs(self.text):
                found = []
            else:
                found = [m.span() for m in pattern.finditer(self.text)]
            self._marks[pattern] = found
        return found

    @property
    def folded(self) -> tuple[str, list[int] | None]:
        """fold(text), once: the folded text and its offsets back (None when the same)."""
        if self._fold is None:
            self._fold = fold(self.text)
        return self._fold

    @property
    def dates(self) -> list[dates_stage.DateMention]:
        """Day-level dates of the sentence, read when first needed (most sentences never are)."""
        if self._dates is None:
            with self.timer.stage("dates"):
                text = self.text
                hint = dates_stage.DIGIT.search(text) or (
                    DATE_HINT_NEEDS.may_be_in(text) and DATE_HINT.search(text)
                )
                self._dates = dates_stage.find_dates(self.text, self.base) if hint else []
        return self._dates


def _mentions(text: str, s: int, e: int, matches: list[tuple[int, int, Entry]]):
    places, named = [], []
    for ms, me, entry in matches:
        if ms < s or ms >= e:
            continue
        if entry.kind == "place":
            places.append(places_stage.PlaceMention(
                int(entry.ref), entry.name, ms - s, me - s, text[ms:me], entry.lon, entry.lat,
                entry.exact,
            ))  # fmt: skip
        else:
            named.append(actors_stage.Mention(
                str(entry.ref), ms - s, me - s, text[ms:me], entry.faction_id, entry.name
            ))  # fmt: skip
    return places, named


def _bounds(pattern: re.Pattern, sent: Sentence, pos: int) -> tuple[int, int]:
    """The stretch of the sentence around pos between two matches of pattern."""
    lo, hi = 0, len(sent.text)
    for start, end in sent.marks(pattern):
        if end <= pos:
            lo = end
        elif start >= pos:
            hi = start
            break
    return lo, hi


def _triggers(sent: Sentence) -> list[tr.Trigger]:
    if not sent.arabic:
        return tr.english_triggers(sent.text)
    folded, index = sent.folded
    found = tr.arabic_triggers(folded)
    if index is None:
        return found
    return [
        tr.Trigger(t.verb_class, index[t.start], index[t.end],
                   sent.text[index[t.start] : index[t.end]], t.passive, t.nominal)
        for t in found
    ]  # fmt: skip


def _lowered(sent: Sentence) -> str:
    """Lower-cased text for the English rules, folded for the Arabic ones, same offsets
    (computed once per sentence)."""
    if sent._lower is None:
        sent._lower = _lower_text(sent)
    return sent._lower


def _plain(sent: Sentence, a: int = 0, b: int | None = None) -> str:
    """sent.text[a:b] lower-cased, or folded for Arabic with its marks dropped ("قُتل" is
    "قتل"): for the rules that need no offsets."""
    if not sent.arabic:
        return sent.text[a:b].lower()
    folded, index = sent.folded
    if index is None:
        return folded[a:b]
    end = len(sent.text) if b is None else b
    return folded[bisect.bisect_left(index, a) : bisect.bisect_left(index, end)]


def _lower_text(sent: Sentence) -> str:
    if not sent.arabic:
        return sent.text.lower()
    folded, index = sent.folded
    if index is None:
        return folded
    out = [" "] * len(sent.text)
    for f, o in enumerate(index[:-1]):
        out[o] = folded[f]
    return "".join(out)


def _event_trigger(sent: Sentence, lower: str) -> tuple[tr.Trigger, str, int, int] | None:
    """The first trigger of the sentence that tells an event, with its sub-type and clause."""

    def dated() -> bool:  # read only when a rule asks (most sentences read are not dated)
        return bool(sent.dates)

    for trig in _triggers(sent):
        if trig.nominal and not dated():
            continue  # "اشتباكات في منبج" tells an event when it gives its day
        lo, hi = _bounds(STRONG, sent, trig.start)
        if tr.blocked(lower if sent.arabic else sent.text, trig, sent.arabic, lo, dated):
            continue
        clo, chi = _bounds(CUE_LIMIT, sent, trig.start)
        sub = tr.sub_type(trig.verb_class, _plain(sent, max(lo, clo), min(hi, chi)), trig.passive)
        if sub is None:
            continue
        if trig.verb_class == tr.CAPTURE and not sent.arabic:
            after = sent.text[trig.end : hi]
            if not AREA_AFTER.match(after) and not any(
                trig.end <= p.start < trig.end + 60 for p in sent.places
            ):
                continue  # "seized weapons", "took them to", "took years": not taking a place
        return trig, sub, lo, hi
    return None


def _pick_date(sent: Sentence, trig: tr.Trigger, segment_lo: int) -> dates_stage.DateMention | None:
    if not sent.dates:
        return None
    inside = [d for d in sent.dates if d.start >= segment_lo]
    pool = inside or sent.dates
    return min(pool, key=lambda d: abs(d.start - trig.start))


def _fatal(sent: Sentence, lo: int, hi: int, following: list[Sentence]):
    """The fatalities of the event and, when the sentence itself states them, where: (start,
    end) in the sentence's own text (None when they come from a sentence after it)."""
    found = numbers_stage.fatalities(_plain(sent, lo, hi))
    if found:
        return found, _original_span(sent, lo, found)
    found = numbers_stage.fatalities(_plain(sent))
    if found:
        return found, _original_span(sent, 0, found)
    for nxt in following:
        low = _plain(nxt)
        f = numbers_stage.fatalities(low)
        if f and (f.value == 0 or not numbers_stage.TOTAL.search(low)):
            return f, None
    return None, None


def _original_span(sent: Sentence, at: int, found: numbers_stage.Fatalities) -> tuple[int, int]:
    """The span of `found`, read in _plain(sent, at, ...), in the sentence's own text: the same
    offsets for English; folded Arabic (marks dropped) maps back through the fold's index."""
    if not sent.arabic:
        return at + found.start, at + found.end
    folded, index = sent.folded
    if index is None:
        return at + found.start, at + found.end
    first = bisect.bisect_left(index, at)  # where _plain's slice starts in the folded text
    return index[first + found.start], index[first + found.end]


def extract(
    text: str,
    published: dt.date | None = None,
    gaz: Gazetteer | None = None,
    *,
    timings: dict[str, float] | None = None,
) -> list[CandidateData]:
    """Candidate events of one report. `published` is the report's date (feed entry or
    --published), or None: a dateline may then give it, else relative dates stay unknown.
    With `timings`, the seconds spent in each stage are added to it."""
    timer = Timer(timings)
    gaz = gaz or get_gazetteer()
    with timer.stage("gazetteer"):
        matches = find_matches(text, gaz)
    with timer.stage("dates"):
        base = dates_stage.report_day(text, published)
    with timer.stage("sentences"):
        sents: list[Sentence] = []
        starts = [m[0] for m in matches]
        for i, (s, e) in enumerate(sentences(text)):
            body = text[s:e]
            here = matches[bisect.bisect_left(starts, s) : bisect.bisect_left(starts, e)]
            places, named = _mentions(text, s, e, here)
            arabic = bool(ARABIC.search(body))
            sents.append(Sentence(i, s, e, body, arabic, places, named, base, timer))
    forward = [  # what coreference looks ahead for: the named non-state actors
        actors_stage.Mention(m.slug, m.start + s.start, m.end + s.start, m.text)
        for s in sents
        for m in s.named
        if m.slug in actors_stage.NON_STATE
    ]
    coref = actors_stage.Coreference(forward)
    dateline = dates_stage.DATELINE.match(text)
    out: list[CandidateData] = []
    for i, sent in enumerate(sents):
        with timer.stage("triggers"):
            # Cheap first: an event word, and a place here or an event just before ("the town").
            near_event = bool(out) and out[-1].sentence_index >= i - 2
            if not (sent.places or near_event):
                coref.note(sent.named)
                continue
            if not (AR_STEMS if sent.arabic else EN_STEMS).found_in(_plain(sent)):
                coref.note(sent.named)
                continue
            lower = _lowered(sent)
            found = _event_trigger(sent, lower)
        if found is None:
            log.debug("sentence %s: no event trigger", i)
            coref.note(sent.named)
            continue
        trig, sub, lo, hi = found
        with timer.stage("actors"):
            generic = sent.generic
            mentions = sorted(sent.named + generic, key=lambda m: m.start)
            wlo, _ = _bounds(WEAK, sent, trig.start)
            seg_lo = max(lo, wlo)
            rep = None
            for r in actors_stage.REPORTING.finditer(sent.text, seg_lo, trig.start):
                rep = r
        with timer.stage("dates"):
            mention = _pick_date(sent, trig, rep.end() if rep else seg_lo)
            date, source = (mention.day, "text") if mention else (None, "")
            if mention is None:
                if dates_stage.has_coarse_time(sent.text) or _history_before(sents, i, out):
                    log.debug("sentence %s: placed by year or month, history", i)
                    coref.note(sent.named)
                    continue  # history placed by year or month, not an event of the report
                date, source = _context_date(out, sents, i)
            if base and date and date > base:
                date, source = None, ""
        with timer.stage("places"):
            plist = sent.places
            if dateline and i == 0:
                rest = [p for p in plist if p.start >= dateline.end()]
                plist = rest or plist
            wlo, whi = _bounds(WEAK, sent, trig.start)
            chosen = places_stage.choose(lower, plist, trig.start, max(lo, wlo), min(hi, whi))
            fallback = None
            if not chosen:
                # "the town", "the villages": the place of the event just told
                fallback = next((c for c in reversed(out) if c.sentence_index >= i - 2), None)
            if not chosen and fallback is None:
                chosen = places_stage.choose(lower, plist, trig.start, lo, hi, anywhere=True)
            if not chosen and fallback is None:
                log.debug("sentence %s: no place", i)
                coref.note(sent.named)
                continue  # an event nowhere we can place
            suggested = places_stage.suggestion(sent.text, sent.places, lo, hi)
        if date is None and base is not None:
            # Nothing in the text dates it, and nothing marks it as history: news tells what
            # happened by its day of publication (said by date_source, with less confidence).
            date, source = base, "report"
        # With no report date either, the date stays unknown (date_source ""), never the day
        # of the import.
        with timer.stage("actors"):
            actor1, actor1_kind = _actor1(sent, sents, i, trig, sub, mentions, lo, hi, seg_lo,
                                          rep, coref, date, out)  # fmt: skip
            if trig.verb_class == tr.CAPTURE:
                sub = _territory_sub_type(sent, sents, i, actor1, actor1_kind)
            roles = _roles(sent, mentions, actor1, trig, coref, date)
        with timer.stage("numbers"):
            fatal, fatal_span = _fatal(sent, lo, hi, sents[i + 1 : i + 3])
        coref.note(sent.named)
        targets = chosen or [None]
        for part, place in enumerate(targets):
            cand = CandidateData(i, sent.text, sent.start, sent.end, part=part)
            cand.event_type, cand.sub_event_type = tr.TYPE_OF[sub], sub
            cand.date, cand.date_source = date, source
            cand.actors = roles
            cand.places = [_place_dict(lower, p) for p in sent.places]
            if place is not None:
                cand.place_id, cand.lon, cand.lat = place.place_id, place.lon, place.lat
                cand.location_precision = places_stage.precision(lower, place)
                moved = places_stage.shifted(lower, place)
                if moved:
                    cand.lon, cand.lat = moved
                    cand.location_precision = places_stage.NEAR
            else:
                cand.place_id, cand.lon, cand.lat = fallback.place_id, fallback.lon, fallback.lat
                cand.location_precision = fallback.location_precision or places_stage.NEAR
            if suggested and cand.location_precision == places_stage.EXACT:
                cand.location_precision = places_stage.NEAR
            cand.suggested_place = suggested
            cand.spans.append(
                {"kind": "type", "start": trig.start, "end": trig.end, "text": trig.text}
            )
            if mention:
                cand.spans.append({"kind": "date", "start": mention.start, "end": mention.end,
                                   "text": mention.text})  # fmt: skip
            if fatal:
                cand.fatalities, cand.fatalities_qualifier = fatal.value, fatal.qualifier
            if fatal_span:
                start, end = fatal_span
                cand.spans.append({"kind": "number", "start": start, "end": end,
                                   "text": sent.text[start:end]})  # fmt: skip
            cand.confidence = _confidence(cand, actor1)
            if not _merge_duplicate(out, cand):
                out.append(cand)
    return out


def _history_before(sents: list[Sentence], i: int, out: list[CandidateData]) -> bool:
    """Whether the sentences just before, with no event between, speak of a year or a month
    ("By 2013 the government had lost much of the north. Rebels held the east of Aleppo...")."""
    for j in range(i - 1, max(i - 3, -1), -1):
        if any(c.sentence_index == j for c in out) or sents[j].dates:
            return False
        if dates_stage.has_year_or_month(sents[j].text):
            return True
    return False


def _context_date(out: list[CandidateData], sents: list[Sentence], i: int):
    """A sentence without a date takes the date of the event it follows ("in response", "hours
    later"), else the last day named in the few sentences before it."""
    last = next((c for c in reversed(out) if c.sentence_index >= i - 3 and c.date), None)
    if last:
        return last.date, "context"
    for j in range(i - 1, max(i - 4, -1), -1):
        if sents[j].dates:
            return sents[j].dates[-1].day, "context"
    return None, ""


def _actor1(sent, sents, i, trig, sub, mentions, lo, hi, seg_lo, rep, coref, date, out):
    """The actor who acted, and whether it was named or referred to as the state."""
    if sub in ("Peaceful protest", "Excessive force against protesters"):
        return None, ""  # protesters have no faction; the force firing on them is actor2
    text, arabic = sent.text, sent.arabic
    _, whi = _bounds(WEAK, sent, trig.end)
    chosen = None
    if sub == "Agreement":
        pool = actors_stage.ordered(text, mentions, 0, len(text), arabic)
        chosen = pool[0] if pool else None  # the first party named; mediators come later
    elif arabic:
        explosive = tr.TYPE_OF[sub] in (tr.EXPLOSIONS, tr.VAC)
        if explosive:
            # Verb first: "شنت طائرات حربية إسرائيلية", "بغارة جوية لقوات النظام"; the actors
            # named elsewhere in the sentence are targets or victims.
            pool = [m for m in mentions if m.start > trig.start and _by_weapon(sent, m)]
            chosen = pool[0] if pool else None
        else:
            _, ahi = _bounds(AR_AFTER_ACTOR, sent, trig.end)
            after = actors_stage.ordered(text, mentions, trig.start, ahi, arabic)
            before = actors_stage.ordered(text, mentions, 0, trig.start, arabic)
            chosen = (after or before or [None])[0]
    else:
        start = rep.end() if rep else seg_lo
        pool = actors_stage.ordered(text, mentions, start, trig.start, arabic)
        if trig.passive or not pool:
            agent = actors_stage.after_agent(text, mentions, trig.end, whi)
            pool = [agent] if agent else pool
        if not pool and rep:
            pool = actors_stage.ordered(text, mentions, seg_lo, rep.start(), arabic)
        if not pool and sub == tr.CLASH:
            between = re.search(r"\bbetween\b", text[trig.start : hi])
            if between:
                pool = actors_stage.ordered(text, mentions, trig.start + between.end(), hi, arabic)
        chosen = pool[0] if pool else None
    if chosen is not None:
        slug = coref.resolve(chosen, date, sent.start + chosen.start, sent.named)
        if slug:
            return slug, "state" if chosen.generic == "state" else "named"
    if tr.TYPE_OF[sub] in (tr.EXPLOSIONS, tr.VAC):
        # Unattributed: unclaimed is an unidentified group; else whom the report blames
        around = sents[max(0, i - 3) : i + 4]
        if any(actors_stage.NO_CLAIM.search(_plain(s)) for s in around):
            return "unidentified-armed-group", "named"
        for j, nxt in enumerate(sents[i + 1 : i + 3]):
            gen = nxt.generic
            pool = sorted(nxt.named + gen, key=lambda m: m.start)
            low = _lowered(nxt)
            hit = actors_stage.blamed(low, pool, nxt.arabic)
            if hit is None and j == 0:
                hit = actors_stage.after_agent(low, pool, 0, len(low))
            if hit:
                slug = coref.resolve(hit, date, nxt.start + hit.start, nxt.named)
                if slug:
                    return slug, "state" if hit.generic == "state" else "named"
    if DEFINITE_ATTACK.search(text[: trig.end]):
        # "the strikes hit positions around Mayadin": those just told of
        last = next((c for c in reversed(out) if c.sentence_index >= i - 2), None)
        main = next((a for a in last.actors if a.get("role") == "actor1"), None) if last else None
        if main:
            return main["slug"], "named"
        if i > 0:
            prev = actors_stage.ordered(sents[i - 1].text, sents[i - 1].named, 0,
                                        len(sents[i - 1].text), arabic)  # fmt: skip
            if prev:
                return prev[0].slug, "named"
    return None, ""


def _by_weapon(sent: Sentence, m: actors_stage.Mention) -> bool:
    """An actor right after the aircraft, forces or strike it qualifies (Arabic word order)."""
    window = _lowered(sent)[max(0, m.start - 30) : m.start]
    return re.search(r"طائر|طيران|مسير|قوات|غار(?:ه|ات)|قصف|تابع|شنتها|نفذها", window) is not None


def _territory_sub_type(sent, sents, i, actor1, kind) -> str:
    low = _plain(sent)
    nxt = _plain(sents[i + 1]) if i + 1 < len(sents) else ""
    if TRANSFER_WORDS.search(sent.text if not sent.arabic else low):
        return tr.TRANSFER
    state = kind == "state" or actor1 in actors_stage.STATE_SLUGS
    if state and NEXT_DEAL.search(nxt) and re.search(r"\bdeployment|\bfollows\b", nxt):
        return tr.TRANSFER
    return tr.REGAIN if state else tr.OVERTAKE


def _roles(sent, mentions, actor1, trig, coref, date) -> list[dict]:
    """Every faction of the sentence once, with an ACLED role: actor1, the others on its side
    before the trigger as associates, those after it as actor2."""
    out, seen = [], set()
    if actor1:
        out.append({"slug": actor1, "role": "actor1"})
        seen.add(actor1)
    for m in mentions:
        slug = coref.resolve(m, date, sent.start + m.start, sent.named)
        if not slug or slug in seen:
            continue
        seen.add(slug)
        role = "assoc_actor_1" if m.start < trig.start and actor1 else "actor2"
        out.append({"slug": slug, "role": role})
    named = {m.slug: m for m in mentions if not m.generic}
    for a in out:
        m = named.get(a["slug"])
        if m is not None:
            a.update({"faction_id": m.faction_id, "name": m.name, "matched": m.text,
                      "start": m.start, "end": m.end})  # fmt: skip
    return out


def _place_dict(lower: str, p: places_stage.PlaceMention) -> dict:
    return {
        "place_id": p.place_id, "name": p.name, "matched": p.text, "start": p.start,
        "end": p.end, "lon": p.lon, "lat": p.lat, "exact": p.exact,
        "precision": places_stage.precision(lower, p),
    }  # fmt: skip


def _confidence(cand: CandidateData, actor1: str | None) -> float:
    score = 0.3
    score += {"exact": 0.25, "near": 0.15, "region": 0.1}.get(cand.location_precision, 0.05)
    score += 0.15 if actor1 else 0.0
    score += {"text": 0.2, "context": 0.1, "report": 0.05}.get(cand.date_source, 0.0)
    return round(min(score, 0.95), 2)


def _merge_duplicate(out: list[CandidateData], cand: CandidateData) -> bool:
    """The same event told again in the report (same sub-type and day, same place): keep the
    first telling, completed with what the new one adds. Places a sentence names together
    are distinct events."""
    for old in out:
        if old.sub_event_type != cand.sub_event_type or old.date != cand.date:
            continue
        if old.sentence_index == cand.sentence_index:
            continue
        if old.lon is None or cand.lon is None:
            continue
        a = places_stage.PlaceMention(0, "", 0, 0, "", old.lon, old.lat, True)
        b = places_stage.PlaceMention(0, "", 0, 0, "", cand.lon, cand.lat, True)
        if places_stage.km_between(a, b) <= places_stage.SAME_PLACE_KM:
            if old.fatalities is None and cand.fatalities is not None:
                old.fatalities, old.fatalities_qualifier = (
                    cand.fatalities,
                    cand.fatalities_qualifier,
                )
            return True
    return False
