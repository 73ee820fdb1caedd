"""Actors and coreference stage: who acted (ACLED's actor1) and who else took part.

Named factions come from the gazetteer's automaton. Words that refer to them are resolved here:
"the regime", "the army", "government forces", "troops" mean the state's forces (the Assad-era
government before 8 December 2024, the interim authorities, coded `hts`, after it); "the rebels",
"the group", "insurgents", "the factions" mean the non-state actor the report named last (or,
when it names none before, the first it names after).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from .text import Words

ASSAD_FALL = dt.date(2024, 12, 8)
STATE_SLUGS = {"syrian-government", "russia", "iran", "hezbollah"}
NON_STATE = {"hts", "sna", "sdf", "isis", "southern-groups", "unidentified-armed-group"}

STATE_WORDS = re.compile(
    r"\b(?:the |syrian |pro-)?(?:regime(?: forces)?|government(?: forces| troops| warplanes|"
    r" aircraft| jets| artillery| soldiers| fighters| militias)?|(?:the |syrian )army|"
    r"army(?= (?:command|units|troops|said|had))|troops|soldiers|security forces|state forces)\b"
    r"|\bsyrian(?=(?: and \w+)? (?:warplanes|aircraft|jets|forces|troops|army|soldiers|"
    r"helicopters|military)\b)"
    r"|(?<![\w])(?:و|ل|ب)?(?:الجيش|القوات الحكوميه|قوات الحكومه|الطيران الحربي التابع)(?![\w])",
    re.I,
)
NON_STATE_WORDS = re.compile(
    r"\b(?:the )?(?:rebels?|rebel (?:fighters|forces|groups?|factions|commanders)|insurgents?|"
    r"militants?|jihadists?|gunmen|(?:its |their |the )?fighters|the group|the factions|"
    r"factions|opposition (?:fighters|factions|forces|groups))\b"
    r"|(?<![\w])(?:و|ل|ب)?(?:الفصائل|فصائل(?: المعارضه)?|مقاتل\w*|المسلحين|المسلحون)(?![\w])",
    re.I,
)
REPORTING = re.compile(
    r"\b(?:said|says|announced|declared|claimed|reported|acknowledged|told|confirmed|stated)\b"
    r"(?:\s+(?:on|early on|late on)\s+\w+)?(?:\s+that)?|"
    r"(?<![\w])(?:و)?(?:قال|قالت|اعلن|اعلنت|افاد|افادت|ذكر|ذكرت)(?![\w])"
)
SUPPORTER_AFTER = re.compile(r"^-?(?:backed|supported|brokered)\b", re.I)
SUPPORTER_BEFORE_AR = re.compile(r"(?:المدعوم|المدعومه|بدعم|بمساعده|مع|ضد|من)\s+$")
NO_CLAIM = re.compile(
    r"\bno (?:group|one|party|faction)(?: has| had)? (?:claimed|took responsibility)|"
    r"\bunclaimed\b|لم (?:تتبن|يتبن)|لم تعلن اي جهه"
)
BLAME = re.compile(
    r"\b(?:blamed|accused|attributed)\b|(?<![\w])(?:و)?(?:اتهم|اتهمت|حمل|حملت)(?![\w])"
)
AGENT = re.compile(r"\bby\s+(?:the\s+)?$|(?:لقوات|تابع[ةه]|التابع|شنتها|نفذها)\s*$", re.I)


@dataclass
class Mention:
    slug: str
    start: int  # sentence offsets
    end: int
    text: str
    faction_id: int | None = None
    name: str = ""
    generic: str = ""  # "state" or "non-state" for words resolved by coreference


# Names that keep meaning Assad's forces after his fall ("remnants of the regime").
ASSAD_ERA_WORDS = re.compile(r"assad|regime|النظام|\(2000-2024\)", re.I)


def state_slug(day: dt.date | None) -> str:
    """The state's forces: the Assad-era government until 8 Dec 2024, the interim authorities
    (coded hts, as the corpus does) from then on."""
    return "hts" if day is not None and day >= ASSAD_FALL else "syrian-government"


# Words every match of STATE_WORDS, and of NON_STATE_WORDS, holds: a sentence with none of them
# is not searched with those patterns (most sentences, and they are slow to try at every letter).
STATE_NEEDS = Words(
    "regime", "government", "army", "troops", "soldiers", "security forces", "state forces",
    "syrian", "الجيش", "القوات الحكوميه", "قوات الحكومه", "الطيران الحربي التابع",
)  # fmt: skip
NON_STATE_NEEDS = Words(
    "rebel", "insurgent", "militant", "jihadist", "gunmen", "fighters", "the group", "factions",
    "opposition", "الفصائل", "فصائل", "مقاتل", "المسلحين", "المسلحون",
)  # fmt: skip


# What every match of STATE_WORDS, and of NON_STATE_WORDS, begins with: the patterns are tried
# only there.
STATE_STARTS = Words(
    "the ", "syrian", "pro-", "regime", "government", "army", "troops", "soldiers",
    "security forces", "state forces", "و", "ل", "ب", "الجيش", "القوات الحكوميه", "قوات الحكومه",
    "الطيران الحربي التابع",
)  # fmt: skip
NON_STATE_STARTS = Words(
    "the ", "rebel", "insurgent", "militant", "jihadist", "gunmen", "its ", "their ", "fighters",
    "factions", "opposition", "و", "ل", "ب", "الفصائل", "فصائل", "مقاتل", "المسلحين", "المسلحون",
)  # fmt: skip


def generic_mentions(sentence: str, named: list[Mention]) -> list[Mention]:
    """State and non-state words of a sentence that no named faction covers or qualifies
    ("Turkish soldiers" are Turkey's, not the state's)."""
    out = []
    for kind, pattern, needs, starts in (
        ("state", STATE_WORDS, STATE_NEEDS, STATE_STARTS),
        ("non-state", NON_STATE_WORDS, NON_STATE_NEEDS, NON_STATE_STARTS),
    ):
        if not needs.may_be_in(sentence):
            continue
        for m in starts.finditer(pattern, sentence):
            s, e = m.start(), m.end()
            if any(n.start < e and s < n.end for n in named):
                continue
            if any(0 <= s - n.end <= 2 for n in named):
                continue  # an actor's adjective right before it: "Turkish soldiers", "SNA fighters"
            if sentence[e : e + 7].lower().startswith(("-held", " held", "-led")):
                continue  # "rebel-held", "government-held" describe places
            out.append(Mention("", s, e, m.group(0), generic=kind))
    return out


class Coreference:
    """What a report has named so far, to resolve the words that refer back."""

    def __init__(self, forward: list[Mention]):
        self.seen: list[Mention] = []
        # Named non-state actors in report order, for a reference that comes before the name.
        self.forward = [m for m in forward if m.slug in NON_STATE]

    def note(self, mentions: list[Mention]) -> None:
        self.seen.extend(m for m in mentions if m.slug and not m.generic)

    def resolve(
        self, m: Mention, day: dt.date | None, position: int, here: list[Mention] = ()
    ) -> str | None:
        """The faction a mention stands for; `here` are the sentence's named factions, the
        nearest before a reference being its likeliest antecedent."""
        if not m.generic:
            if m.slug == "syrian-government" and not ASSAD_ERA_WORDS.search(m.text):
                return state_slug(day)  # "government forces", "the Syrian army" of their day
            return m.slug
        if m.generic == "state":
            return state_slug(day)
        for earlier in sorted((h for h in here if h.end <= m.start), key=lambda h: -h.start):
            if earlier.slug in NON_STATE and _usable_slug(earlier):
                return earlier.slug
        for earlier in reversed(self.seen):
            if earlier.slug in NON_STATE:
                return earlier.slug
        later = next((f for f in self.forward if f.start >= position), None)
        return later.slug if later else None


def _usable_slug(m: Mention) -> bool:
    return not m.generic


def _usable(sentence: str, m: Mention, arabic: bool) -> bool:
    """Supporters are not the actor: "US-backed SDF", "المدعوم من تركيا"."""
    if not m.generic and SUPPORTER_AFTER.match(sentence[m.end :]):
        return False
    before = sentence[max(0, m.start - 12) : m.start]
    return not (arabic and SUPPORTER_BEFORE_AR.search(before))


def ordered(
    sentence: str, mentions: list[Mention], lo: int, hi: int, arabic: bool
) -> list[Mention]:
    """The usable mentions in [lo, hi): named and state ones first, references to a non-state
    actor after them ("Fighters led by HTS" is HTS)."""
    inside = [m for m in mentions if lo <= m.start < hi and _usable(sentence, m, arabic)]
    strong = [m for m in inside if m.generic != "non-state"]
    weak = [m for m in inside if m.generic == "non-state"]
    return strong + weak


def after_agent(sentence: str, mentions: list[Mention], lo: int, hi: int) -> Mention | None:
    """The actor after "by" (a passive: "killed in an air strike by Syrian government forces")."""
    for m in sorted(mentions, key=lambda m: m.start):
        if lo <= m.start < hi and AGENT.search(sentence[max(0, m.start - 16) : m.start]):
            return m
    return None


def blamed(sentence: str, mentions: list[Mention], arabic: bool) -> Mention | None:
    """The actor a sentence blames ("Residents blamed Syrian and Russian warplanes",
    "واتهمت إيران وسوريا إسرائيل"): the first one after the verb that is not its subject."""
    m = BLAME.search(sentence)
    if not m:
        return None
    after = sorted((x for x in mentions if x.start >= m.end()), key=lambda x: x.start)
    if arabic and after and after[0].start - m.end() <= 2:
        # Verb-subject-object: the actors right after the verb accuse, the next one is accused.
        subject_end = after[0].end
        rest = [x for x in after[1:] if x.start - subject_end > 1 or x.generic]
        rest = rest or after[1:]
        return rest[-1] if rest else None
    return after[0] if after else None
