"""``/api/...``: the partnership registry over REST.

Writes need a key of role ``operator`` (anything) or ``partner`` (its own
records: its partner record, its brand's products and items); reads are
public, each record filtered to the caller's tier (``passport.access``:
suppliers for authorities, bills of materials for legitimate interest).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from mics import registry
from mics.api.deps import (
    DatabaseDep,
    OperatorDep,
    ReaderDep,
    WriterDep,
    prebuilder,
    reader_tier,
)
from mics.api.openapi import media, problems
from mics.column_ranges import Int32, RowId
from mics.errors import Forbidden, InvalidInput, MicsError, Unauthorized
from mics.passport import access
from mics.registry.api_keys import Principal
from mics.registry.exchange import KINDS
from mics.registry.schemas import (
    BomNode,
    ItemIn,
    ItemOut,
    MaterialIn,
    MaterialOut,
    MaterialPatch,
    MaterialView,
    Page,
    PartnerIn,
    PartnerKind,
    PartnerOut,
    PartnerPatch,
    ProductIn,
    ProductOut,
    ProductPatch,
    ProjectIn,
    ProjectOut,
    ProjectStatus,
    SectorOut,
    SpokeOut,
)

router = APIRouter(prefix="/api", tags=["registry"])
MAX_OFFSET = 2**31 - 1
ItemId = Annotated[RowId, Path(description="item id")]
Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="records to skip")]
RecordKind = Literal["partners", "projects", "materials", "products"]  # registry.KINDS


@router.get("/sectors")
def sectors(db: DatabaseDep) -> list[SectorOut]:
    return registry.list_sectors(db)


@router.get("/spokes")
def spokes(db: DatabaseDep) -> list[SpokeOut]:
    return registry.list_spokes(db)


@router.get("/partners", responses=problems(404))
def partners(
    db: DatabaseDep,
    kind: PartnerKind | None = None,
    sector: str | None = None,
    spoke: Int32 | None = None,
    is_public: bool | None = None,
    q: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[PartnerOut]:
    return registry.list_partners(
        db,
        kind=kind,
        sector=sector,
        spoke=spoke,
        is_public=is_public,
        q=q,
        limit=limit,
        offset=offset,
    )


@router.post("/partners", status_code=201)
def create_partner(db: DatabaseDep, body: PartnerIn, who: OperatorDep) -> PartnerOut:
    """Add a partner (operator key)."""
    return registry.create_partner(db, body)


@router.get("/partners/{partner_id}")
def partner(db: DatabaseDep, partner_id: str) -> PartnerOut:
    return registry.get_partner(db, partner_id)


@router.patch("/partners/{partner_id}")
def update_partner(
    db: DatabaseDep, partner_id: str, body: PartnerPatch, who: WriterDep, request: Request
) -> PartnerOut:
    """Change a partner: the operator, or the partner itself for everything but its GLN."""
    if who.role != "operator":
        if who.partner != partner_id:
            raise Forbidden("a partner key may change only its own partner record")
        if "gln" in body.model_fields_set:
            raise Forbidden(
                "only the operator may set a partner's GLN: it decides what the "
                "partner may read in the EPCIS repository"
            )
    return _changed(request, registry.update_partner(db, partner_id, body))


@router.get("/projects", responses=problems(404))
def projects(
    db: DatabaseDep,
    spoke: Int32 | None = None,
    status: ProjectStatus | None = None,
    partner: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ProjectOut]:
    return registry.list_projects(
        db, spoke=spoke, status=status, partner=partner, limit=limit, offset=offset
    )


@router.post("/projects", status_code=201)
def create_project(db: DatabaseDep, body: ProjectIn, who: OperatorDep) -> ProjectOut:
    """Add a project (operator key)."""
    return registry.create_project(db, body)


@router.get("/materials", response_model_exclude_unset=True, responses=problems(404))
def materials(
    db: DatabaseDep,
    reader: ReaderDep,
    category: str | None = None,
    country: str | None = None,
    supplier: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[MaterialView]:
    """Materials, each with the fields the caller's tier reads (supplier: authorities)."""
    if supplier is not None and reader_tier(reader, supplier) != "authority":
        # the filter would tell who supplies what just as the field would
        raise _needs(reader, "filtering by supplier", "authority or operator, or the supplier's")
    page = registry.list_materials(
        db, category=category, country=country, supplier=supplier, limit=limit, offset=offset
    )
    return Page[MaterialView](
        items=[_material_view(m, reader) for m in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


def _material_view(material: MaterialOut, reader: Principal | None) -> MaterialView:
    tier = reader_tier(reader, material.supplier)
    return MaterialView.model_validate(access.filter_view("material", material.model_dump(), tier))


def _product_view(product: ProductOut, reader: Principal | None) -> ProductOut:
    tier = reader_tier(reader, product.brand)
    return ProductOut.model_validate(access.filter_view("product", product.model_dump(), tier))


def _needs(reader: Principal | None, what: str, roles: str) -> MicsError:
    message = f"{what} needs a key with role {roles}"
    if reader is None:
        return Unauthorized(message + ": send 'Authorization: Bearer mics_...'")
    return Forbidden(f"{message}; yours has role {reader.role}", role=reader.role)


@router.post("/materials", status_code=201)
def create_material(db: DatabaseDep, body: MaterialIn, who: OperatorDep) -> MaterialOut:
    """Add a material (operator key)."""
    return registry.create_material(db, body)


@router.get("/materials/{material_id}", response_model_exclude_unset=True)
def material(db: DatabaseDep, material_id: str, reader: ReaderDep) -> MaterialView:
    return _material_view(registry.get_material(db, material_id), reader)


@router.patch("/materials/{material_id}")
def update_material(
    db: DatabaseDep, material_id: str, body: MaterialPatch, who: OperatorDep, request: Request
) -> MaterialOut:
    """Change a material (operator key)."""
    return _changed(request, registry.update_material(db, material_id, body))


@router.get("/products", response_model_exclude_unset=True, responses=problems(404))
def products(
    db: DatabaseDep,
    reader: ReaderDep,
    sector: str | None = None,
    brand: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ProductOut]:
    """Products; the bill of materials for legitimate interest, authorities and the brand."""
    page = registry.list_products(db, sector=sector, brand=brand, limit=limit, offset=offset)
    page.items = [_product_view(p, reader) for p in page.items]
    return page


@router.post("/products", status_code=201, responses=problems(404))
def create_product(db: DatabaseDep, body: ProductIn, who: WriterDep) -> ProductOut:
    """Add a product: the operator, or a brand partner for its own products."""
    _brand_or_operator(who, body.brand)
    return registry.create_product(db, body)


@router.get("/products/{product_id}", response_model_exclude_unset=True)
def product(db: DatabaseDep, product_id: str, reader: ReaderDep) -> ProductOut:
    """A product by id or GTIN (its bill of materials as for ``/api/products``)."""
    return _product_view(registry.get_product(db, product_id), reader)


@router.patch("/products/{product_id}")
def update_product(
    db: DatabaseDep, product_id: str, body: ProductPatch, who: WriterDep, request: Request
) -> ProductOut:
    """Change a product: the operator, or its brand partner (who cannot give it away)."""
    _brand_or_operator(who, registry.get_product(db, product_id).brand)
    if body.brand is not None:
        _brand_or_operator(who, body.brand)
    return _changed(request, registry.update_product(db, product_id, body))


@router.get("/products/{product_id}/bom", response_model_exclude_unset=True)
def product_bom(db: DatabaseDep, product_id: str, reader: ReaderDep) -> BomNode:
    """The bill of materials as a tree, sub-products expanded; the public sees its root."""
    brand = registry.get_product(db, product_id).brand
    tree = registry.product_tree(db, product_id).model_dump()
    return BomNode.model_validate(access.filter_view("bom", tree, reader_tier(reader, brand)))


@router.get("/items", responses=problems(404))
def items(
    db: DatabaseDep,
    product: str | None = None,
    lot: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ItemOut]:
    return registry.list_items(db, product=product, lot=lot, limit=limit, offset=offset)


@router.post("/items", status_code=201, responses=problems(404))
def create_item(db: DatabaseDep, body: ItemIn, who: WriterDep) -> ItemOut:
    """Serialise an item: the operator, or the product's brand partner."""
    _brand_or_operator(who, registry.get_product(db, body.product).brand)
    return registry.create_item(db, body)


# The registry's kinds whose records the access model filters, and whose field names the owner.
EXPORT_VIEWS = {"materials": ("material", "supplier"), "products": ("product", "brand")}


def _exported(kind: str, record: dict[str, Any], reader: Principal | None) -> dict[str, Any]:
    if kind not in EXPORT_VIEWS:
        return record  # partners and projects: public records
    view, owner = EXPORT_VIEWS[kind]
    return access.filter_view(view, record, reader_tier(reader, record.get(owner)))


def _brand_or_operator(who: Principal, brand: str) -> None:
    if who.role != "operator" and who.partner != brand:
        raise Forbidden(
            f"only the operator or the brand partner {brand!r} may do this; "
            f"your key belongs to {who.partner!r}",
            field="brand",
            value=brand,
        )


@router.get("/items/{item_id}")
def item(db: DatabaseDep, item_id: ItemId) -> ItemOut:
    return registry.get_item(db, item_id)


IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        k: {"type": "array", "items": {"type": "object"}} for k in KINDS
                    },
                    "additionalProperties": False,
                }
            },
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


@router.post("/registry/import", openapi_extra=IMPORT_BODY)
async def import_records(
    db: DatabaseDep, request: Request, who: OperatorDep, kind: RecordKind | None = None
) -> dict[str, int]:
    """Import a JSON document or one kind's CSV (``Content-Type: text/csv``), all or nothing.

    Operator key only: an import may rewrite any partner, material or product."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput(
            "the body is not UTF-8 text",
            field="body",
            value=raw[:40].hex(),
            expected="UTF-8 JSON or CSV",
        ) from error
    if request.headers.get("content-type", "").startswith("text/csv"):
        data = registry.parse_csv(text, kind)
    else:
        data = registry.parse_json(text)
    try:
        counts = await run_in_threadpool(registry.load, db, data)  # not on the event loop
    except ValidationError as error:  # pragma: no cover - load converts these
        raise InvalidInput(str(error), field="body") from error
    return _changed(request, counts)


@router.get("/registry/export/{kind}", responses=media("application/json", "text/csv"))
def export_records(
    db: DatabaseDep, kind: RecordKind, reader: ReaderDep, format: Literal["json", "csv"] = "json"
) -> Response:
    """Every record of ``kind`` in the import format, each filtered to the caller's tier."""
    records = [_exported(kind, r, reader) for r in registry.export(db, kind)]
    if format == "csv":
        return Response(registry.to_csv(kind, records), media_type="text/csv")
    if format != "json":
        raise InvalidInput(
            "unknown export format", field="format", value=format, expected="json or csv"
        )
    import json

    return Response(
        json.dumps({kind: records}, ensure_ascii=False, indent=1), media_type="application/json"
    )


Changed = TypeVar("Changed")


def _changed(request: Request, result: Changed) -> Changed:
    """Tell the passport prebuilder that what passports show of the registry may have
    changed (after the commit); ``result`` passes through."""
    builder = prebuilder(request)
    if builder is not None:
        builder.registry_changed()
    return result
