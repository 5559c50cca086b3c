"""``mics epcis hash`` and ``mics epcis capture`` refuse hostile files with one line (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.support import EPCIS_CONTEXT, epcis_document, run_mics

from mics.trace.json_text import MAX_DEPTH

EVENT = {
    "type": "ObjectEvent",
    "action": "ADD",
    "eventTime": "2026-01-01T10:00:00.000+01:00",
    "eventTimeZoneOffset": "+01:00",
    "epcList": ["urn:epc:id:sgtin:8012345.000001.BA00002"],
    "ilmd": {"example:x": "HERE"},
}
WHERE = "/epcisBody/eventList/0/ilmd/example:x"


def document(value: str) -> str:
    context = [*EPCIS_CONTEXT, {"example": "https://ns.example.com/epcis/"}]
    return json.dumps(epcis_document([EVENT], **{"@context": context})).replace('"HERE"', value)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile")
    assert run_mics(path, "db", "upgrade").returncode == 0
    return path


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("[" * 5000 + "]" * 5000, WHERE + "/0" * (MAX_DEPTH - 5)),  # RecursionError before
        ('{"a": 1, "a": 2}', WHERE + "/a"),  # hashed the last "a" before
    ],
)
@pytest.mark.parametrize("command", ["hash", "capture"])
def test_a_hostile_file_is_one_error_line_naming_where(
    folder: Path, command: str, value: str, expected: str
) -> None:
    file = folder / f"{command}.jsonld"
    file.write_text(document(value))
    done = run_mics(folder, "epcis", command, str(file))
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: {expected}: "), done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.strip() == "" or command == "capture"


def test_a_deep_xml_file_is_one_error_line(folder: Path) -> None:
    file = folder / "deep.xml"
    file.write_text(
        '<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0">'
        "<EPCISBody><EventList>" + "<a>" * 2000 + "</a>" * 2000 + "</EventList></EPCISBody>"
        "</epcis:EPCISDocument>"
    )
    done = run_mics(folder, "epcis", "hash", str(file))
    assert done.returncode == 1
    assert done.stderr.startswith("error: xml: the document nests elements 65 deep"), done.stderr
