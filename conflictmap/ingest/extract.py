"""Reports to candidate events: the public face of the `extraction` package.

Callers (the report pipeline, its tasks, scoring and the benchmarks) import this module; the
stages live in conflictmap/ingest/extraction/ (see its docstring).
"""

from __future__ import annotations

from .extraction import (
    LEXICON,
    STAGES,
    CandidateData,
    Entry,
    Gazetteer,
    build,
    extract,
    find_matches,
    fold,
    fold_name,
    gazetteer_stamp,
    get_gazetteer,
    invalidate,
    load_gazetteer,
    name_variants,
    sentences,
)

__all__ = [
    "LEXICON", "STAGES", "CandidateData", "Entry", "Gazetteer", "build", "extract",
    "find_matches", "fold", "fold_name", "gazetteer_stamp", "get_gazetteer", "invalidate",
    "load_gazetteer", "name_variants", "sentences",
]  # fmt: skip
