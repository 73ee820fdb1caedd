"""What makes extraction fast changes none of its answers: trigger phrases matched over every
spelling of their lemmas are the matches of spaCy's lookup lemmatizer and a LEMMA matcher, and the
word tests that spare the slow patterns (`text.Words`) never hide a match from them."""

from __future__ import annotations

import dataclasses
import random
import re

import pytest

from conflictmap.ingest import extract, scoring
from conflictmap.ingest.extraction import actors, dates, nlp, text, triggers

# Characters where case-insensitive matching and lower() part ways: dotless i and long s match
# "i" and "s" under re.IGNORECASE, the dotted capital I lower()s to two characters.
ODD = ["ı", "ſ", "İ", "\u212a"]  # the last is the Kelvin sign, which lower()s to "k"


@pytest.fixture(scope="module")
def gaz() -> extract.Gazetteer:
    return scoring.demo_gazetteer()


@pytest.fixture(scope="module")
def corpus() -> list[scoring.Report]:
    return scoring.load_corpus()


def corpus_sentences(corpus) -> list[str]:
    return [r.text[s:e] for r in corpus for s, e in text.sentences(r.text)]


def made_up(words: list[str], n: int, seed: int) -> list[str]:
    """Sentences of random words: the phrases' spellings next to the words the rules read."""
    rng = random.Random(seed)
    joiners = [" ", " ", " ", "  ", "-", "\n", ", "]
    return [
        rng.choice(joiners).join(rng.choice(words) for _ in range(rng.randint(1, 12)))
        for _ in range(n)
    ]


def test_trigger_matches_are_those_of_spacys_lookup_lemmatizer_and_a_lemma_matcher(corpus):
    import spacy
    from spacy.matcher import PhraseMatcher

    reference = spacy.blank("en")
    reference.add_pipe("lemmatizer", config={"mode": "lookup"})
    reference.initialize()
    by_lemma = PhraseMatcher(reference.vocab, attr="LEMMA")
    for label, phrases in triggers.PHRASES.items():
        by_lemma.add(label, list(reference.pipe(phrases)))

    lemmas = {w for phrases in triggers.PHRASES.values() for p in phrases for w in p.split()}
    spellings = sorted({f for lem in lemmas for f in nlp.lemma_forms(lem)})
    words = spellings + [w.capitalize() for w in spellings] + [
        "the", "was", "were", "flag", "clashes", "protesters", "shot", "Shot", "'s", "n't",
        "cannot", "don't", "U.S.", "5km", "re-took", "(took)", "took.", "control", "town",
    ]  # fmt: skip
    texts = corpus_sentences(corpus) + made_up(words, 3000, seed=12)

    english = nlp.english()
    for sentence in texts:
        ref_doc = reference(sentence)
        doc = english.make_doc(sentence)
        assert [t.text for t in doc] == [t.text for t in ref_doc]
        assert [nlp.lemma(t.text) for t in doc] == [t.lemma_ for t in ref_doc], sentence
        want = {(reference.vocab.strings[k], s, e) for k, s, e in by_lemma(ref_doc)}
        got = {(english.vocab.strings[k], s, e) for k, s, e in triggers.matcher()(doc)}
        assert got == want, sentence


@pytest.mark.parametrize(
    "sample",
    [
        "Soldiers",
        "SOLDIERS",
        "ſoldiers",
        "soldİers",
        "SOLDİERS",
        "KILLED",
        "kılled",
        "\u212aILLED",
        "الجيش",
        "",
    ],
)
def test_words_answer_as_their_alternation_would(sample):
    words = text.Words("soldiers", "killed", "الجيش")
    lowered = sample.lower()
    assert words.found_in(lowered) == bool(words.pattern.search(lowered))
    if words.pattern.search(sample):
        assert words.may_be_in(sample)
    found = words.present(sample)
    assert found is None or bool(found) == bool(words.pattern.search(sample))
    exact = text.Words("soldiers", "الجيش", ignore_case=False)
    assert exact.found_in(sample) == bool(re.search("soldiers|الجيش", sample))


def test_patterns_tried_only_where_their_first_words_begin_find_what_finditer_finds(corpus):
    pairs = [
        (actors.STATE_WORDS, actors.STATE_STARTS),
        (actors.NON_STATE_WORDS, actors.NON_STATE_STARTS),
        *((dict(dates.DATE_PATTERNS)[kind], starts) for kind, starts in dates.STARTS.items()),
    ]
    words = [
        "the", "The", "THE", "Syrian", "pro-government", "regime", "government", "troops",
        "Army", "soldiers", "security forces", "rebels", "rebel fighters", "insurgents",
        "gunmen", "its", "their", "fighters", "the group", "factions", "opposition forces",
        "-held", "-led", "الجيش", "والجيش", "الفصائل", "مقاتلين", "Monday", "last", "this",
        "morning", "today", "tonight", "yesterday", "last night", "Dec", "December", "5", "30th",
        "2024", ",", ".", "warplanes", "said", "x", *ODD,
    ]  # fmt: skip
    for sample in corpus_sentences(corpus) + made_up(words, 5000, seed=13):
        for pattern, starts in pairs:
            want = [m.span() for m in pattern.finditer(sample)]
            assert [m.span() for m in starts.finditer(pattern, sample)] == want, sample


def test_extraction_gives_the_same_candidates_with_every_pattern_run_everywhere(
    corpus, gaz, monkeypatch
):
    """The word tests only skip patterns that cannot match: with them answering "maybe"
    everywhere (every pattern run on every text), the corpus gives the same candidates."""

    def run() -> list[list[dict]]:
        out = []
        for r in corpus:
            for day in (r.published, None):
                found = extract.extract(r.text, day, gaz)
                out.append([dataclasses.asdict(c) for c in found])
        return out

    fast = run()
    monkeypatch.setattr(text.Words, "may_be_in", lambda self, t: True)
    monkeypatch.setattr(text.Words, "found_in", lambda self, t: bool(self.pattern.search(t)))
    monkeypatch.setattr(text.Words, "present", lambda self, t: set(self.words))
    monkeypatch.setattr(text.Words, "finditer", lambda self, p, t: p.finditer(t))
    assert run() == fast
    assert sum(map(len, fast)) > 100  # the corpus gives candidates to compare
