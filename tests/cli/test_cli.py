"""The ``mics`` command line, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tests.support import run_mics

from mics.errors import Unauthorized


def mics(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_mics(folder, *args)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli")
    assert mics(path, "db", "upgrade").returncode == 0
    first = mics(path, "demo")
    assert first.returncode == 0, first.stderr
    return path


def test_demo_twice_adds_nothing_and_export_lists_three_products(demo_dir: Path) -> None:
    second = mics(demo_dir, "demo")
    assert second.returncode == 0
    assert "0 items_added" in second.stdout
    exported = mics(demo_dir, "registry", "export", "--kind", "products")
    products = json.loads(exported.stdout)["products"]
    assert [p["id"] for p in products] == [
        "anello-fuso",  # the chain-of-custody demo's rings (mics.custody.demo)
        "anello-stampato",
        "borsa-aurora",
        "pinza-robotica",
        "sedia-quercia",
    ]


def test_registry_list_shows_partners_table(demo_dir: Path) -> None:
    out = mics(demo_dir, "registry", "list", "spokes")
    assert out.returncode == 0
    assert "Additive Manufacturing" in out.stdout


def test_import_of_bad_file_prints_one_line_and_exits_non_zero(demo_dir: Path) -> None:
    bad = demo_dir / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "materials": [
                    {
                        "id": "m",
                        "name": "M",
                        "category": "metal",
                        "density_kg_m3": 10,
                        "country": "IT",
                        "recycled_share": 2,
                    }
                ]
            }
        )
    )
    out = mics(demo_dir, "registry", "import", str(bad))
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "error: materials[0].recycled_share: a share is a fraction between 0 and 1: "
        "got 2.0; expected a number in [0, 1] (0.3 means 30 %)"
    ]
    verbose = mics(demo_dir, "--verbose", "registry", "import", str(bad))
    assert "Traceback" in verbose.stderr


def test_csv_import_upserts(demo_dir: Path) -> None:
    csv_file = demo_dir / "materials.csv"
    csv_file.write_text(
        "id,name,category,density_kg_m3,recycled_share,bio_based_share,country,"
        "supplier,lca_process\nwool,Merino wool,textile,1310,0.2,1,IT,,\n"
    )
    assert mics(demo_dir, "registry", "import", str(csv_file)).returncode == 0
    exported = json.loads(mics(demo_dir, "registry", "export", "--kind", "materials").stdout)
    wool = next(m for m in exported["materials"] if m["id"] == "wool")
    assert (wool["recycled_share"], wool["supplier"]) == (0.2, None)


def test_epcis_hash_prints_one_hash_per_event_in_order(demo_dir: Path) -> None:
    from mics.trace.event_hash import event_hash

    events = [
        {
            "type": "ObjectEvent",
            "action": "OBSERVE",
            "eventTime": f"2026-03-0{d}T10:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "epcList": [f"urn:epc:id:sgtin:8012345.000001.X{d}"],
        }
        for d in (1, 2)
    ]
    context = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
    file = demo_dir / "two.jsonld"
    file.write_text(
        json.dumps(
            {
                "@context": context,
                "type": "EPCISDocument",
                "schemaVersion": "2.0",
                "creationDate": "2026-03-01T10:00:00Z",
                "epcisBody": {"eventList": events},
            }
        )
    )
    out = mics(demo_dir, "epcis", "hash", str(file))
    assert out.stdout.split() == [event_hash(e, context) for e in events]
    captured = mics(demo_dir, "epcis", "capture", str(file))
    assert captured.returncode == 0, captured.stderr
    assert "captured 2" in captured.stdout
    again = mics(demo_dir, "epcis", "capture", str(file))
    assert "captured 0, duplicates 2" in again.stdout


def test_trace_downstream_answers_the_recall_as_json(demo_dir: Path) -> None:
    out = mics(
        demo_dir, "trace", "downstream", "urn:epc:class:lgtin:8012345.000040.H26-011", "--json"
    )
    assert out.returncode == 0, out.stderr
    nodes = [n["id"] for n in json.loads(out.stdout)["nodes"]]
    assert sum("/01/08012345000012/21/" in n for n in nodes) == 5
    bad = mics(demo_dir, "trace", "upstream", "not-an-epc")
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: epc: not an identifier MICS can trace")


def test_trace_reads_the_right_way_with_names_at_80_columns(demo_dir: Path) -> None:
    out = run_mics(
        demo_dir, "trace", "upstream", "urn:epc:id:sgtin:8012345.000001.BA00001", COLUMNS="80"
    )
    assert out.returncode == 0, out.stderr
    lines = [" ".join(line.replace("│", " ").split()) for line in out.stdout.splitlines()]
    # the leather lot was made from the hide lot, not the other way round
    assert any(line.startswith("lot LC26-07") and "made from lot H26-011" in line for line in lines)
    assert not any("H26-011" in line.split("made from")[0] for line in lines if "made from" in line)
    assert "upstream of BA00001 (Borsa Aurora leather handbag): 5 things, 9 events" in lines[0]
    assert "Conceria del Brenta" in out.stdout  # the tannery's name, not its GLN URI
    assert "…" not in out.stdout  # nothing cut off
    assert "https://id.gs1.org" not in out.stdout  # short identifiers unless --wide
    wide = run_mics(
        demo_dir,
        "trace",
        "upstream",
        "urn:epc:id:sgtin:8012345.000001.BA00001",
        "--wide",
        COLUMNS="200",
    )
    assert "https://id.gs1.org/01/08012345000401/10/H26-011" in wide.stdout


def test_trace_of_an_unknown_epc_exits_1_with_one_line(demo_dir: Path) -> None:
    out = mics(demo_dir, "trace", "upstream", "urn:epc:id:sgtin:8012345.000001.NOPE")
    assert out.returncode == 1
    assert out.stdout == ""
    assert out.stderr.startswith(
        "error: no event names https://id.gs1.org/01/08012345000012/21/NOPE"
    )


def test_registry_list_shows_ids_in_full_at_80_columns(demo_dir: Path) -> None:
    out = run_mics(demo_dir, "registry", "list", "partners", "--limit", "500", COLUMNS="80")
    assert out.returncode == 0
    listed = json.loads(mics(demo_dir, "registry", "list", "partners", "--json").stdout)
    assert len(listed["partners"]) == 25
    for partner in listed["partners"]:
        assert f"│ {partner['id']} " in out.stdout  # whole, on one line, as `mics keys` needs it
    products = run_mics(demo_dir, "registry", "list", "products", COLUMNS="80")
    assert "│ 08012345000258 │" in products.stdout


def test_db_upgrade_seals_tokens_an_older_version_stored_in_clear(tmp_path: Path) -> None:
    from sqlalchemy import text

    from mics.db import Database
    from mics.trace import subscriptions
    from mics.trace.webhook_tokens import load_or_create_token_seal

    assert mics(tmp_path, "db", "upgrade").returncode == 0
    assert not (tmp_path / "var" / "webhooks.key").exists()  # nothing to seal: no key made
    db = Database.from_url(f"sqlite:///{tmp_path / 'cli.db'}")
    try:
        subscriptions.create_query(db, "All", {}, "mics-operator")
        with db.transaction() as s:  # a row as migration 0006 leaves an older token
            s.execute(
                text(
                    "INSERT INTO epcis_subscription (id, query_name, partner_id, dest, "
                    "sealed_token, last_event, created_at, failures) VALUES ('s1', 'All', "
                    "'mics-operator', 'https://c.example/cb', 'clear:old-token', 0, "
                    "'2026-01-01', 0)"
                )
            )
        result = mics(tmp_path, "db", "upgrade")
        assert result.returncode == 0, result.stderr
        assert subscriptions.clear_tokens(db) == 0
        with db.read() as s:
            stored = s.scalar(text("SELECT sealed_token FROM epcis_subscription"))
    finally:
        db.dispose()
    seal = load_or_create_token_seal(tmp_path / "var")
    assert seal.open("s1", str(stored)) == "old-token"
    assert "old-token" not in str(stored)


@pytest.mark.parametrize(
    ("trusted", "proxy_headers", "allowed"),
    [(None, True, "127.0.0.1,::1"), ("10.0.0.5", True, "10.0.0.5"), ("", False, None)],
)
def test_serve_trusts_x_forwarded_for_only_from_the_configured_proxies(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    trusted: str | None,
    proxy_headers: bool,
    allowed: str | None,
) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from mics.cli import app
    from mics.db import Database
    from mics.trace import subscriptions

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda _app, **options: seen.update(options))
    monkeypatch.setattr(subscriptions, "run_deliveries", lambda db, stop, seal: None)
    monkeypatch.setenv("MICS_DATABASE_URL", f"sqlite:///{tmp_path / 'serve.db'}")
    migrated = Database.from_url(f"sqlite:///{tmp_path / 'serve.db'}")
    migrated.upgrade()  # `mics serve` refuses a folder without a migrated database
    migrated.dispose()
    monkeypatch.setenv("MICS_HOME", str(tmp_path / "home"))
    if trusted is None:
        monkeypatch.delenv("MICS_TRUSTED_PROXIES", raising=False)
    else:
        monkeypatch.setenv("MICS_TRUSTED_PROXIES", trusted)
    result = CliRunner().invoke(app, ["serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert seen["port"] == 8123
    assert (seen["proxy_headers"], seen["forwarded_allow_ips"]) == (proxy_headers, allowed)


def test_capture_prints_a_warning_for_an_event_time_ahead_of_the_clock(demo_dir: Path) -> None:
    planned = {
        "type": "ObjectEvent",
        "action": "OBSERVE",
        "eventTime": "2099-06-01T10:00:00.000+02:00",
        "eventTimeZoneOffset": "+02:00",
        "epcList": ["urn:epc:id:sgtin:8012345.000001.CLOCK1"],
    }
    file = demo_dir / "planned.jsonld"
    file.write_text(
        json.dumps(
            {
                "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
                "type": "EPCISDocument",
                "schemaVersion": "2.0",
                "creationDate": "2026-03-01T10:00:00Z",
                "epcisBody": {"eventList": [planned]},
            }
        )
    )
    captured = mics(demo_dir, "epcis", "capture", str(file))
    assert captured.returncode == 0, captured.stderr
    assert "captured 1" in captured.stdout
    assert "warning: " in captured.stdout, captured.stdout
    warning = captured.stdout.split("warning: ", 1)[1]
    assert warning.startswith("/epcisBody/eventList/0/eventTime: eventTime is P")


def test_keys_revoke_refuses_the_key_from_then_on(tmp_path: Path) -> None:
    from mics.db import Database, make_engine
    from mics.registry.api_keys import authenticate

    assert mics(tmp_path, "db", "upgrade").returncode == 0
    assert mics(tmp_path, "demo").returncode == 0
    made = mics(tmp_path, "keys", "create", "politecnico-lombardo", "--label", "to revoke")
    key = made.stdout.strip()
    db = Database(make_engine(f"sqlite:///{tmp_path / 'cli.db'}"))
    assert authenticate(db, key).partner == "politecnico-lombardo"
    revoked = mics(tmp_path, "keys", "revoke", key.split("_")[1])
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked: an API key of partner politecnico-lombardo" in revoked.stdout
    with pytest.raises(Unauthorized, match="revoked"):
        authenticate(db, key)
    unknown = mics(tmp_path, "keys", "revoke", "0badc0de")
    assert unknown.returncode != 0
    assert "no API key with prefix '0badc0de'" in unknown.stderr + unknown.stdout
    db.dispose()
