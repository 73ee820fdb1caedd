"""spaCy, loaded lazily: a blank English pipeline (its tokenizer; no trained model, nothing
downloaded), spacy-lookups-data's English lemma lookup table, and a blank multi-language
pipeline for Arabic tokens.

Lemmas follow the rule of spaCy's lookup lemmatizer: the table's entry for the token's exact
text, else the text itself. Tokens are not lemmatised one by one (the `lemmatizer` component
makes a Python call per token, three times the cost of the tokenizer): the trigger matcher is
given every spelling of its lemmas instead (`lemma_forms`), and the few tokens whose lemma a
rule reads are looked up (`lemma`).

Only the sentences that the cheap stages found worth reading (an event word and a place) are
tokenised; importing spaCy costs about a second once per process.
"""

from __future__ import annotations

import functools
import threading

_lock = threading.Lock()


@functools.cache
def english():
    """spacy.blank("en"): the English tokenizer and vocabulary."""
    import spacy

    with _lock:
        return spacy.blank("en")


@functools.cache
def lemma_table() -> dict[str, str]:
    """spacy-lookups-data's English lookup table (token text -> lemma), installed with us."""
    from spacy.util import load_language_data, registry

    return load_language_data(registry.lookups.get("en")["lemma_lookup"])


def lemma(text: str) -> str:
    """The lemma spaCy's lookup lemmatizer gives a token of this exact text."""
    return lemma_table().get(text, text)


@functools.cache
def _forms() -> dict[str, frozenset[str]]:
    forms: dict[str, set[str]] = {}
    for text, lem in lemma_table().items():
        forms.setdefault(lem, set()).add(text)
    return {lem: frozenset(texts) for lem, texts in forms.items()}


def lemma_forms(lem: str) -> frozenset[str]:
    """Every token text whose lemma is `lem` (`lemma(t) == lem` exactly for these)."""
    forms = _forms().get(lem, frozenset())
    return forms | {lem} if lemma(lem) == lem else forms


@functools.cache
def multilingual():
    """spacy.blank("xx"): tokens for Arabic (the rules read folded token text, no lemmas)."""
    import spacy

    return spacy.blank("xx")
