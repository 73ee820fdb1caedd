"""Triggers and classification stage: the words that report an event happening (a verb in the past,
"captured", "struck", "قصفت"), whether the clause around them tells it as an event at all
(modal, future, negated, denied, habitual, relative or conditional wording does not), and the
ACLED event type and sub-type they stand for.

English triggers are found with spaCy's PhraseMatcher on lemmas (a blank pipeline, lemmas from
spacy-lookups-data's lookup table; the matcher holds every spelling of each phrase's lemmas, so
tokens need no lemmatising); Arabic ones with patterns over the folded sentence, since Arabic
verbs carry their prefixes and suffixes on the word.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

from . import nlp
from .text import Words

BATTLES, EXPLOSIONS, VAC = "Battles", "Explosions/Remote violence", "Violence against civilians"
PROTESTS, STRATEGIC = "Protests", "Strategic developments"
OVERTAKE = "Non-state actor overtakes territory"
REGAIN = "Government regains territory"
TRANSFER = "Non-violent transfer of territory"
CLASH, AIR, SHELLING = "Armed clash", "Air/drone strike", "Shelling/artillery/missile attack"
IED, SUICIDE, CHEMICAL = "Remote explosive/landmine/IED", "Suicide bomb", "Chemical weapon"

TYPE_OF = {
    OVERTAKE: BATTLES, REGAIN: BATTLES, TRANSFER: STRATEGIC, CLASH: BATTLES,
    AIR: EXPLOSIONS, SHELLING: EXPLOSIONS, IED: EXPLOSIONS, SUICIDE: EXPLOSIONS,
    CHEMICAL: EXPLOSIONS, "Disrupted weapons use": STRATEGIC, "Peaceful protest": PROTESTS,
    "Excessive force against protesters": PROTESTS, "Attack": VAC,
    "Abduction/forced disappearance": VAC, "Looting/property destruction": STRATEGIC,
    "Agreement": STRATEGIC, "Arrests": STRATEGIC,
}  # fmt: skip

# Verb classes: what a trigger verb says happened; the clause's weapon words refine some.
CAPTURE, FIGHT, STRIKE, KILL, EXPLODE, SHELL = (
    "capture",
    "fight",
    "strike",
    "kill",
    "explode",
    "shell",
)
PROTEST, REPRESS, ABDUCT, LOOT, AGREE, SHOOTDOWN, ARREST, LIGHT = (
    "protest",
    "repress",
    "abduct",
    "loot",
    "agree",
    "shootdown",
    "arrest",
    "light",
)

PLACE_NOUNS = (
    "control", "over", "town", "city", "village", "villages", "district", "districts", "base",
    "area", "neighbourhood", "neighbourhoods", "neighborhood", "crossing", "airport", "hill",
    "junction", "centre", "center", "enclave", "positions", "checkpoints", "most", "parts",
)  # fmt: skip


@dataclass(frozen=True)
class Trigger:
    verb_class: str
    start: int  # offsets in the sentence
    end: int
    text: str
    passive: bool = False
    nominal: bool = False  # a noun ("اشتباكات"): an event only in a sentence that gives its day


# --- English -------------------------------------------------------------------------------------

# Lemma phrases per verb class, for spaCy's PhraseMatcher (lemmas from the lookup table, so
# "took", "taken", "takes" are all "take": `matcher` adds each spelling). Those that need a word nearby are checked
# after matching (NEEDS_BEFORE; "raise" needs "flag").
PHRASES: dict[str, list[str]] = {
    CAPTURE: ["capture", "seize", "overrun", "recapture", "retake", "regain", "liberate", "storm",
              "take", "take control", "take full control", "take over", "take back control",
              "enter", "restore control", "restore full control", "raise", "sweep through",
              "sweep into", "move into", "move in", "fall to"],
    FIGHT: ["fight", "clash", "attack", "ambush", "break", "flare", "erupt", "rage", "continue",
            "report"],
    STRIKE: ["strike", "hit", "pound", "bomb", "bombard", "target", "destroy", "raid"],
    LIGHT: ["carry out", "conduct", "launch", "stage"],
    SHELL: ["shell", "fire"],
    KILL: ["kill", "execute", "massacre"],
    EXPLODE: ["explode", "detonate", "blow up", "set off"],
    PROTEST: ["protest", "rally", "demonstrate", "march", "gather"],
    REPRESS: ["open fire"],
    ABDUCT: ["abduct", "kidnap"],
    LOOT: ["loot", "plunder", "ransack"],
    AGREE: ["agree", "sign", "reach", "conclude"],
    SHOOTDOWN: ["shoot down", "down", "intercept"],
    ARREST: ["arrest", "detain"],
}  # fmt: skip
# Verbs that tell an event only after a noun that names it: "Clashes broke out", "Fighting ...
# flared", "clashes were reported", "protesters gathered".
FIGHT_NOUNS = {"clashes", "fighting", "battles"}
NEEDS_BEFORE = {
    "break": FIGHT_NOUNS, "flare": FIGHT_NOUNS, "erupt": FIGHT_NOUNS, "rage": FIGHT_NOUNS,
    "continue": FIGHT_NOUNS, "report": FIGHT_NOUNS, "gather": {"protesters", "demonstrators"},
}  # fmt: skip
BREAKS = {",", ";", ":", "."}

# Forms that are not a past event: base and present forms ("strike", "strikes", "clash"), and the
# nouns that share a lemma ("air strikes", "the attack").
IRREGULAR_PAST = {"hit", "set", "shot", "put", "cut", "fought", "took", "taken", "struck", "blew",
                  "overran", "swept", "fell", "seized", "shelled"}  # fmt: skip
LOOTING_SEEN = {",", "seen", "filmed", "began", "started", "went", "caught"}
PARTICIPLES_AS_EVENTS = {"killing", "looting", "capturing", "setting", "fighting"}


@functools.cache
def matcher():
    """spaCy's PhraseMatcher over every spelling of each phrase's lemmas ("took control", "taken
    control", ...): the matches of matching on LEMMA, without lemmatising every token."""
    from spacy.matcher import PhraseMatcher
    from spacy.tokens import Doc

    english = nlp.english()
    m = PhraseMatcher(english.vocab)
    for label, phrases in PHRASES.items():
        spellings = []
        for phrase in phrases:
            lemmas = [nlp.lemma(t.text) for t in english.make_doc(phrase)]
            for words in itertools.product(*(sorted(nlp.lemma_forms(lem)) for lem in lemmas)):
                spellings.append(Doc(english.vocab, words=list(words)))
        m.add(label, spellings)
    return m


def _past(token) -> bool:
    """A past form or participle: inflected, but neither the -s of a present or a plural noun
    ("strikes", "attacks") nor an -ing form (those allowed are checked where they are used)."""
    low = token.lower_
    if low in IRREGULAR_PAST or low in PARTICIPLES_AS_EVENTS:
        return True
    return low != nlp.lemma(token.text).lower() and not low.endswith(("s", "ing"))


def _noun_before(doc, i: int, nouns: set[str], window: int = 12) -> int | None:
    """Index of one of `nouns` within `window` tokens before i, with no clause break between."""
    for j in range(i - 1, max(i - window, 0) - 1, -1):
        low = doc[j].lower_
        if low in BREAKS:
            return None
        if low in nouns:
            return j
    return None


def _allowed_form(doc, start: int) -> bool:
    """-ing forms that tell an event where they stand: ", killing at least five", ", fighting
    their way in", "after capturing", "were seen looting"."""
    low = doc[start].lower_
    prev = doc[start - 1].lower_ if start else ""
    if low in ("killing", "setting"):
        return prev == ","
    if low == "fighting":
        return prev in (",", "and")
    if low == "capturing":
        return prev == "after"
    if low == "looting":
        return prev in LOOTING_SEEN
    return True


def english_triggers(sentence: str) -> list[Trigger]:
    """Past-tense event verbs of an English sentence, longest phrase first at each token."""
    doc = nlp.english().make_doc(sentence)
    found: dict[int, Trigger] = {}
    for match_id, start, end in sorted(matcher()(doc), key=lambda m: (m[1], -(m[2] - m[1]))):
        if start in found:
            continue
        head = doc[start]
        lemma = nlp.lemma(head.text).lower()
        first = start
        if lemma in NEEDS_BEFORE:
            j = _noun_before(doc, start, NEEDS_BEFORE[lemma])
            if j is None:
                continue
            first = j  # the trigger reads from the noun: "Clashes broke out"
        elif lemma == "raise":
            j = _noun_before(doc, start, {"flag"}, 4)
            if j is None and "flag" not in {t.lower_ for t in doc[start + 1 : start + 6]}:
                continue
            first = start if j is None else j
        elif lemma == "down" and start and nlp.lemma(doc[start - 1].text) == "shoot":
            continue  # "shot down" is matched from "shot"
        if not _past(head) or not _allowed_form(doc, start):
            continue
        prev = doc[start - 1].lower_ if start else ""
        prev2 = doc[start - 2].lower_ if start > 1 else ""
        passive = prev in ("was", "were", "been", "be") or (
            prev in ("reportedly", "also", "later", "reported") and prev2 in ("was", "were", "been")
        )
        span = doc[first:end]
        label = doc.vocab.strings[match_id]
        found[start] = Trigger(label, span.start_char, span.end_char, span.text, passive)
    return [found[k] for k in sorted(found)]


# --- Arabic --------------------------------------------------------------------------------------

# Over the folded sentence (أ إ آ -> ا, ة -> ه, ى -> ي, no diacritics). A word may carry و ف ب ل
# before it. Past verbs only: the present ("تسيطر", "يقصف") tells what usually happens.
_P = r"(?<![\w])(?:و|ف)?"
AR_PATTERNS: list[tuple[str, re.Pattern]] = [
    (CAPTURE, re.compile(_P + r"(?:سيطر(?:ت|وا)?(?![\w])|(?:اعلن\w*|تعلن) [^.،]{0,60}?سيطرت\w*|"
                         r"سيطرت(?:ه|ها|هم) (?:الكامله )?علي|بعد سيطرت\w* علي|"
                         # "أعلنت الهيئة السيطرة الكاملة على مدينة حمص": the announced noun
                         r"(?:اعلن\w*|تعلن) [^.،]{0,60}?السيطره (?:الكامله |التامه )?علي)")),
    (CAPTURE, re.compile(_P + r"(?:دخل(?:ت|وا)?|استعاد(?:ت|وا)?|انتزع(?:ت|وا)?)(?![\w])")),
    (CAPTURE, re.compile(_P + r"اعاده (?:الامن|السيطره)")),
    (SHELL, re.compile(_P + r"قصف(?:ت|وا)?(?![\w])")),
    (STRIKE, re.compile(_P + r"(?:شن(?:ت|وا)?|دمر(?:ت)?|استهدف(?:ت|وا)?)(?![\w])")),
    (KILL, re.compile(_P + r"(?:قتل|اودي|لقي)(?![\w])")),
    (FIGHT, re.compile(_P + r"(?:هاجم(?:ت|وا)?|اشتبك(?:ت|وا)?)(?![\w])")),
    (EXPLODE, re.compile(_P + r"(?:انفجر(?:ت)?|فجر(?:ت|وا)?)(?![\w])")),
    (PROTEST, re.compile(_P + r"(?:تظاهر(?:ت|وا)?|احتج(?:ت|وا)?)(?![\w])")),
    (ABDUCT, re.compile(_P + r"(?:اختطف(?:ت|وا)?|خطف(?:ت|وا)?)(?![\w])")),
    (AGREE, re.compile(_P + r"(?:وقع(?:ت|ا)?|توصل(?:ت|وا)?|اتفق(?:ت|وا)?)(?![\w])")),
]  # fmt: skip
# Arabic news often tells an event in a sentence without a verb: "غارات روسية على إدلب في 28
# نوفمبر", "اشتباكات بين قسد والجيش الوطني في منبج يوم 3 كانون الأول".
AR_NOMINAL: list[tuple[str, re.Pattern]] = [
    (FIGHT, re.compile(r"^\s*(?:و)?(?:اشتباكات|معارك)(?![\w])")),
    (STRIKE, re.compile(r"^\s*(?:و)?(?:غارات|غاره)(?![\w])")),
]
AR_PASSIVE_KILL = re.compile(r"^\s*(?:و)?(?:قتل|اصيب)")


# The stems every match of each pattern of AR_PATTERNS holds, in order: a pattern is tried only
# on a sentence holding one of its stems (found for all patterns in one pass).
AR_PATTERN_STEMS: list[tuple[str, ...]] = [
    ("سيطر",), ("دخل", "استعاد", "انتزع"), ("اعاده",), ("قصف",), ("شن", "دمر", "استهدف"),
    ("قتل", "اودي", "لقي"), ("هاجم", "اشتبك"), ("انفجر", "فجر"), ("تظاهر", "احتج"),
    ("اختطف", "خطف"), ("وقع", "توصل", "اتفق"),
]  # fmt: skip
AR_STEM_WORDS = Words(*sorted({s for stems in AR_PATTERN_STEMS for s in stems}), ignore_case=False)


def arabic_triggers(folded: str) -> list[Trigger]:
    out: dict[int, Trigger] = {}
    present = AR_STEM_WORDS.present(folded)
    for (label, pattern), stems in zip(AR_PATTERNS, AR_PATTERN_STEMS, strict=True):
        if present.isdisjoint(stems):
            continue
        for m in pattern.finditer(folded):
            if any(t.start <= m.start() < t.end for t in out.values()):
                continue
            passive = label == KILL and AR_PASSIVE_KILL.match(folded[: m.end()]) is not None
            out[m.start()] = Trigger(label, m.start(), m.end(), m.group(0), passive)
    for label, pattern in AR_NOMINAL:
        m = pattern.search(folded)
        if m and not out:
            out[m.start()] = Trigger(label, m.start(), m.end(), m.group(0), nominal=True)
    return [out[k] for k in sorted(out)]


# --- whether a clause tells an event -------------------------------------------------------------

# Words right before the trigger (up to a few) that make it something other than an event.
EN_BLOCK_BEFORE = re.compile(
    r"\b(?:would|could|might|may|will|shall|can|cannot|can't|should|must|won't|wouldn't|"
    r"not|never|no|to|if|unless|whether|vowed|threatened|ready|plans?|planned|aims?|"
    r"expected|likely|able|wants?|wanted|continue|continues)\b[^,;:.]{0,25}$"
    r"|\b(?:which|that|who)\s+(?:(?:had|has|have)\s+)?(?:\w+ly\s+)?$"
    r"|\b(?:has|have)\s+(?:\w+ly\s+)?(?:been\s+)?$",
    re.I,
)
EN_PERFECT = re.compile(r"\b(?:has|have)\s+(?:\w+ly\s+)?(?:been\s+)?$", re.I)
EN_BLOCK_MODAL = re.compile(
    r"\b(?:would|could|might|may|will|shall|can|cannot|should|must|not|never|which|that|who)\b",
    re.I,
)
# Anywhere in the sentence before the trigger: denial, hearsay, conditionals ("Had Russia kept").
EN_BLOCK_SENTENCE = re.compile(
    r"\b(?:denied|denies|deny|dismissed|rejected|could not be confirmed|unconfirmed|rumou?rs?|"
    r"reports? (?:of|that)|claims? (?:of|that)|the first time|accused of|accusations? of)\b|"
    r"^\s*had \w+",
    re.I,
)
# Habitual and generic wording anywhere in the clause.
EN_HABITUAL = re.compile(
    r"\b(?:regularly|often|frequently|sometimes|usually|repeatedly|routinely|every (?:day|week|"
    r"friday|night|month)|from time to time|almost (?:daily|weekly)|most days|each (?:day|week)|"
    r"for years|has long|have long|over the years|in turn|had once|once staged)\b",
    re.I,
)
# A total over many days ("since Sunday", "more than 350 strikes") is not one event.
EN_TOTAL = re.compile(
    r"\bsince (?:the |last |early |late )?(?:monday|tuesday|wednesday|thursday|friday|saturday|"
    r"sunday|the (?:start|beginning|fall))|\b(?:hundreds|dozens|scores|more than \d+) "
    r"(?:of )?(?:air ?)?strikes\b|\bstrikes across\b",
    re.I,
)
# What every match of EN_HABITUAL, and of EN_TOTAL, holds: a clause with none of these words is
# not searched with them.
EN_HABITUAL_NEEDS = Words(
    "regularly", "often", "frequently", "sometimes", "usually", "repeatedly", "routinely",
    "every", "from time to time", "almost", "most days", "each", "for years", "has long",
    "have long", "over the years", "in turn", "had once", "once staged",
)  # fmt: skip
EN_TOTAL_NEEDS = Words("since", "strikes")
# A relative clause whose verb the trigger is ("which have struck", "who had").
EN_RELATIVE_BEFORE = re.compile(r"\b(?:which|who)\s+(?:\w+\s+)?(?:had|has|have)?\s*$", re.I)
RELATIVE_WORDS = Words("which", "who")
AR_BLOCK_BEFORE = re.compile(
    r"(?<![\w])(?:لم|لن|لا|قد|سوف|ربما|يمكن|اذا|لو|كي|لكي)\s+(?:\S+\s+){0,1}$"
)
AR_BLOCK_SENTENCE = re.compile(r"(?<![\w])(?:و)?(?:نفي|نفت|نفوا|تنفي|ينفي|شائعات|انباء عن)")
AR_HABITUAL = re.compile(r"(?<![\w])(?:عاده|غالبا|احيانا|كل (?:يوم|اسبوع|جمعه)|باستمرار)")


def blocked(
    sentence: str,
    trigger: Trigger,
    arabic: bool,
    clause_start: int,
    dated: bool | Callable[[], bool] = False,
) -> bool:
    """Whether the trigger is not told as a happened event: modal, future, negated, denied,
    habitual, a relative clause about something else, a conditional or a total. `dated` says
    whether the sentence gives its day, or is a function that tells (asked only when it
    matters: reading a sentence's dates costs more than the rest of this)."""
    before = sentence[clause_start : trigger.start]
    clause_text = sentence[clause_start:]
    if arabic:
        return bool(
            AR_BLOCK_BEFORE.search(before)
            or AR_BLOCK_SENTENCE.search(sentence[: trigger.start])
            or AR_HABITUAL.search(clause_text)
        )
    tail = before[-40:]
    if EN_BLOCK_BEFORE.search(tail):
        # A perfect ("have taken control of Manbij, the ministry said on Tuesday") is an event when
        # the sentence gives its day; without one it is a state of things ("has sought").
        perfect = EN_PERFECT.search(tail)
        if not (
            perfect and not EN_BLOCK_MODAL.search(tail) and (dated() if callable(dated) else dated)
        ):
            return True
    if RELATIVE_WORDS.may_be_in(before) and EN_RELATIVE_BEFORE.search(before):
        return True
    if EN_BLOCK_SENTENCE.search(sentence[: trigger.start]):
        return True
    return bool(
        (EN_HABITUAL_NEEDS.may_be_in(clause_text) and EN_HABITUAL.search(clause_text))
        or (EN_TOTAL_NEEDS.may_be_in(clause_text) and EN_TOTAL.search(clause_text))
    )


# --- sub-types from the clause's words -----------------------------------------------------------

CUES: list[tuple[str, re.Pattern]] = [
    (CHEMICAL, re.compile(r"\bchemical\b|\bsarin\b|\bchlorine\b|\bnerve agent|\bgas attack|كيميا|السارين")),
    (SUICIDE, re.compile(r"\bsuicide\b|انتحاري")),
    (AIR, re.compile(r"\bair ?strikes?\b|\bair ?raids?\b|\bwarplanes?\b|\bjets?\b|\baircraft\b|"
                     r"\bdrones?\b|\bhelicopters?\b|\bbarrel bombs?\b|\bair power\b|\bstrikes\b|"
                     r"غار(?:ه|ات)|طائر|طيران|مسير")),
    (SHELLING, re.compile(r"\bartillery\b|\bshell(?:s|ing|ed)\b|\bmissiles?\b|\brockets?\b|"
                          r"\bmortars?\b|\bnavy\b|\bnaval\b|\btomahawks?\b|\bwarships?\b|"
                          r"قذائف|صواريخ|مدفعي|قصف")),
    (IED, re.compile(r"\bcar bombs?\b|\bbombs?\b|\bbombings?\b|\bexplosives?\b|\bied\b|\bimprovised\b|"
                     r"\blandmines?\b|\bmines?\b|مفخخ|عبوه|ناسف|تفجير|انفجار")),
]  # fmt: skip
# The words every match of each pattern of CUES holds, in order: a pattern is tried only on a
# clause holding one of them (found for all patterns in one pass).
CUE_WORDS: list[tuple[str, ...]] = [
    ("chemical", "sarin", "chlorine", "nerve agent", "gas attack", "كيميا", "السارين"),
    ("suicide", "انتحاري"),
    ("air", "warplane", "jet", "drone", "helicopter", "barrel bomb", "strikes", "غار", "طائر",
     "طيران", "مسير"),
    ("artillery", "shell", "missile", "rocket", "mortar", "navy", "naval", "tomahawk", "warship",
     "قذائف", "صواريخ", "مدفعي", "قصف"),
    ("bomb", "explosive", "ied", "improvised", "mine", "مفخخ", "عبوه", "ناسف", "تفجير", "انفجار"),
]  # fmt: skip
CUE_WORD_FINDER = Words(*sorted({w for words in CUE_WORDS for w in words}), ignore_case=False)
CIVILIAN_VICTIMS = re.compile(
    r"\b(?:civilians?|families|villagers|farmers)\b|\bgunmen\b|مدني|اهالي|عائل"
)
PROTESTERS = re.compile(r"\bprotesters?\b|\bdemonstrators?\b|\bprotests?\b|\bcrowds?\b|متظاهر|محتج")
AGREEMENT_WORDS = re.compile(
    r"\b(?:deal|agreement|ceasefire|truce|accord|memorandum)\b|اتفاق|هدنه|وقف اطلاق النار"
)
AR_AIRCRAFT = re.compile(r"طا(?:ئ|ي)ر|طيران|مسير|غار(?:ه|ات)")  # folded: ئ -> ي
DRONE_OR_MISSILE = re.compile(r"\bdrones?\b|\bmissiles?\b|\baircraft\b|\brockets?\b|مسير|صاروخ")


def weapon_cue(clause_lower: str) -> str | None:
    """The sub-type of the first weapon words (CUES, in order) the clause holds, if any."""
    present = CUE_WORD_FINDER.present(clause_lower)
    return next(
        (
            sub
            for (sub, pattern), words in zip(CUES, CUE_WORDS, strict=True)
            if not present.isdisjoint(words) and pattern.search(clause_lower)
        ),
        None,
    )


def sub_type(verb_class: str, clause_lower: str, passive: bool = False) -> str | None:
    """The ACLED sub-type a trigger stands for in its clause, or None when it does not make one
    ("killed" with no weapon or victims named, "agreed" to something other than a deal).
    The weapon cue is read only for the verb classes it types (its patterns are the costliest)."""
    if verb_class == CAPTURE:
        return OVERTAKE  # refined by who takes it and how (assembly)
    if verb_class == FIGHT:
        return CLASH
    if verb_class == SHELL:
        if PROTESTERS.search(clause_lower):
            return "Excessive force against protesters"  # "fired to disperse protesters"
        if not re.search(r"shell|قصف|missile|rocket|صاروخ|قذائف|mortar", clause_lower):
            return None  # "fired" at something else: shots in the air, tear gas
        if weapon_cue(clause_lower) == CHEMICAL:
            return CHEMICAL
        # Arabic قصف is any bombardment: "قصفت طائرات حربية" is an air strike, told by the aircraft.
        return AIR if AR_AIRCRAFT.search(clause_lower) else SHELLING
    if verb_class in (STRIKE, LIGHT):
        # "struck" or "carried out" what? Only a weapon makes it an attack from afar.
        cue = weapon_cue(clause_lower)
        if cue == IED:
            return AIR if DRONE_OR_MISSILE.search(clause_lower) else IED
        return cue
    if verb_class == KILL:
        cue = weapon_cue(clause_lower)
        if cue:
            return cue
        # "Gunmen killed three civilians" is an attack on civilians; "were killed" with no
        # weapon or perpetrator is a casualty count, not an event of its own.
        return None if passive else ("Attack" if CIVILIAN_VICTIMS.search(clause_lower) else None)
    if verb_class == EXPLODE:
        return SUICIDE if weapon_cue(clause_lower) == SUICIDE else IED
    if verb_class == PROTEST:
        return "Peaceful protest"
    if verb_class == REPRESS:
        return "Excessive force against protesters" if PROTESTERS.search(clause_lower) else None
    if verb_class == ABDUCT:
        return "Abduction/forced disappearance"
    if verb_class == LOOT:
        return "Looting/property destruction"
    if verb_class == AGREE:
        return "Agreement" if AGREEMENT_WORDS.search(clause_lower) else None
    if verb_class == SHOOTDOWN:
        return "Disrupted weapons use" if DRONE_OR_MISSILE.search(clause_lower) else None
    if verb_class == ARREST:
        return "Arrests"
    return None
