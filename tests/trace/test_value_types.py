"""Values of the wrong JSON type are problems naming them, never a TypeError (500).

Found by the schemathesis run (tests/api/test_schemathesis.py): an object where a document
or event ``type`` string belongs, and a named query whose values are not strings.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.support import epcis_document

from mics.errors import InvalidInput
from mics.trace.query import build
from mics.trace.validate import DocumentInvalid, validate_document


@pytest.mark.parametrize(
    ("document", "pointer"),
    [
        ({"type": {}, "schemaVersion": "2.0", "epcisBody": {"eventList": []}}, "/type"),
        (epcis_document([{"type": {}, "eventTime": "2026-01-01T00:00:00Z"}]), "/epcisBody"),
        (epcis_document([{"type": ["ObjectEvent"]}]), "/epcisBody"),
    ],
)
def test_a_type_that_is_not_a_string_is_a_problem(document: Any, pointer: str) -> None:
    with pytest.raises(DocumentInvalid) as caught:
        validate_document(document)
    assert caught.value.problems
    assert str(caught.value.problems[0].pointer).startswith(pointer)


@pytest.mark.parametrize("value", [[None, None], 5, {"a": "b"}, ["inspecting", 3]])
def test_a_query_value_that_is_not_text_is_invalid_input(value: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        build({"EQ_bizStep": value})
    assert caught.value.field == "EQ_bizStep"
