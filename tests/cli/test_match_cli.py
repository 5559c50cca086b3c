"""``mics match``: a table or JSON of partners with reasons; one line for bad input."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mics.cli import one_line
from mics.cli.app import app
from mics.db import Database
from mics.errors import InvalidInput
from mics.registry.demo import load_demo_registry


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("match")
    url = f"sqlite:///{folder / 'cli.db'}"
    db = Database.from_url(url)
    db.upgrade()
    load_demo_registry(db)
    db.dispose()
    return {"MICS_DATABASE_URL": url, "MICS_HOME": str(folder / "var")}


def _run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["match", *args], env=env)
    return result.exit_code, result.output


def test_match_json_is_a_list_of_partner_score_reasons(env: dict[str, str]) -> None:
    code, out = _run(env, "Sedie a noleggio: ritiro, restauro e nuovo affitto", "--json")
    assert code == 0, out
    rows = json.loads(out)
    assert [set(r) for r in rows] == [{"partner", "score", "reasons"}] * 10
    assert {r["partner"] for r in rows[:3]} == {
        "universita-adriatica",
        "design-quercia",
        "falegnameria-brianza",
    }


def test_options_may_come_before_the_idea(env: dict[str, str]) -> None:
    code, out = _run(env, "--sector", "furniture", "--limit", "2", "--json", "oak chairs")
    assert code == 0, out
    rows = json.loads(out)
    assert len(rows) == 2
    last = [r["reasons"][-1] for r in rows]
    assert [(r["kind"], r["fit"]) for r in last] == [("sector", True)] * 2


def test_the_table_names_partners_and_their_evidence(env: dict[str, str]) -> None:
    code, out = _run(env, "gioielli in oro riciclato", "--limit", "2")
    assert code == 0, out
    assert "orafi-aretini" in out
    assert "recycled gold and silver" in out


def test_an_unknown_spoke_is_refused_naming_it(env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["match", "leather", "--spoke", "12"], env=env)
    assert result.exit_code != 0
    assert result.exception is not None
    assert "spoke" in str(result.exception)


def test_consortium_prints_members_and_what_is_missing(env: dict[str, str]) -> None:
    code, out = _run(env, "consortium", "leather bags", "--need", "quantum cryptography")
    assert code == 0, out
    assert "missing: nobody covers 'quantum cryptography'" in out
    code, out = _run(env, "consortium", "Recycled gold jewellery with NFC tags", "--json")
    assert code == 0, out
    assert 3 <= len(json.loads(out)["members"]) <= 7


def test_kickoff_schedule_writes_an_agenda_per_partner(
    env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    out = tmp_path_factory.mktemp("agendas")
    result = CliRunner().invoke(
        app, ["kickoff", "schedule", "demo", "--out", str(out), "--json"], env=env
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert len(body["meetings"]) == 24
    people = {p for m in body["meetings"] for p in (m["partner"], m["presenter"])}
    assert {f.stem for f in out.glob("*.ics")} == people
    agenda = (out / "agenzia-spazio.ics").read_text("utf-8")
    assert agenda.count("BEGIN:VEVENT") == sum(
        "agenzia-spazio" in (m["partner"], m["presenter"]) for m in body["meetings"]
    )


def test_kickoff_refuses_a_file_that_is_not_json(
    env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    bad = tmp_path_factory.mktemp("bad") / "kickoff.json"
    bad.write_text("not json", encoding="utf-8")
    result = CliRunner().invoke(app, ["kickoff", "schedule", str(bad)], env=env)
    assert result.exit_code != 0
    assert "FILE" in str(result.exception)


def test_kickoff_refuses_an_agenda_folder_it_cannot_make_naming_out(
    env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    a_file = tmp_path_factory.mktemp("taken") / "agendas"
    a_file.write_text("a file, not a folder", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["kickoff", "schedule", "demo", "--out", str(a_file / "inside")], env=env
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, InvalidInput), result.exception
    line = one_line(result.exception)
    assert line.startswith("--out: cannot write the agendas there: Not a directory")
    assert f"got '{a_file / 'inside'}'" in line
    assert a_file.read_text("utf-8") == "a file, not a folder"
