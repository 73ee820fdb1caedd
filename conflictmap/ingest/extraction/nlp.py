"""spaCy, loaded lazily: a blank English pipeline with the lookup lemmatizer of spacy-lookups-data
(no trained model, nothing downloaded), and a blank multi-language one for Arabic tokens.

Only the sentences that the cheap stages found worth reading (an event word and a place) are
tokenised; importing spaCy costs about a second once per process.
"""

from __future__ import annotations

import functools
import threading

_lock = threading.Lock()


@functools.cache
def english():
    """spacy.blank("en") with lemmas from spacy-lookups-data's English lookup table."""
    import spacy

    with _lock:
        nlp = spacy.blank("en")
        nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        nlp.initialize()  # reads the lookup table from spacy-lookups-data, installed with us
    return nlp


@functools.cache
def multilingual():
    """spacy.blank("xx"): tokens for Arabic (the rules read folded token text, no lemmas)."""
    import spacy

    return spacy.blank("xx")
