"""Extraction: reports to candidate events, stage by stage.

- `text`: folding and name spellings, sentences;
- `gazetteer`: places and factions in one automaton (the matching stage);
- `dates`: the report's date, day-level and coarse time expressions;
- `triggers`: event words, whether a clause tells an event, ACLED sub-types;
- `actors`: who acted, coreference ("the rebels", "the regime");
- `places`: which place, its precision, directions, sites the gazetteer lacks;
- `numbers`: fatalities with their qualifier;
- `assemble`: `extract()`, which runs them over a report.

`conflictmap.ingest.extract` is the public face callers import.
"""

from .assemble import STAGES, CandidateData, extract
from .gazetteer import (
    LEXICON,
    Entry,
    Gazetteer,
    build,
    find_matches,
    gazetteer_stamp,
    get_gazetteer,
    invalidate,
    load_gazetteer,
)
from .text import fold, fold_name, name_variants, sentences

__all__ = [
    "LEXICON", "STAGES", "CandidateData", "Entry", "Gazetteer", "build", "extract",
    "find_matches", "fold", "fold_name", "gazetteer_stamp", "get_gazetteer", "invalidate",
    "load_gazetteer", "name_variants", "sentences",
]  # fmt: skip
