"""An item's data carriers over HTTP: its QR codes and its NFC tag.

- ``/api/items/{id}/qr.svg|qr.png``: the item's GS1 Digital Link URI as a QR code
  (ISO/IEC 18004), to print on a label;
- ``/api/items/{id}/tag`` (POST, GET): bind an NTAG 424 DNA to the item by its
  UID, or read the tag record; the operator or the item's brand only.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from mics.api import openapi
from mics.api.deps import DatabaseDep, SettingsDep, WriterDep, prebuilder
from mics.api.links import master_key
from mics.column_ranges import RowId
from mics.db import Database
from mics.errors import Forbidden
from mics.passport import labels, tags
from mics.passport.digital_link import DigitalLink
from mics.registry import get_item, get_product

router = APIRouter(tags=["passport"])


class TagIn(BaseModel):
    uid: str = Field(
        description="the tag's 7-byte UID in hex (spaces and colons allowed)",
        json_schema_extra={"pattern": r"^[\s:]*([0-9A-Fa-f][\s:]*){14}$"},
    )


@router.get("/api/items/{item_id}/qr.svg", responses=openapi.media("image/svg+xml"))
def item_qr_svg(item_id: RowId, db: DatabaseDep, settings: SettingsDep) -> Response:
    """The item's QR code (its Digital Link URI) as SVG."""
    return Response(
        labels.qr_svg(_item_uri(db, item_id, settings.base_url)), media_type="image/svg+xml"
    )


@router.get("/api/items/{item_id}/qr.png", responses=openapi.media("image/png"))
def item_qr_png(item_id: RowId, db: DatabaseDep, settings: SettingsDep) -> Response:
    """The item's QR code (its Digital Link URI) as PNG."""
    return Response(
        labels.qr_png(_item_uri(db, item_id, settings.base_url)), media_type="image/png"
    )


@router.post("/api/items/{item_id}/tag", status_code=201)
def register_tag(
    item_id: RowId, body: TagIn, request: Request, db: DatabaseDep, who: WriterDep
) -> dict[str, object]:
    """Bind an NTAG 424 DNA (by UID) to the item: the operator or the item's brand."""
    _check_brand(db, item_id, who.partner, who.role)
    master_key(request)  # the master key exists before the first tag is made
    tag = tags.register_tag(db, item_id, body.uid)
    builder = prebuilder(request)
    if builder is not None:  # its passport, assembled before the first scan
        builder.enrolled([item_id])
    return tag.as_json()


@router.get("/api/items/{item_id}/tag")
def item_tag(item_id: RowId, db: DatabaseDep, who: WriterDep) -> dict[str, object]:
    """The item's tag record (UID, last counter): the operator or the item's brand."""
    _check_brand(db, item_id, who.partner, who.role)
    return tags.tag_of_item(db, item_id).as_json()


def _item_uri(db: Database, item_id: int, base_url: str) -> str:
    item = get_item(db, item_id)
    return DigitalLink(gtin=item.gtin, serial=item.serial).uri(base_url)


def _check_brand(db: Database, item_id: int, partner: str, role: str) -> None:
    if role == "operator":
        return
    product = get_product(db, get_item(db, item_id).product)
    if product.brand != partner:
        raise Forbidden(
            f"item {item_id} is a product of {product.brand}; only its brand or the operator "
            "may manage its tag",
            field="item",
            value=item_id,
        )
