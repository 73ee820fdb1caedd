"""The API against its own OpenAPI document (conflictmap/api/openapi.py), with requests that
schemathesis generates from it, on a live server: no 5xx, and no status the document does not
declare (25 examples per operation, as a visitor). About 100 s on the shared machine: slow.

What it found and what was fixed: a tile with a negative or non-numeric z, x or y answered the
URL resolver's undocumented 404 (now the view's 400 naming the parameter); 429 and 503 were
not in the document; most generated zones requests had neither a date nor a period (the
document now gives the two modes as a oneOf); a min_population past PostgreSQL's integers was a
500 (every integer parameter now has a maximum, min_population a sane one)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from conflictmap.api.openapi import openapi_document

schema = schemathesis.openapi.from_dict(openapi_document())


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_answers_what_its_schema_says(case, live_server):
    case.call_and_validate(
        base_url=live_server.url, checks=[not_a_server_error, status_code_conformance]
    )
