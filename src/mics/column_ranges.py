"""The ranges of the database's integer columns, as annotated types for inputs.

PostgreSQL's ``INTEGER`` holds 4 signed bytes and ``BIGINT`` 8; SQLite's
``INTEGER`` holds 8. A number from a request that no column can hold used to
answer 500 on PostgreSQL (``integer out of range``) and 404 or 422 on SQLite.
Every integer a route or a request body takes is one of these types, so the
request is refused with the same 422 problem on both databases before any
statement runs, and ``/openapi.json`` states the range (``minimum``,
``maximum``) for clients and for schemathesis.

``BIGINT`` inputs stop at 2**53 - 1: I-JSON (RFC 7493 §2.2) keeps integers
within IEEE 754 double precision, and the OpenAPI document itself writes
bounds as doubles (2**63 - 1 would read back as 2**63).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

__all__ = ["INT32_MAX", "INT64_MAX", "JSON_SAFE_MAX", "BigInt", "Int32", "RowId"]

INT32_MAX = 2**31 - 1  # PostgreSQL INTEGER (Integer columns: item ids, spokes, ...)
INT64_MAX = 2**63 - 1  # PostgreSQL BIGINT, SQLite INTEGER (event ids, tree sizes)
JSON_SAFE_MAX = 2**53 - 1  # RFC 7493 §2.2: the largest integer every JSON reader keeps

Int32 = Annotated[int, Field(ge=-(2**31), le=INT32_MAX)]
BigInt = Annotated[int, Field(ge=-JSON_SAFE_MAX, le=JSON_SAFE_MAX)]
RowId = Annotated[int, Field(ge=1, le=INT32_MAX, description="row id (from 1)")]
