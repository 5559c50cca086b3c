"""``/openapi.json`` declares what every route answers (``mics.api.openapi``), and 405/OPTIONS
name every method of the resource."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support import app_client

from mics.api import create_app
from mics.api.problems import PROBLEM
from mics.config import Settings
from mics.db import Database

pytestmark = pytest.mark.anyio


@pytest.fixture
def document(tmp_path: Path) -> dict[str, Any]:
    app = create_app(
        Settings(database_url="sqlite://", home=tmp_path / "var"), Database.from_url("sqlite://")
    )
    return app.openapi()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def test_every_error_of_every_operation_is_a_problem(document: dict[str, Any]) -> None:
    operations = _operations(document)
    assert len(operations) > 70
    missing = []
    for method, path, operation in operations:
        responses = operation["responses"]
        if "422" not in responses:
            missing.append(f"{method} {path}: no 422")
        for status, response in responses.items():
            if status[0] in "45" and list(response.get("content", {})) != [PROBLEM]:
                missing.append(f"{method} {path} {status}: {list(response.get('content', {}))}")
    assert missing == []
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status"]


def test_keyed_operations_declare_the_key_and_its_problems(document: dict[str, Any]) -> None:
    keyed = {
        f"{method} {path}"
        for method, path, operation in _operations(document)
        if operation.get("security")
    }
    assert {"POST /epcis/capture", "GET /ledger/audit", "PATCH /api/partners/{partner_id}"} <= keyed
    assert "GET /api/partners" not in keyed
    for method, path, operation in _operations(document):
        if f"{method} {path}" in keyed:
            assert {"401", "403"} <= set(operation["responses"]), (method, path)
    scheme = document["components"]["securitySchemes"]["partnerKey"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    db = Database.from_url(f"sqlite:///{tmp_path / 'o.db'}")
    db.upgrade()
    async with app_client(db, tmp_path / "var") as c:
        yield c
    db.dispose()


async def test_method_not_allowed_and_options_list_every_method_of_the_path(
    client: httpx.AsyncClient,
) -> None:
    refused = await client.delete("/api/partners/acme")
    assert refused.status_code == 405
    assert refused.headers["content-type"] == PROBLEM
    assert refused.headers["allow"] == "GET, HEAD, OPTIONS, PATCH"
    options = await client.options("/api/partners/acme")
    assert (options.status_code, options.headers["allow"]) == (204, "GET, HEAD, OPTIONS, PATCH")
    discovery = await client.options("/epcis")
    # GET /epcis: the binding's list of top-level resources (mics.api.epcis_resources)
    assert (discovery.status_code, discovery.headers["allow"]) == (204, "GET, HEAD, OPTIONS")
