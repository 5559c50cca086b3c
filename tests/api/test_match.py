"""``/api/match`` end to end: ranked partners with reasons, problems naming the field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.support import app_client

from mics.db import Database

pytestmark = pytest.mark.anyio


@pytest.fixture
async def registry_client(
    demo_registry: Database, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """The demo registry alone on SQLite: enough for the input checks."""
    async with app_client(demo_registry, tmp_path / "var") as c:
        yield c


async def test_match_ranks_partners_with_reasons(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/match", params={"q": "Concia al vegetale delle pelli, senza cromo", "limit": 3}
    )
    assert response.status_code == 200
    body = response.json()
    assert [set(m) for m in body] == [{"partner", "score", "reasons"}] * 3
    assert [m["partner"] for m in body[:2]] == ["conceria-del-brenta", "ateneo-toscano"]
    assert body[0]["score"] >= body[1]["score"] >= body[2]["score"]
    assert body[0]["reasons"][0]["kind"] == "evidence"


async def test_spoke_fit_is_reported(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/match", params={"q": "titanium powder", "spoke": 6})).json()
    spoke = [r for r in body[0]["reasons"] if r["kind"] == "spoke"]
    assert spoke == [
        {
            "kind": "spoke",
            "text": "in spoke 6",
            "source": "",
            "matched": [],
            "similarity": None,
            "fit": True,
        }
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": ""}, "q"),
        ({"q": "a" * 2001}, "q"),
        ({"q": "leather", "sector": "jewellery"}, "sector"),
        ({"q": "leather", "spoke": 42}, "spoke"),
        ({"q": "leather", "spoke": "three"}, "spoke"),
        ({"q": "leather", "limit": 0}, "limit"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(
    registry_client: httpx.AsyncClient, params: dict[str, str | int], field: str
) -> None:
    response = await registry_client.get("/api/match", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == field


async def test_consortium_names_members_what_they_bring_and_what_is_missing(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/match/consortium",
        json={"idea": "Recycled gold jewellery with NFC tags against counterfeits"},
    )
    assert response.status_code == 200
    body = response.json()
    assert 3 <= len(body["members"]) <= 7
    assert body["missing"] == []
    assert body["sectors"] == ["fashion"]
    kinds = {m["kind"] for m in body["members"]}
    assert "enterprise" in kinds
    assert kinds & {"university", "research_centre"}
    assert all(m["brings"] or m["role"].endswith("'the idea as a whole'") for m in body["members"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"idea": ""}, "q"),
        ({"idea": "leather", "sectors": ["space"]}, "sector"),
        ({"idea": "leather", "needs": []}, "needs"),
        ({"idea": "leather", "colour": "red"}, "colour"),
    ],
)
async def test_consortium_bad_input_is_a_422_naming_the_field(
    registry_client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    response = await registry_client.post("/api/match/consortium", json=body)
    assert response.status_code == 422
    assert response.json()["field"] == field
