"""Import and export of partners, projects, materials and products as JSON and CSV.

JSON: ``{"partners": [...], "projects": [...], "materials": [...], "products": [...]}``
(any subset), each entry shaped like the API's ``*In`` schema.
CSV: one kind per file, told by ``kind`` or by the file's header. List fields
(``sectors``, ``spokes``, ``partners``) are ``;``-separated. A product CSV has one
row per bill-of-materials line, the product columns repeated on each.

A text cell that a spreadsheet would run as a formula (one that begins with
``=``, ``+``, ``-``, ``@``, tab or carriage return) is exported with a single
quote in front, as OWASP's "CSV Injection" advice has it; import removes
exactly the quotes export added, so an exported file imports to the same
records. Numbers are written as numbers (``-3.5`` is no formula).
Lines end in CRLF (RFC 4180), so a cell holding a line break is quoted too.

An import is all or nothing: every record is checked in one transaction and
nothing is stored when any is wrong. Records are upserted by id, so importing
the same file twice changes nothing.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from mics.db import Database
from mics.errors import InvalidInput
from mics.registry import service
from mics.registry.products import _product_out, put_product
from mics.registry.schemas import MaterialIn, PartnerIn, ProductIn, ProjectIn
from mics.registry.store import MaterialRow, PartnerRow, ProductRow, ProjectRow

KINDS = ("partners", "projects", "materials", "products")
ORDER = KINDS  # partners before the projects and materials that name them
LIST_FIELDS = {"sectors", "spokes", "partners"}
PRODUCT_FIELDS = [
    "id",
    "gtin",
    "name",
    "sector",
    "brand",
    "lifetime_years",
    "description",
    "repair_notes",
    "end_of_life_notes",
    "texts",  # JSON: {"it": {"name": ..., "description": ...}}
]
COMPONENT_FIELDS = [
    "component_name",
    "component_material",
    "component_product",
    "component_mass_kg",
    "component_process",
]
# OWASP, "CSV Injection": cells starting so are formulas to Excel, LibreOffice and Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SCHEMAS: dict[str, type[BaseModel]] = {
    "partners": PartnerIn,
    "projects": ProjectIn,
    "materials": MaterialIn,
    "products": ProductIn,
}


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidInput(
            f"unknown kind {kind!r}",
            field="kind",
            value=kind,
            expected="one of " + ", ".join(KINDS),
        )
    return kind


def parse_json(text: str, source: str = "input") -> dict[str, list[dict[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"{source} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}",
            field="body",
            value=text[:80],
            expected="a JSON object",
        ) from error
    if not isinstance(data, dict):
        raise InvalidInput(
            "the document must be a JSON object keyed by kind",
            field="body",
            value=type(data).__name__,
            expected='{"partners": [...], ...}',
        )
    for key, records in data.items():
        check_kind(key)
        if not isinstance(records, list):
            raise InvalidInput(
                "must be a list of records",
                field=key,
                value=type(records).__name__,
                expected="a JSON array",
            )
    return data


def guess_csv_kind(header: list[str]) -> str:
    columns = set(header)
    if "gtin" in columns:
        return "products"
    if "density_kg_m3" in columns:
        return "materials"
    if "is_public" in columns:
        return "partners"
    if "spoke" in columns:
        return "projects"
    raise InvalidInput(
        "cannot tell what the CSV holds from its header",
        field="header",
        value=",".join(header),
        expected="the columns of one kind: " + ", ".join(KINDS),
    )


def parse_csv(text: str, kind: str | None = None) -> dict[str, list[dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    if not header:
        raise InvalidInput("the CSV is empty", field="header", value="", expected="a header line")
    kind = check_kind(kind) if kind else guess_csv_kind(list(header))
    known = (
        PRODUCT_FIELDS + COMPONENT_FIELDS
        if kind == "products"
        else list(SCHEMAS[kind].model_fields)
    )
    unknown = [column for column in header if column not in known]
    if unknown or "id" not in header:
        raise InvalidInput(
            f"the header does not name the columns of {kind}",
            field="header",
            value=",".join(header)[:200],
            expected="columns among " + ",".join(known) + ", id among them",
        )
    rows: list[dict[str, Any]] = []
    for line, row in enumerate(reader, start=2):
        if None in row or any(v is None for v in row.values()):
            raise InvalidInput(
                f"line {line} has a different number of cells than the header",
                field=f"line {line}",
                value=list(row.values()),
                expected=f"{len(header)} cells",
            )
        rows.append({"__line__": line, **{k: formula_text(v) for k, v in row.items()}})
    if kind == "products":
        return {"products": _group_products(rows)}
    return {kind: [_cells(row) for row in rows]}


def _cells(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in LIST_FIELDS:
            out[key] = [v.strip() for v in value.split(";") if v.strip()]
        elif value == "" and key not in {"name"}:
            continue
        else:
            out[key] = value
    return out


def _group_products(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    products: dict[str, dict[str, Any]] = {}
    for row in rows:
        product = products.setdefault(
            row["id"], {k: row[k] for k in PRODUCT_FIELDS if row.get(k, "") != ""}
        )
        if isinstance(product.get("texts"), str):
            product["texts"] = _json_cell(product["texts"], row["__line__"], "texts")
        product.setdefault("components", [])
        if row.get("component_name"):
            product["components"].append(
                {
                    k: v
                    for k, v in {
                        "name": row["component_name"],
                        "material": row.get("component_material") or None,
                        "product": row.get("component_product") or None,
                        "mass_kg": row.get("component_mass_kg"),
                        "process": row.get("component_process", ""),
                    }.items()
                    if v is not None
                }
            )
    return list(products.values())


def _json_cell(text: str, line: int, column: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"line {line}: the {column} cell is not JSON ({error.msg})",
            field=f"line {line}.{column}",
            value=text[:200],
            expected='a JSON object such as {"it": {"name": "Borsa Aurora"}}',
        ) from None


def load(
    db: Database,
    data: dict[str, list[dict[str, Any]]],
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Validate and upsert every record in one transaction; returns counts per kind."""
    counts = dict.fromkeys(KINDS, 0)
    with db.transaction() as s:
        for kind in ORDER:
            for index, raw in enumerate(data.get(kind, [])):
                record = _model(kind, index, raw)
                try:
                    _put(s, kind, record)
                except InvalidInput as error:
                    raise InvalidInput(
                        error.reason,
                        field=f"{kind}[{index}].{error.field}",
                        value=error.value,
                        expected=error.expected,
                    ) from error
                counts[kind] += 1
                if progress:
                    progress(1)
            s.flush()
    return counts


def _model(kind: str, index: int, raw: Any) -> BaseModel:
    if not isinstance(raw, dict):
        raise InvalidInput(
            "each record must be an object",
            field=f"{kind}[{index}]",
            value=raw,
            expected="a JSON object",
        )
    raw = {k: v for k, v in raw.items() if k != "__line__"}
    try:
        return SCHEMAS[kind].model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(
            first["msg"],
            field=f"{kind}[{index}].{where}",
            value=first.get("input"),
            expected=first["msg"],
        ) from error


def _put(s: Session, kind: str, record: BaseModel) -> None:
    if isinstance(record, PartnerIn):
        service.put_partner(s, record, replace=True)
    elif isinstance(record, ProjectIn):
        service.put_project(s, record, replace=True)
    elif isinstance(record, MaterialIn):
        service.put_material(s, record, replace=True)
    elif isinstance(record, ProductIn):
        put_product(s, record, replace=True)


def export(db: Database, kind: str) -> list[dict[str, Any]]:
    """Every record of ``kind``, shaped like the import format."""
    check_kind(kind)
    with db.read() as s:
        if kind == "partners":
            return [
                service._partner_out(r).model_dump()
                for r in s.scalars(select(PartnerRow).order_by(PartnerRow.id))
            ]
        if kind == "projects":
            return [
                service._project_out(r).model_dump()
                for r in s.scalars(select(ProjectRow).order_by(ProjectRow.id))
            ]
        if kind == "materials":
            return [
                service._material_out(r).model_dump()
                for r in s.scalars(select(MaterialRow).order_by(MaterialRow.id))
            ]
        out = []
        for r in s.scalars(select(ProductRow).order_by(ProductRow.id)):
            product = _product_out(r).model_dump(exclude={"mass_kg"})
            for c in product["components"]:
                c.pop("position")
            out.append(product)
        return out


def to_csv(kind: str, records: Iterable[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    records = list(records)
    if kind == "products":
        writer = csv.DictWriter(buffer, PRODUCT_FIELDS + COMPONENT_FIELDS, lineterminator="\r\n")
        writer.writeheader()
        for p in records:
            base = {k: p.get(k, "") for k in PRODUCT_FIELDS}
            if "texts" in p:
                base["texts"] = json.dumps(p["texts"], ensure_ascii=False) if p["texts"] else ""
            for c in p.get("components") or [{}]:  # absent below legitimate interest
                row = base | {
                    "component_name": c.get("name", ""),
                    "component_material": c.get("material") or "",
                    "component_product": c.get("product") or "",
                    "component_mass_kg": c.get("mass_kg", ""),
                    "component_process": c.get("process", ""),
                }
                writer.writerow({k: inert_cell(v) for k, v in row.items()})
        return buffer.getvalue()
    fields = list(SCHEMAS[kind].model_fields)
    writer = csv.DictWriter(buffer, fields, lineterminator="\r\n")
    writer.writeheader()
    for r in records:
        writer.writerow(
            {
                k: inert_cell(";".join(map(str, v)) if isinstance(v, list) else v)
                for k, v in r.items()
            }
        )
    return buffer.getvalue()


def inert_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run: text that looks like a formula gets a ``'``.

    Text that already begins with quotes before a formula start gets one more,
    so that :func:`formula_text` can tell the quote export added from one that
    was there. Numbers, booleans and empty cells are written as they are."""
    if value is None:
        return ""
    if isinstance(value, str) and _looks_like_formula(value):
        return "'" + value
    return value


def formula_text(cell: str) -> str:
    """The text ``inert_cell`` was given: the one quote it added removed, nothing else."""
    if cell.startswith("'") and _looks_like_formula(cell[1:]):
        return cell[1:]
    return cell


def _looks_like_formula(text: str) -> bool:
    return text.lstrip("'").startswith(FORMULA_STARTS)
