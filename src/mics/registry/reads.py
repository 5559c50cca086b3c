"""The registry's read API for other areas: partners, materials, sectors, products, items.

Other areas (the passport, the log's witness keys) read registry rows through
these functions, inside their own session, and get frozen dataclasses back: no
registry table class leaves this package (``ARCHITECTURE.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, FromClause, select
from sqlalchemy.orm import Session

from mics.errors import InvalidInput, NotFound
from mics.registry import domain
from mics.registry.store import ItemRow, MaterialRow, PartnerRow, ProductRow, SectorRow

__all__ = [
    "Item",
    "ItemKeys",
    "LabelledItem",
    "Material",
    "ProductName",
    "ProductRef",
    "item",
    "item_by_serial",
    "item_keys",
    "item_lot",
    "items_of_product",
    "labelled_item",
    "labelled_items",
    "lot_exists",
    "materials",
    "operator_ids",
    "partner_exists",
    "partner_ids_by_gln",
    "places_by_gln",
    "product_by_gtin",
    "product_ids",
    "product_ref",
    "sector_name",
]


@dataclass(frozen=True)
class Item:
    """A serialised item of a product (GS1 SGTIN: GTIN + serial, optionally in a lot)."""

    id: int
    product_id: str
    serial: str
    lot: str | None
    created_at: datetime


@dataclass(frozen=True)
class LabelledItem:
    """An item with the GTIN of its product."""

    item: Item
    gtin: str


@dataclass(frozen=True)
class ProductName:
    id: str
    name: str


@dataclass(frozen=True)
class Material:
    """A catalogue material as the passport shows it (shares are mass fractions 0..1)."""

    id: str
    name: str
    category: str
    country: str
    recycled_share: float
    bio_based_share: float
    density_kg_m3: float
    supplier_id: str | None


def _item(row: ItemRow) -> Item:
    return Item(row.id, row.product_id, row.serial, row.lot, row.created_at)


def partner_exists(s: Session, partner_id: str) -> bool:
    return s.get(PartnerRow, partner_id) is not None


def places_by_gln(s: Session) -> dict[str, str]:
    """Each partner's GLN and its city."""
    query = select(PartnerRow.gln, PartnerRow.city).where(PartnerRow.gln.is_not(None))
    return {str(gln): str(city) for gln, city in s.execute(query)}


def partner_ids_by_gln(s: Session) -> dict[str, str]:
    """Each partner's GLN and its partner id."""
    query = select(PartnerRow.id, PartnerRow.gln).where(PartnerRow.gln.is_not(None))
    return {str(gln): str(partner) for partner, gln in s.execute(query)}


def operator_ids(s: Session) -> set[str]:
    """The partners that are not partnership members: this instance's own operator."""
    return set(s.scalars(select(PartnerRow.id).where(PartnerRow.member.is_(False))))


def materials(s: Session) -> dict[str, Material]:
    return {
        m.id: Material(
            m.id,
            m.name,
            m.category,
            m.country,
            m.recycled_share,
            m.bio_based_share,
            m.density_kg_m3,
            m.supplier_id,
        )
        for m in s.scalars(select(MaterialRow))
    }


def sector_name(s: Session, sector_id: str) -> str | None:
    sector = s.get(SectorRow, sector_id)
    return sector.name if sector is not None else None


def product_ids(s: Session) -> list[str]:
    return list(s.scalars(select(ProductRow.id).order_by(ProductRow.id)))


def product_by_gtin(s: Session, gtin: str) -> ProductName | None:
    found = s.execute(select(ProductRow.id, ProductRow.name).where(ProductRow.gtin == gtin)).first()
    return None if found is None else ProductName(found[0], found[1])


@dataclass(frozen=True)
class ProductRef:
    """A product's keys: its id, GTIN and brand (partner id)."""

    id: str
    gtin: str
    brand_id: str


def product_ref(s: Session, ref: str) -> ProductRef:
    """``products.find_product``'s lookup (by id, else by GTIN when ``ref`` is all digits)
    as one column read, without loading the product's components; or ``NotFound``."""
    columns = (ProductRow.id, ProductRow.gtin, ProductRow.brand_id)
    found = s.execute(select(*columns).where(ProductRow.id == ref)).first()
    if found is None and ref.isdigit():
        try:
            gtin = domain.normalise_gtin(ref)
        except InvalidInput:
            gtin = ref
        found = s.execute(select(*columns).where(ProductRow.gtin == gtin)).first()
    if found is None:
        raise NotFound(f"no product with id or GTIN {ref!r}", field="product", value=ref)
    return ProductRef(found[0], found[1], found[2])


def item(s: Session, item_id: int) -> Item | None:
    row = s.get(ItemRow, item_id)
    return None if row is None else _item(row)


def item_by_serial(s: Session, product_id: str, serial: str) -> Item | None:
    row = s.scalar(
        select(ItemRow).where(ItemRow.product_id == product_id, ItemRow.serial == serial)
    )
    return None if row is None else _item(row)


def lot_exists(s: Session, product_id: str, lot: str) -> bool:
    query = select(ItemRow.id).where(ItemRow.product_id == product_id, ItemRow.lot == lot)
    return s.scalar(query.limit(1)) is not None


def item_lot(s: Session, item_id: int) -> str | None:
    return s.scalar(select(ItemRow.lot).where(ItemRow.id == item_id))


def items_of_product(s: Session, product_id: str) -> list[Item]:
    """The product's items by serial."""
    query = select(ItemRow).where(ItemRow.product_id == product_id).order_by(ItemRow.serial)
    return [_item(row) for row in s.scalars(query)]


def labelled_item(s: Session, item_id: int) -> LabelledItem | None:
    found = s.execute(
        select(ItemRow, ProductRow.gtin).join(ProductRow).where(ItemRow.id == item_id)
    ).first()
    return None if found is None else LabelledItem(_item(found[0]), found[1])


def labelled_items(s: Session) -> list[LabelledItem]:
    """Every item with its GTIN, by item id."""
    query = select(ItemRow, ProductRow.gtin).join(ProductRow).order_by(ItemRow.id)
    return [LabelledItem(_item(row), gtin) for row, gtin in s.execute(query)]


@dataclass(frozen=True)
class ItemKeys:
    """An item with its GTIN and serial, for one statement of another area's hot path.

    ``source`` is the item table joined with its product's; the columns name an item
    (GS1 SGTIN) and are for reading: selecting, joining and filtering in a Core
    statement the caller builds once (the tag scan's read, the verdict outbox's batch),
    where a call per row of these functions would cost a round trip each.
    """

    source: FromClause
    id: ColumnElement[int]
    gtin: ColumnElement[str]
    serial: ColumnElement[str]
    lot: ColumnElement[str | None]


def item_keys() -> ItemKeys:
    item, product = ItemRow.__table__, ProductRow.__table__
    return ItemKeys(
        source=item.join(product, product.c.id == item.c.product_id),
        id=item.c.id,
        gtin=product.c.gtin,
        serial=item.c.serial,
        lot=item.c.lot,
    )
